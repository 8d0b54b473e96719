using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Text;
using Fastsock.Engine;
using Fastsock.Transport;

namespace Fastsock.Http.Proxying;

/// <summary>
/// Forwards one HTTP/1.1 exchange at a time between a client connection and a backend connection, both ways: the
/// request head (parsed once), its body, the response heads (interim ones included) and the response body, each body
/// delimited by one framing model (<see cref="HttpBodyFraming"/>), then says how it went in an
/// <see cref="HttpForwarderOutcome"/> instead of throwing. Picking, connecting and pooling backends, retrying, counting
/// and answering errors stay with the caller.
/// </summary>
/// <remarks>
/// <para>One instance per client connection, reused for each request; run it on the connection's worker.</para>
/// <code>
/// switch (forwarder.TryParseRequest(buffer, out var error))   // the only parse of the head; the read stays open
/// ...                                                          // pick and connect a backend (awaits are fine)
/// var outcome = await forwarder.ForwardAsync(backend, hostIfAbsent, replayable);
/// if (outcome.CanRetry) → a new connection, ForwardAsync again (or ReleaseRequest)
/// if (outcome.AnswerStatus != 0) → answer it and close; outcome.BackendReusable → pool the backend, else close it
/// </code>
/// <para>
/// The steps of <see cref="ForwardAsync"/>: 1. the request head into the backend's output; 2. the head consumed from
/// the client's input (kept while the request may be replayed); 3. a 100 Continue to the client when it waits for one;
/// 4. the request body, then a flush; 5. response heads, bounded by <see cref="HttpForwarderOptions.ResponseTimeout"/>
/// and watching for a client that leaves; 6. the response body; 7. a flush to the client and the outcome.
/// </para>
/// <para>
/// Everything lives in this object or in per-thread statics, and the async steps use state machines pooled per worker
/// (<see cref="WorkerPoolingValueTaskMethodBuilder{TResult}"/>), so a keep-alive exchange allocates nothing. Pipe
/// awaits keep the context (they resume on the worker's scheduler; splicing needs the worker's context), awaits of
/// the pooled steps do not: they complete on the worker, and posting would allocate a callback per resumption.
/// </para>
/// </remarks>
public sealed partial class HttpExchangeForwarder
{
    private static readonly HttpRequestParser s_requests = new(HttpParserLimits.Default);
    private static readonly HttpResponseParser s_responses = new(HttpParserLimits.Default);

    // Heads that span buffer segments are copied here; used only between awaits, so one per worker thread is enough.
    [ThreadStatic]
    private static byte[]? t_scratch;

    // A response head is parsed and written in one synchronous step (no await between TryParse and WriteStatusAndFields,
    // and nothing read from it after), so one per worker thread serves every connection of the worker: one per
    // forwarder, with its recorded field lines, was ~0.5 KB held by every connection for its whole life.
    [ThreadStatic]
    private static HttpResponseHeadForwarder? t_responseHead;

    private readonly Connection _client;
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private HttpForwarderOptions _options;
    private readonly IHttpExchangeObserver? _observer;
    private HttpRequestHeadForwarder _requestHead;
    private ChunkedBodyDecoder? _chunks;
    private RequestFacts _request;
    private ReadOnlySequence<byte> _requestBuffer;
    private bool _holdingRequest;
    private bool _headCounted;

    // A Content-Length body already whole in the held read (up to MaxReplayBody): it is copied from there, so that it
    // can be copied again to another connection; the held read then ends after it.
    private bool _bodyInHand;
    private bool _bodyFromHand;
    private SequencePosition _messageEnd;
    private Connection? _backend;
    private long _bytesFromClient;
    private long _bytesFromBackend;

    /// <param name="client">The client connection; its pipes carry the requests and responses.</param>
    /// <param name="clientAddress">The client for X-Forwarded-For: 4 or 16 bytes, network order.</param>
    /// <param name="options">How to forward.</param>
    /// <param name="observer">Told of each response head; null: nobody.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="options"/>' <see cref="HttpForwarderOptions.ResponseTimeout"/> is zero, or negative and not infinite.</exception>
    public HttpExchangeForwarder(Connection client, ReadOnlySpan<byte> clientAddress, HttpForwarderOptions options, IHttpExchangeObserver? observer = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(nameof(options));
        _client = client;
        _input = client.Transport.Input;
        _output = client.Transport.Output;
        _options = options;
        _observer = observer;
        _requestHead = new HttpRequestHeadForwarder(clientAddress, Encoding.ASCII.GetBytes(options.ForwardedProto));
    }

    /// <summary>
    /// How to forward. Set between exchanges (before the next request is parsed) to change the timeouts and the replay
    /// limit of a keep-alive connection, as a reload does; <see cref="HttpForwarderOptions.ForwardedProto"/> stays the
    /// one given at construction.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The options' <see cref="HttpForwarderOptions.ResponseTimeout"/> is zero, or negative and not infinite.</exception>
    public HttpForwarderOptions Options
    {
        get => _options;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            value.Validate(nameof(value));
            _options = value;
        }
    }

    /// <summary>The method of the request last parsed.</summary>
    public RequestMethod Method => _request.Method;

    /// <summary>
    /// Whether the request last parsed asks for a protocol upgrade (WebSocket, say) that is forwarded: an HTTP/1.1
    /// request without body, with an Upgrade field listed in Connection. A 101 to it makes the exchange
    /// <see cref="HttpForwarderOutcome.Upgraded"/>; any other request loses its Upgrade field, and a 101 to it is a 502.
    /// </summary>
    public bool RequestIsUpgrade => _request.Upgrade;

    /// <summary>Whether the request last parsed names its host (a Host field or an absolute-form target).</summary>
    public bool RequestHasHost => _requestHead.HasHost;

    /// <summary>
    /// Whether the request last parsed can be sent again if a backend fails before answering: it has no body, or its
    /// whole Content-Length body (up to <see cref="HttpForwarderOptions.MaxReplayBody"/>, without Expect) arrived with
    /// its head, so nothing of it has to be read from the client after the first attempt.
    /// </summary>
    public bool RequestIsReplayable => _request.Framing == HttpBodyFraming.None || _bodyInHand;

    /// <summary>Bytes of the current request read from the client: head and body as received (spliced ones included).</summary>
    public long BytesFromClient => _bytesFromClient;

    /// <summary>Bytes of the current response read from the backend: heads and body as received.</summary>
    public long BytesFromBackend => _bytesFromBackend;

    private static byte[] Scratch => t_scratch ??= new byte[HttpParserLimits.Default.MaxHeadLength];

    /// <summary>This thread's response head forwarder, set up for the request in hand (whether a 101 may keep Upgrade).</summary>
    private HttpResponseHeadForwarder ResponseHeadFor()
    {
        var responseHead = t_responseHead ??= new HttpResponseHeadForwarder();
        responseHead.KeepUpgrade = _request.Upgrade;
        return responseHead;
    }

    private ChunkedBodyDecoder Chunks => _chunks ??= new ChunkedBodyDecoder(HttpParserLimits.Default);

    /// <summary>Names another client for X-Forwarded-For, such as the source of a PROXY header; before the first request.</summary>
    public void SetClientAddress(ReadOnlySpan<byte> clientAddress) =>
        _requestHead = new HttpRequestHeadForwarder(clientAddress, Encoding.ASCII.GetBytes(_options.ForwardedProto));

    /// <summary>
    /// The only parse of a request head, at the start of <paramref name="buffer"/> (just read from the client's input):
    /// validation (<paramref name="error"/> says what to answer), and where the fields to forward are. When complete,
    /// the read stays open: the caller must not advance the client's input; <see cref="ForwardAsync"/> or
    /// <see cref="ReleaseRequest"/> does.
    /// </summary>
    public HttpParseStatus TryParseRequest(in ReadOnlySequence<byte> buffer, out HttpParseError? error)
    {
        if (_holdingRequest)
        {
            throw new InvalidOperationException("TryParseRequest was called while the previous request is still held; forward or release it first.");
        }

        var status = _requestHead.TryParse(s_requests, buffer, Scratch, out HttpRequestHead head);
        error = head.Error;
        if (status == HttpParseStatus.Complete)
        {
            var framing = head.IsChunked ? HttpBodyFraming.Chunked
                : head.ContentLength > 0 ? HttpBodyFraming.ContentLength
                : HttpBodyFraming.None;
            _request = new RequestFacts(
                head.Method, head.Version, head.KeepAlive, framing, head.ContentLength, head.ExpectContinue && head.HasBody, head.Consumed,
                _requestHead.IsUpgrade);
            _requestBuffer = buffer;
            _holdingRequest = true;
            _headCounted = false;
            _bodyFromHand = false;
            _bodyInHand = framing == HttpBodyFraming.ContentLength && !_request.ExpectContinue && head.ContentLength <= _options.MaxReplayBody
                && buffer.Slice(head.Consumed).Length >= head.ContentLength;
            _messageEnd = _bodyInHand ? buffer.GetPosition(head.ContentLength, head.Consumed) : head.Consumed;
            _bytesFromClient = 0;
            _bytesFromBackend = 0;
        }

        return status;
    }

    /// <summary>Consumes the held request head from the client's input without forwarding it (again); nothing if none is held.</summary>
    public void ReleaseRequest()
    {
        if (_holdingRequest)
        {
            _holdingRequest = false;
            _input.AdvanceTo(HeldEnd);
            _requestBuffer = default;
        }
    }

    /// <summary>Where the held request ends in the client's input: after its head, or after its body when that went from the held read.</summary>
    private SequencePosition HeldEnd => _bodyFromHand ? _messageEnd : _request.Consumed;

    /// <summary>Forwards the request <see cref="TryParseRequest"/> holds to <paramref name="backend"/>, and its response back.</summary>
    /// <param name="backend">A connection to the chosen server; the caller pools or closes it after, as the outcome says.</param>
    /// <param name="hostIfAbsent">The Host to send when the request names none (HTTP/1.0): the server's address, for instance.</param>
    /// <param name="replayable">
    /// True when the caller may send the request again (<paramref name="backend"/> is a reused connection the server may
    /// have just closed, or retries are allowed): a request without body, or whose body is in hand
    /// (<see cref="RequestIsReplayable"/>), is then kept until its response starts, and a failure before that (the
    /// connection dies, or no response head within the timeout) is <see cref="HttpForwarderOutcome.CanRetry"/>.
    /// </param>
    /// <remarks>
    /// Not an async method itself: a request without body and without Expect is flushed at once (the worker writes at
    /// the end of its turn, so the flush completes synchronously) and the exchange is then the response step alone,
    /// one async level fewer to suspend and resume per exchange.
    /// </remarks>
    public ValueTask<HttpForwarderOutcome> ForwardAsync(Connection backend, ReadOnlyMemory<byte> hostIfAbsent, bool replayable)
    {
        ArgumentNullException.ThrowIfNull(backend);
        if (!_holdingRequest)
        {
            throw new InvalidOperationException("ForwardAsync forwards the request TryParseRequest has parsed and still holds; there is none.");
        }

        _backend = backend;
        replayable &= RequestIsReplayable;
        var backendOutput = backend.Transport.Output;

        // 1. The head, in one pass, into the backend's output (flushed with the body, or before the response is read).
        _requestHead.Write(_requestBuffer, Scratch, backendOutput, hostIfAbsent.Span);
        // A body in hand goes with the head, from the held read, when the request may go again (the same bytes then),
        // and on every attempt after one that did so (the held read already counts it as sent).
        bool bodyFromHand = _bodyInHand && (replayable || _bodyFromHand);
        if (bodyFromHand)
        {
            Copy(_requestBuffer.Slice(_request.Consumed, _request.ContentLength), backendOutput);
            _bodyFromHand = true;
        }

        if (!_headCounted)
        {
            _headCounted = true;
            _bytesFromClient += _requestBuffer.Slice(0, HeldEnd).Length;
        }

        // 2. A request that may be replayed stays in the client's input until its response starts; any other goes now.
        if (!replayable)
        {
            ReleaseRequest();
        }

        if ((_request.Framing != HttpBodyFraming.None && !bodyFromHand) || _request.ExpectContinue)
        {
            return SendThenReceiveAsync(replayable, default, flushStarted: false);
        }

        // 4. Nothing but the head to send: the flush, without an async step when it completes at once.
        ValueTask<FlushResult> flush;
        try
        {
            flush = backendOutput.FlushAsync();
            if (!flush.IsCompleted)
            {
                return SendThenReceiveAsync(replayable, flush, flushStarted: true);
            }

            if (flush.Result.IsCompleted)
            {
                return new ValueTask<HttpForwarderOutcome>(Finish(RequestNotSent(replayable, "the connection closed while sending the request")));
            }
        }
        catch (IOException ex) when (!_client.ConnectionClosed.IsCancellationRequested)
        {
            return new ValueTask<HttpForwarderOutcome>(Finish(RequestNotSent(replayable, ex.Message)));
        }

        // 5-7.
        return ReceiveResponseAsync(replayable);
    }

    /// <summary>The slow way of <see cref="ForwardAsync"/>: a body, a 100 Continue or a flush that waits, then the response.</summary>
    [AsyncMethodBuilder(typeof(WorkerPoolingValueTaskMethodBuilder<>))]
    private async ValueTask<HttpForwarderOutcome> SendThenReceiveAsync(bool replayable, ValueTask<FlushResult> flush, bool flushStarted)
    {
        var outcome = await SendRequestAsync(replayable, flush, flushStarted).ConfigureAwait(false);
        if (outcome.Error != HttpForwarderError.None)
        {
            return Finish(outcome);
        }

        return await ReceiveResponseAsync(replayable).ConfigureAwait(false);
    }

    /// <summary>The end of every exchange: the request is consumed unless it may be sent again; the backend is the caller's again.</summary>
    private HttpForwarderOutcome Finish(in HttpForwarderOutcome outcome)
    {
        if (!outcome.CanRetry)
        {
            ReleaseRequest();
        }

        _backend = null;
        return outcome;
    }

    private static HttpForwarderOutcome RequestNotSent(bool replayable, string reason) =>
        replayable ? HttpForwarderOutcome.Retry(reason) : HttpForwarderOutcome.Failed(HttpForwarderError.Request, 502, reason);

    /// <summary>
    /// 3-4. The 100 Continue the client waits for, the request body, and the flush (<paramref name="startedFlush"/> when
    /// <paramref name="flushStarted"/>: a request without body whose flush had to wait); an outcome without error: go on.
    /// </summary>
    [AsyncMethodBuilder(typeof(WorkerPoolingValueTaskMethodBuilder<>))]
    private async ValueTask<HttpForwarderOutcome> SendRequestAsync(bool replayable, ValueTask<FlushResult> startedFlush, bool flushStarted)
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
            if (_request.Framing != HttpBodyFraming.None && !_bodyFromHand)
            {
                var end = await ForwardBodyAsync(_request.Framing, _request.ContentLength, chunkedOut: true, fromBackend: false).ConfigureAwait(false);
                switch (end)
                {
                    case BodyEnd.Invalid:
                        var bodyError = Chunks.Error;
                        return HttpForwarderOutcome.Failed(HttpForwarderError.RequestBodyInvalid, bodyError?.StatusCode ?? 400, bodyError?.Reason ?? "invalid chunked body");
                    case BodyEnd.SourceEnded:
                        return HttpForwarderOutcome.Failed(HttpForwarderError.RequestBodyClient, 0, "the client ended inside its request body");
                    case BodyEnd.DestinationClosed:
                        return HttpForwarderOutcome.Failed(HttpForwarderError.RequestBodyDestination, 0, "the server stopped reading the request body");
                }
            }

            var flush = flushStarted ? await startedFlush.ConfigureAwait(true) : await backendOutput.FlushAsync().ConfigureAwait(true);
            if (flush.IsCompleted)
            {
                return RequestNotSent(replayable, "the connection closed while sending the request");
            }
        }
        catch (IOException ex) when (!_client.ConnectionClosed.IsCancellationRequested)
        {
            return RequestNotSent(replayable, ex.Message);
        }

        return default;
    }

    /// <summary>What the exchange needs to know about the request once its head's spans are gone.</summary>
    private readonly record struct RequestFacts(
        RequestMethod Method, HttpVersion Version, bool KeepAlive, HttpBodyFraming Framing, long ContentLength, bool ExpectContinue,
        SequencePosition Consumed, bool Upgrade);
}
