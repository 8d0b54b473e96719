using System.Runtime.CompilerServices;
using Fastsock.Engine;
using Fastsock.Http;
using Fastsock.Http.Proxying;
using Fastsock.Samples.Proxy.Balancing;
using Fastsock.Samples.Proxy.Health;
using Fastsock.Samples.Proxy.Routing;
using Fastsock.Samples.Proxy.Tls;

namespace Fastsock.Samples.Proxy.Frontends;

// One exchange, as a proxy sees it: a server per request, a backend connection from the worker's pool (or a new one),
// the forwarding itself (the runtime's forwarder), then counting and the error page if any. Failures before any
// response byte are retried as retryOn allows (HttpProxySession.Dispatch.cs says where to); a streamed request body never is.
internal sealed partial class HttpProxySession
{
    /// <summary>Forwards the request the forwarder holds and its response; false: close the client.</summary>
    [AsyncMethodBuilder(typeof(WorkerPoolingValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ExchangeAsync()
    {
        if (_forwarder.Method == RequestMethod.Connect)
        {
            // HAProxy tunnels CONNECT in http mode; this proxy has no tunnels, so it says so (RFC 9110 §15.6.2) and closes.
            _forwarder.ReleaseRequest();
            await AnswerAsync(501).ConfigureAwait(false);
            return false;
        }

        var balancer = _frontend.Backend.BalancerFor(_client.WorkerIndex);
        var attempts = new Attempts(_frontend.Backend.Settings.Faults, _frontend.Retries, IsIdempotent(_forwarder.Method), IsRepeatable(_forwarder.Method));
        while (true)
        {
            var server = attempts.FreshConnectionTo ?? PickServer(balancer, ref attempts);
            if (server is null)
            {
                _forwarder.ReleaseRequest();
                _frontend.Counters?.NoServer(_client.WorkerIndex);
                HttpFrontend.NoServer(_frontend.Logger, _frontend.Settings.Name, _frontend.Backend.Settings.Name);
                await AnswerAsync(503).ConfigureAwait(false);
                return false;
            }

            bool reused = false;
            if (attempts.FreshConnectionTo is null)
            {
                _backend = TakeIdle(server);
                reused = _backend is not null;
            }

            attempts.FreshConnectionTo = null;
            if (_backend is null)
            {
                try
                {
                    _backend = await ConnectAsync(server).ConfigureAwait(true);
                }
                catch (Exception ex) when (ServerConnector.IsConnectFailure(ex))
                {
                    bool again = attempts.MayRetryConnect;
                    _frontend.Counters?.ConnectFailed(_client.WorkerIndex, server, willRetry: again);
                    _frontend.Backend.Health.Failed(server, PassiveHealth.ConnectFailureOf(ex), ex.Message);
                    HttpFrontend.ConnectFailed(_frontend.Logger, _frontend.Backend.Settings.Name, server.Settings.Name, attempts.Count + 1, ex.Message);
                    if (!again)
                    {
                        _forwarder.ReleaseRequest();
                        await AnswerAsync(502).ConfigureAwait(false);
                        return false;
                    }

                    attempts.Failed(server);
                    continue;
                }
            }

            // A reused connection the server may have just closed, or a new one for a request that may go again.
            bool replayable = reused || attempts.MayRetryEmptyResponse || attempts.MayRetryTimeout;
            var outcome = await ForwardOnceAsync(balancer, server, replayable).ConfigureAwait(false);
            bool timedOut = outcome.Error == HttpForwarderError.RequestTimedOut;
            bool resendPooled = reused && !timedOut && attempts.MayResendOnDeadPooled;
            if (outcome.CanRetry && !(timedOut ? attempts.MayRetryTimeout : resendPooled || attempts.MayRetryEmptyResponse))
            {
                if (reused && !timedOut)
                {
                    server.Failures.CountNotResent(); // a dead pooled connection under a request not safe to send twice
                }

                // Held for a retry this failure does not allow (a timeout without response-timeout, say): final now.
                _forwarder.ReleaseRequest();
                outcome = outcome.Final();
                _frontend.Counters?.Bytes(_client.WorkerIndex, server, _forwarder.BytesFromClient, _forwarder.BytesFromBackend);
            }

            if (!outcome.CanRetry)
            {
                return await FinishAsync(balancer, server, outcome).ConfigureAwait(false);
            }

            DropBackend(); // never the same connection twice
            if (resendPooled)
            {
                // The pooled connection was dead (closed as the request went out): a new one, not another pooled one.
                HttpFrontend.Replaying(_frontend.Logger, _frontend.Backend.Settings.Name, server.Settings.Name);
                attempts.FreshConnectionTo = server;
                continue;
            }

            _frontend.Counters?.Retried(_client.WorkerIndex, server);
            _frontend.Backend.Health.Failed(
                server, timedOut ? ExchangeFailure.ResponseTimeout : ExchangeFailure.Reset, outcome.Reason ?? "closed before the response");
            attempts.Failed(server);
        }
    }

    /// <summary>One attempt on <paramref name="server"/> with the backend connection in hand, counted as one use of it.</summary>
    [AsyncMethodBuilder(typeof(WorkerPoolingValueTaskMethodBuilder<>))]
    private async ValueTask<HttpForwarderOutcome> ForwardOnceAsync(Balancer balancer, ServerState server, bool replayable)
    {
        balancer.OnOpened(server);
        _frontend.Counters?.ServerConnected(_client.WorkerIndex, server);
        _server = server;
        var outcome = default(HttpForwarderOutcome);
        try
        {
            outcome = await _forwarder.ForwardAsync(_backend!, HostFor(server), replayable).ConfigureAwait(false);
            return outcome;
        }
        finally
        {
            if (!outcome.CanRetry)
            {
                _frontend.Counters?.Bytes(_client.WorkerIndex, server, _forwarder.BytesFromClient, _forwarder.BytesFromBackend);
            }

            // After a 101 the server still holds the connection: the tunnel (TunnelAsync) counts it down when it ends.
            if (!outcome.Upgraded)
            {
                balancer.OnClosed(server);
                _frontend.Counters?.ServerDone(_client.WorkerIndex, server);
            }
        }
    }

    /// <summary>What follows a final attempt: pool or drop the backend, tell passive health, answer an error if one is due.</summary>
    [AsyncMethodBuilder(typeof(WorkerPoolingValueTaskMethodBuilder<>))]
    private async ValueTask<bool> FinishAsync(Balancer balancer, ServerState server, HttpForwarderOutcome outcome)
    {
        if (outcome.Upgraded)
        {
            // The 101 went to the client: from here on the two connections are a tunnel, and then both close. First,
            // so that nothing can stand between ForwardOnceAsync and the tunnel that takes over its server count.
            PassiveHealth.Succeeded(server);
            await TunnelAsync(balancer, server).ConfigureAwait(false);
            return false;
        }

        if (outcome.Error != HttpForwarderError.None && server.Settings.Tls is not null && _backend is not null)
        {
            BackendTls.ReportRecordFailure(_frontend.Logger, _frontend.Backend.Settings.Name, server, _backend, outcome.AnswerStatus);
        }

        if (outcome.Error == HttpForwarderError.ClientAborted)
        {
            _frontend.Counters?.ClientAborted(_client.WorkerIndex, server);
        }

        if (outcome.BackendDrained)
        {
            // The client left before or inside its response and the rest was read and discarded: kept, not closed.
            _frontend.Counters?.BackendDrained(_client.WorkerIndex, server.Index);
        }

        if (outcome.BackendReusable)
        {
            KeepBackend(server);
        }

        if (outcome.Error == HttpForwarderError.None)
        {
            PassiveHealth.Succeeded(server);
        }
        else if (FailureOf(outcome.Error) is { } failure)
        {
            _frontend.Backend.Health.Failed(server, failure, outcome.Reason ?? outcome.Error.ToString());
        }

        if (outcome.AnswerStatus == 0)
        {
            DropBackend();
            return outcome.ClientKeepAlive;
        }

        if (outcome.Error == HttpForwarderError.RequestBodyInvalid)
        {
            DropBackend();
            HttpFrontend.RequestRejected(_frontend.Logger, _frontend.Settings.Name, outcome.AnswerStatus, outcome.Reason ?? "invalid body");
            await AnswerAsync(outcome.AnswerStatus).ConfigureAwait(false);
            return false;
        }

        await BackendFailedAsync(server, outcome.Reason ?? outcome.Error.ToString(), outcome.AnswerStatus).ConfigureAwait(false);
        return false;
    }

    /// <summary>Failures that speak about the server's health (the client's own do not).</summary>
    private static ExchangeFailure? FailureOf(HttpForwarderError error) => error switch
    {
        HttpForwarderError.Request or HttpForwarderError.RequestBodyDestination or HttpForwarderError.ResponseBodyDestination => ExchangeFailure.Reset,
        HttpForwarderError.RequestTimedOut or HttpForwarderError.ResponseBodyTimedOut => ExchangeFailure.ResponseTimeout,
        HttpForwarderError.ResponseHeaders => ExchangeFailure.BadResponse,
        _ => null,
    };

    /// <summary>Answers 502/504 before any response byte reached the client, and drops the backend connection.</summary>
    [AsyncMethodBuilder(typeof(WorkerPoolingValueTaskMethodBuilder))]
    private async ValueTask BackendFailedAsync(ServerState server, string reason, int status)
    {
        HttpFrontend.ServerFailed(_frontend.Logger, _frontend.Backend.Settings.Name, server.Settings.Name, reason, status);
        DropBackend();
        await AnswerAsync(status).ConfigureAwait(false);
    }

    private void DropBackend()
    {
        if (_backend is not null)
        {
            _frontend.CloseBackend(_backend, _client.WorkerIndex, _backendServer);
            _backend = null;
        }
    }

    /// <summary>The Host for a request that names none: the server's address (the backend is spoken to in HTTP/1.1).</summary>
    private ReadOnlyMemory<byte> HostFor(ServerState server) =>
        _forwarder.RequestHasHost ? default : _frontend.Backend.RouteOf(server).FallbackHost;
}
