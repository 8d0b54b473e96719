using System.IO.Pipelines;
using IPAddress = System.Net.IPAddress;
using IPEndPoint = System.Net.IPEndPoint;
using System.Runtime.CompilerServices;
using Fastsock.Engine;
using Fastsock.Http;
using Fastsock.Http.Proxying;
using Fastsock.Samples.Proxy.Balancing;
using Fastsock.Transport;

namespace Fastsock.Samples.Proxy.Frontends;

/// <summary>
/// One client connection in <c>mode http</c>: read a request head (strict parser; 400/414/431/505 and close on error,
/// 408 and close when it does not arrive in time), pick a server and a backend connection, let the runtime's
/// <see cref="HttpExchangeForwarder"/> forward the exchange, and go on with the next request on the same connection
/// while both sides keep it alive. Only proxy concerns live here: balancing, pools, retries, counting, error answers.
/// </summary>
/// <remarks>
/// Everything a request needs lives in this object and its forwarder (allocated once per connection) or in per-worker
/// statics, and the helpers that await more than once per request use state machines pooled per worker thread
/// (<see cref="WorkerPoolingValueTaskMethodBuilder{TResult}"/>, deep enough for every connection of a worker to have
/// an exchange suspended at once), so the steady keep-alive path allocates nothing of its own. Awaits of those helpers
/// use <c>ConfigureAwait(false)</c>: they always complete on this worker (pipes resume on the worker's scheduler), and
/// posting to the worker's SynchronizationContext would allocate a callback per resumption. Only the connect keeps the
/// context, since its timeout may fire on another thread.
/// </remarks>
internal sealed partial class HttpProxySession : IHttpExchangeObserver
{
    private readonly HttpFrontend _frontend;
    private readonly Connection _client;
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly HttpExchangeForwarder _forwarder;
    private byte[] _clientAddress;
    private ulong _sourceHash;
    private Connection? _backend;

    // The server of the exchange in flight, for counting the response heads the forwarder reports.
    private ServerState? _server;

    public HttpProxySession(HttpFrontend frontend, Connection client)
    {
        _frontend = frontend;
        _client = client;
        _input = client.Transport.Input;
        _output = client.Transport.Output;
        var address = (client.RemoteEndPoint as IPEndPoint)?.Address ?? IPAddress.Loopback;
        _clientAddress = address.GetAddressBytes();
        _sourceHash = SourceHash(_clientAddress);
        _forwarder = new HttpExchangeForwarder(client, _clientAddress, frontend.ForwarderOptions, observer: this);
    }

    void IHttpExchangeObserver.OnResponseHead(int statusCode) => _frontend.Counters?.Response(_client.WorkerIndex, _server!, statusCode);

    public async Task RunAsync()
    {
        try
        {
            if (!await ReceiveProxyHeaderAsync().ConfigureAwait(true))
            {
                return;
            }

            bool first = true;
            while (await ReadRequestHeadAsync(first).ConfigureAwait(false) && await ExchangeAsync().ConfigureAwait(false))
            {
                first = false;
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
            // The client went away (reset, abort, shutdown): nothing to answer.
        }
        finally
        {
            ClosePrivate();
            DropBackend();

            await _input.CompleteAsync().ConfigureAwait(true);
            await _output.CompleteAsync().ConfigureAwait(true);
        }
    }

    /// <summary>
    /// Before a request head is parsed: the forwarding options (server timeout, replay limit) as the live config has them
    /// now, so a keep-alive connection follows a reload from its next exchange. One read and compare, no lock.
    /// </summary>
    private void FollowReload()
    {
        var options = _frontend.ForwarderOptions;
        if (!ReferenceEquals(_forwarder.Options, options))
        {
            _forwarder.Options = options;
        }
    }

    /// <summary>Waits for a complete, valid request head and leaves it held by the forwarder; false: close.</summary>
    /// <remarks>
    /// The request timeout runs from the first byte of a request (from the accept for the first one) to the end of its
    /// head; a keep-alive connection waiting between requests is left to the client idle timeout.
    /// </remarks>
    [AsyncMethodBuilder(typeof(WorkerPoolingValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ReadRequestHeadAsync(bool first)
    {
        bool armed = first;
        if (armed)
        {
            _client.SetReadDeadline(_frontend.Timeouts.HttpRequest);
        }

        try
        {
            while (true)
            {
                var result = await _input.ReadAsync().ConfigureAwait(true);
                if (result.IsCanceled && _client.ReadTimedOut)
                {
                    _input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
                    await AnswerAsync(408).ConfigureAwait(false);
                    return false;
                }

                if (result.IsCanceled && _client.IsShutdownRequested)
                {
                    return false;
                }

                var buffer = result.Buffer;
                FollowReload(); // as the request arrives, not before the wait for it: a reload may come in between
                // The only parse of the head: validation, and where the fields to forward are.
                var status = _forwarder.TryParseRequest(buffer, out var error);
                if (status == HttpParseStatus.Complete)
                {
                    _frontend.Counters?.Request(_client.WorkerIndex);
                    return true;
                }

                if (status == HttpParseStatus.Error)
                {
                    _frontend.Counters?.Request(_client.WorkerIndex);
                    _input.AdvanceTo(buffer.End);
                    HttpFrontend.RequestRejected(_frontend.Logger, _frontend.Settings.Name, error!.StatusCode, error.Reason);
                    await AnswerAsync(error.StatusCode).ConfigureAwait(false);
                    return false;
                }

                _input.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted)
                {
                    return false; // closed between requests, or inside a head that is dropped with the connection
                }

                if (!armed && !buffer.IsEmpty)
                {
                    armed = true;
                    _client.SetReadDeadline(_frontend.Timeouts.HttpRequest);
                }
            }
        }
        finally
        {
            if (armed)
            {
                _client.ClearReadDeadline();
            }
        }
    }

    /// <summary>An error response with a short text body, then the connection closes.</summary>
    [AsyncMethodBuilder(typeof(WorkerPoolingValueTaskMethodBuilder))]
    private async ValueTask AnswerAsync(int statusCode)
    {
        _frontend.Counters?.ProxyError(_client.WorkerIndex, statusCode);
        HttpResponseWriter.WriteError(_output, statusCode, keepAlive: false);
        await _output.FlushAsync().ConfigureAwait(true);
    }

    /// <summary>The client's address folded into 64 bits for <c>balance source</c> (the balancer mixes it further).</summary>
    private static ulong SourceHash(byte[] address)
    {
        Span<byte> bytes = stackalloc byte[16];
        bytes.Clear();
        address.CopyTo(bytes);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(bytes)
            ^ (System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(bytes[8..]) * 0x9E3779B97F4A7C15UL);
    }
}
