using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using Fastsock.Engine;
using Fastsock.Http;
using Fastsock.Http.Proxying;
using Fastsock.Samples.Proxy.Balancing;
using Fastsock.Samples.Proxy.Routing;
using Fastsock.Transport;

namespace Fastsock.Samples.Proxy.Frontends;

// The request half: a server per request, a backend connection from the worker's pool (or a new one, retried on
// connect failures only: nothing has been sent yet), the head with hop-by-hop fields removed, then the body.
internal sealed partial class HttpProxySession
{
    private enum Exchange : byte
    {
        /// <summary>Done; the client connection can carry the next request.</summary>
        KeepAlive,

        /// <summary>Done (or answered with an error); close the client connection.</summary>
        Close,

        /// <summary>The reused backend connection failed before any response byte; the request can be sent again.</summary>
        Stale,
    }

    /// <summary>Forwards the request whose head is in <see cref="_requestBuffer"/> and its response; false: close the client.</summary>
    [AsyncMethodBuilder(typeof(WorkerPoolingValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ExchangeAsync()
    {
        if (_request.Method == RequestMethod.Connect)
        {
            // HAProxy tunnels CONNECT in http mode; this proxy has no tunnels, so it says so (RFC 9110 §15.6.2) and closes.
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
            await AnswerAsync(502).ConfigureAwait(false);
            return false;
        }

        balancer.OnOpened(server);
        _frontend.Counters?.ServerConnected(_client.WorkerIndex, server);
        _bytesIn = 0;
        _bytesOut = 0;
        try
        {
            return await ForwardAsync(server, reused).ConfigureAwait(false);
        }
        finally
        {
            balancer.OnClosed(server);
            _frontend.Counters?.Bytes(_client.WorkerIndex, server, _bytesIn, _bytesOut);
            _frontend.Counters?.ServerDone(_client.WorkerIndex, server);
        }
    }

    [AsyncMethodBuilder(typeof(WorkerPoolingValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ForwardAsync(ServerState server, bool reused)
    {
        // A request without body on a reused connection stays in the client's buffer until its response starts: if the
        // server closed that idle connection just as the request went out, it is sent again on a new connection.
        bool replayable = reused && !_request.IsChunked && _request.ContentLength <= 0;
        var consumed = _request.Consumed;
        WriteRequestHead(_requestBuffer, _backend!.Transport.Output, server);
        _bytesIn += _requestBuffer.Slice(0, consumed).Length;
        if (!replayable)
        {
            _input.AdvanceTo(consumed);
            _requestBuffer = default;
        }

        var outcome = await SendAndReceiveAsync(server, replayable).ConfigureAwait(false);
        if (outcome == Exchange.Stale)
        {
            HttpFrontend.Replaying(_frontend.Logger, _frontend.Backend.Settings.Name, server.Settings.Name);
            DropBackend();
            try
            {
                _backend = await ConnectAsync(server).ConfigureAwait(true);
                WriteRequestHead(_requestBuffer, _backend.Transport.Output, server);
                outcome = await SendAndReceiveAsync(server, replayable: false).ConfigureAwait(false);
            }
            catch (Exception ex) when (ServerConnector.IsConnectFailure(ex))
            {
                outcome = await BackendFailedAsync(server, ex.Message, 502).ConfigureAwait(false);
            }
        }

        if (replayable)
        {
            _input.AdvanceTo(consumed);
            _requestBuffer = default;
        }

        return outcome == Exchange.KeepAlive;
    }

    /// <summary>Sends the body (the head is already in the backend's output), then forwards the response.</summary>
    [AsyncMethodBuilder(typeof(WorkerPoolingValueTaskMethodBuilder<>))]
    private async ValueTask<Exchange> SendAndReceiveAsync(ServerState server, bool replayable)
    {
        var backendOutput = _backend!.Transport.Output;
        if (_request.ExpectContinue)
        {
            // The body is streamed before the response is read, so the proxy itself lets the client go on.
            HttpResponseWriter.WriteContinue(_output);
            await _output.FlushAsync().ConfigureAwait(true);
        }

        try
        {
            if (_request.IsChunked || _request.ContentLength > 0)
            {
                var kind = _request.IsChunked ? BodyKind.Chunked : BodyKind.Length;
                var end = await PumpBodyAsync(_input, backendOutput, kind, _request.ContentLength, chunkedOut: true, fromBackend: false).ConfigureAwait(false);
                if (end == BodyEnd.Invalid)
                {
                    var bodyError = Chunks.Error;
                    HttpFrontend.RequestRejected(_frontend.Logger, _frontend.Settings.Name, bodyError?.StatusCode ?? 400, bodyError?.Reason ?? "invalid body");
                    await AnswerAsync(bodyError?.StatusCode ?? 400).ConfigureAwait(false);
                    return Exchange.Close;
                }

                if (end != BodyEnd.Complete)
                {
                    return Exchange.Close; // the client left inside its body, or the backend stopped reading
                }
            }

            var flush = await backendOutput.FlushAsync().ConfigureAwait(true);
            if (flush.IsCompleted)
            {
                return replayable ? Exchange.Stale
                    : await BackendFailedAsync(server, "the connection closed while sending the request", 502).ConfigureAwait(false);
            }
        }
        catch (IOException ex) when (!_client.ConnectionClosed.IsCancellationRequested)
        {
            return replayable ? Exchange.Stale : await BackendFailedAsync(server, ex.Message, 502).ConfigureAwait(false);
        }

        return await ForwardResponseAsync(server, replayable).ConfigureAwait(false);
    }

    /// <summary>Answers 502/504 before any response byte reached the client, and drops the backend connection.</summary>
    [AsyncMethodBuilder(typeof(WorkerPoolingValueTaskMethodBuilder<>))]
    private async ValueTask<Exchange> BackendFailedAsync(ServerState server, string reason, int status)
    {
        HttpFrontend.ServerFailed(_frontend.Logger, _frontend.Backend.Settings.Name, server.Settings.Name, reason, status);
        DropBackend();
        await AnswerAsync(status).ConfigureAwait(false);
        return Exchange.Close;
    }

    private void DropBackend()
    {
        if (_backend is not null)
        {
            _frontend.CloseBackend(_backend, _client.WorkerIndex, _backendServer);
            _backend = null;
        }
    }

    /// <summary>
    /// The head parsed by <see cref="PeekRequestHead"/>, forwarded in one pass: request line, fields without the hop-by-hop
    /// ones, X-Forwarded-*, Host when an HTTP/1.0 request had none, framing.
    /// </summary>
    private void WriteRequestHead(in ReadOnlySequence<byte> buffer, PipeWriter output, ServerState server)
    {
        // Absolute-form targets are passed on as they are: servers must accept them (RFC 9112 §3.2.2).
        ReadOnlySpan<byte> host = _requestHead.HasHost
            ? default
            : _frontend.Backend.RouteOf(server).FallbackHost;
        _requestHead.Write(buffer, Scratch, output, host);
    }
}
