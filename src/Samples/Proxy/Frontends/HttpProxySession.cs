using System.Buffers;
using System.IO.Pipelines;
using IPAddress = System.Net.IPAddress;
using IPEndPoint = System.Net.IPEndPoint;
using System.Runtime.CompilerServices;
using Fastsock.Engine;
using Fastsock.Http;
using Fastsock.Http.Proxying;
using Fastsock.Transport;

namespace Fastsock.Samples.Proxy.Frontends;

/// <summary>
/// One client connection in <c>mode http</c>: read a request head (strict parser; 400/414/431/505 and close on error,
/// 408 and close when it does not arrive in time), forward the exchange (see the other parts of this class), and
/// go on with the next request on the same connection while both sides keep it alive.
/// </summary>
/// <remarks>
/// Everything a request needs lives in this object (allocated once per connection) or in per-worker statics, and the
/// helpers that await more than once per request use state machines pooled per worker thread
/// (<see cref="WorkerPoolingValueTaskMethodBuilder{TResult}"/>, deep enough for every connection of a worker to have
/// an exchange suspended at once), so the steady keep-alive path allocates nothing of its own. Awaits of those helpers
/// use <c>ConfigureAwait(false)</c>: they always complete on this worker (pipes resume on the worker's scheduler), and posting to the worker's SynchronizationContext would allocate a
/// callback per resumption. Only the connect keeps the context, since its timeout may fire on another thread.
/// </remarks>
internal sealed partial class HttpProxySession
{
    private static readonly HttpRequestParser s_requests = new(HttpParserLimits.Default);
    private static readonly HttpResponseParser s_responses = new(HttpParserLimits.Default);

    // Heads that span buffer segments are copied here; used only between awaits, so one per worker thread is enough.
    [ThreadStatic]
    private static byte[]? t_scratch;

    private readonly HttpFrontend _frontend;
    private readonly Connection _client;
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private byte[] _clientAddress;
    private ulong _sourceHash;
    private HttpRequestHeadForwarder _requestHead;
    private readonly HttpResponseHeadForwarder _responseHead = new();
    private ChunkedBodyDecoder? _chunks;
    private RequestInfo _request;
    private ReadOnlySequence<byte> _requestBuffer;
    private Connection? _backend;

    // Bytes of the exchange in flight: from the client (head and body as read) and from the server (as read).
    private long _bytesIn;
    private long _bytesOut;

    public HttpProxySession(HttpFrontend frontend, Connection client)
    {
        _frontend = frontend;
        _client = client;
        _input = client.Transport.Input;
        _output = client.Transport.Output;
        var address = (client.RemoteEndPoint as IPEndPoint)?.Address ?? IPAddress.Loopback;
        _clientAddress = address.GetAddressBytes();
        _sourceHash = SourceHash(_clientAddress);
        _requestHead = new HttpRequestHeadForwarder(_clientAddress);
    }

    private static byte[] Scratch => t_scratch ??= new byte[HttpParserLimits.Default.MaxHeadLength];

    private ChunkedBodyDecoder Chunks => _chunks ??= new ChunkedBodyDecoder(HttpParserLimits.Default);

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

    /// <summary>Waits for a complete, valid request head and leaves it unconsumed in <see cref="_requestBuffer"/>; false: close.</summary>
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
                var status = PeekRequestHead(buffer, out var error);
                if (status == HttpParseStatus.Complete)
                {
                    _frontend.Counters?.Request(_client.WorkerIndex);
                    _requestBuffer = buffer;
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

    /// <summary>
    /// The only parse of a head: validation, the facts the exchange needs after awaits, and where the fields to forward
    /// are (kept by <see cref="_requestHead"/> until the head is written to a backend).
    /// </summary>
    private HttpParseStatus PeekRequestHead(in ReadOnlySequence<byte> buffer, out HttpParseError? error)
    {
        var status = _requestHead.TryParse(s_requests, buffer, Scratch, out HttpRequestHead head);
        error = head.Error;
        if (status == HttpParseStatus.Complete)
        {
            _request = new RequestInfo(
                head.Method, head.Version, head.KeepAlive, head.ContentLength, head.IsChunked, head.ExpectContinue && head.HasBody, head.Consumed);
        }

        return status;
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

    /// <summary>What the exchange needs to know about the request once its head's spans are gone.</summary>
    private readonly record struct RequestInfo(
        RequestMethod Method, HttpVersion Version, bool KeepAlive, long ContentLength, bool IsChunked, bool ExpectContinue, SequencePosition Consumed);
}
