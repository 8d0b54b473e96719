using System.Runtime.CompilerServices;
using Fastsock.Engine;
using Fastsock.Http;
using Fastsock.Http.Proxying;
using Fastsock.Samples.Proxy.Balancing;
using Fastsock.Samples.Proxy.Routing;

namespace Fastsock.Samples.Proxy.Frontends;

// One exchange, as a proxy sees it: a server per request, a backend connection from the worker's pool (or a new one,
// retried on connect failures only: nothing has been sent yet), the forwarding itself (the runtime's forwarder), a
// replay on a new connection when a reused one failed before answering, then counting and the error page if any.
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
        ServerState? server = null;
        bool reused = false;
        for (int attempt = 0; attempt <= _frontend.Retries && _backend is null; attempt++)
        {
            server = balancer.Pick(_sourceHash);
            if (server is null)
            {
                _forwarder.ReleaseRequest();
                _frontend.Counters?.NoServer(_client.WorkerIndex);
                HttpFrontend.NoServer(_frontend.Logger, _frontend.Settings.Name, _frontend.Backend.Settings.Name);
                await AnswerAsync(503).ConfigureAwait(false);
                return false;
            }

            _backend = TakeIdle(server);
            reused = _backend is not null;
            if (!reused)
            {
                try
                {
                    _backend = await ConnectAsync(server).ConfigureAwait(true);
                }
                catch (Exception ex) when (ServerConnector.IsConnectFailure(ex))
                {
                    _frontend.Counters?.ConnectFailed(_client.WorkerIndex, server, willRetry: attempt < _frontend.Retries);
                    HttpFrontend.ConnectFailed(_frontend.Logger, _frontend.Backend.Settings.Name, server.Settings.Name, attempt + 1, ex.Message);
                }
            }
        }

        if (_backend is null || server is null)
        {
            _forwarder.ReleaseRequest();
            await AnswerAsync(502).ConfigureAwait(false);
            return false;
        }

        balancer.OnOpened(server);
        _frontend.Counters?.ServerConnected(_client.WorkerIndex, server);
        _server = server;
        try
        {
            return await ForwardAsync(server, reused).ConfigureAwait(false);
        }
        finally
        {
            balancer.OnClosed(server);
            _frontend.Counters?.Bytes(_client.WorkerIndex, server, _forwarder.BytesFromClient, _forwarder.BytesFromBackend);
            _frontend.Counters?.ServerDone(_client.WorkerIndex, server);
        }
    }

    [AsyncMethodBuilder(typeof(WorkerPoolingValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ForwardAsync(ServerState server, bool reused)
    {
        // A request without body on a reused connection can be sent again if the server closed that idle connection
        // just as the request went out: the forwarder says so (CanRetry), and it goes once more on a new connection.
        var host = HostFor(server);
        var outcome = await _forwarder.ForwardAsync(_backend!, host, replayable: reused).ConfigureAwait(false);
        if (outcome.CanRetry)
        {
            HttpFrontend.Replaying(_frontend.Logger, _frontend.Backend.Settings.Name, server.Settings.Name);
            DropBackend();
            try
            {
                _backend = await ConnectAsync(server).ConfigureAwait(true);
            }
            catch (Exception ex) when (ServerConnector.IsConnectFailure(ex))
            {
                _forwarder.ReleaseRequest();
                await BackendFailedAsync(server, ex.Message, 502).ConfigureAwait(false);
                return false;
            }

            outcome = await _forwarder.ForwardAsync(_backend, host, replayable: false).ConfigureAwait(false);
        }

        if (outcome.Error == HttpForwarderError.ClientAborted)
        {
            _frontend.Counters?.ClientAborted(_client.WorkerIndex, server);
        }

        if (outcome.BackendReusable)
        {
            KeepBackend(server);
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
