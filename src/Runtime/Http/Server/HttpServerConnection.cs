using System.Buffers;
using System.IO.Pipelines;
using Fastsock.Transport;

namespace Fastsock.Http.Server;

/// <summary>
/// One connection served by <see cref="HttpServerLoop"/>. Its state lives here, allocated once per connection; the
/// loop is one async method whose box suspends for every request, so a request costs no allocation.
/// </summary>
/// <remarks>
/// The loop holds the unconsumed input in <see cref="_buffer"/> across requests and advances the pipe only when it
/// needs more bytes, so pipelined requests that arrived in one read are answered from one buffer and flushed once.
/// What an idle keep-alive connection holds is kept small on purpose (perf/results/idle-memory.md): this object, the
/// one suspended box, no exchange (taken from the worker's pool per request) and no continuation on the handler's task
/// in the transport (the loop tells the connection when it ends).
/// </remarks>
internal sealed partial class HttpServerConnection
{
    private readonly HttpServerLoop _loop;
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private HttpExchange? _exchange; // while a request is in flight
    private ReadOnlySequence<byte> _buffer;
    private bool _holdingBuffer;
    private bool _inputEnded;

    public HttpServerConnection(HttpServerLoop loop, Connection connection)
    {
        _loop = loop;
        Connection = connection;
        _input = connection.Transport.Input;
        _output = connection.Transport.Output;
    }

    public Connection Connection { get; }

    /// <summary>Set when a response was written and not yet flushed.</summary>
    public bool OutputPending { get; set; }

    private HttpExchange Exchange => _exchange!;

    // One async method for the whole connection (not a loop awaited by a wrapper): one box per connection, and no
    // continuation object between two of them while it is idle.
    // Every await here keeps the worker's context (ConfigureAwait(true)): an application may complete its task on
    // another thread (a timer, the thread pool), and the loop must come back to the worker that owns the connection's
    // pipes instead of going on where that task completed.
    public async Task RunAsync()
    {
        Connection.ExpectHandlerEndSignal();
        try
        {
            bool flushAtEnd = true;
            while (true)
            {
                // 1. A complete head: from what is buffered (pipelining) or from the next read.
                var step = StartNextRequest();
                if (step == RequestStep.NeedMoreData)
                {
                    if (_inputEnded || Connection.IsShutdownRequested)
                    {
                        break; // the peer left, or shutdown between requests; a partial request goes with it
                    }

                    if (OutputPending && (await Flush().ConfigureAwait(true)).IsCompleted)
                    {
                        flushAtEnd = false;
                        break;
                    }

                    ReturnExchange(); // idle: the exchange serves other connections meanwhile
                    Release();
                    if (!Accept(await _input.ReadAsync().ConfigureAwait(true)))
                    {
                        break;
                    }

                    continue;
                }

                // 2. A malformed head, target or Host was answered: close (the stream cannot be trusted any more).
                if (step == RequestStep.Rejected)
                {
                    break;
                }

                // 3. The application answers.
                try
                {
                    var respond = _loop.Application.ProcessRequestAsync(Exchange);
                    if (!respond.IsCompletedSuccessfully)
                    {
                        await respond.ConfigureAwait(true);
                    }
                }
                catch (BadHttpRequestException ex)
                {
                    flushAtEnd = AnswerBrokenBody(ex);
                    break;
                }

                if (!Exchange.Finish())
                {
                    break;
                }

                // 4. Step over the body the application left, to reach the next request.
                bool open = true;
                while (open && !TrySkipBody(out var bodyError))
                {
                    if (bodyError is not null)
                    {
                        HttpResponseWriter.WriteError(_output, bodyError.StatusCode);
                        OutputPending = true;
                        open = false;
                    }
                    else if (_inputEnded)
                    {
                        open = false;
                    }
                    else
                    {
                        if (OutputPending && (await Flush().ConfigureAwait(true)).IsCompleted)
                        {
                            flushAtEnd = false;
                            open = false;
                            break;
                        }

                        Release();
                        open = Accept(await _input.ReadAsync().ConfigureAwait(true));
                    }
                }

                // 5. Graceful shutdown: the response in flight is done; close rather than take another request.
                if (!open || Connection.IsShutdownRequested)
                {
                    break;
                }
            }

            if (flushAtEnd && OutputPending)
            {
                await Flush().ConfigureAwait(true);
            }

            ReturnExchange();
            await _input.CompleteAsync().ConfigureAwait(true);
            await _output.CompleteAsync().ConfigureAwait(true);
        }
        finally
        {
            Connection.HandlerEnding();
        }
    }

    private enum RequestStep : byte
    {
        NeedMoreData,
        Rejected,
        Ready,
    }

    /// <summary>
    /// Parses the next head from the buffer and hands it to an exchange; a malformed one is answered here. Not async:
    /// the parser's state stays off the loop's box.
    /// </summary>
    private RequestStep StartNextRequest()
    {
        var scratch = _loop.Scratch();
        HostFieldSink host = default;
        var status = _loop.Parser.TryParseFieldLines(_buffer, scratch, ref host, out var head);
        if (status == HttpParseStatus.NeedMoreData)
        {
            return RequestStep.NeedMoreData;
        }

        var exchange = _exchange ??= HttpExchangePool.Rent(this, _output);
        if (status == HttpParseStatus.Error || !exchange.Start(ref head, host, _buffer, scratch))
        {
            HttpResponseWriter.WriteError(_output, status == HttpParseStatus.Error ? head.Error!.StatusCode : 400);
            OutputPending = true;
            return RequestStep.Rejected;
        }

        _buffer = _buffer.Slice(head.Consumed);
        StartBody(exchange.ContentLength, exchange.IsChunked);
        return RequestStep.Ready;
    }

    /// <summary>The body the application was reading is broken or cut: answer if it had not. False when it was aborted.</summary>
    private bool AnswerBrokenBody(BadHttpRequestException ex)
    {
        if (!Exchange.HasStarted)
        {
            HttpResponseWriter.WriteError(_output, ex.StatusCode);
            OutputPending = true;
            return true;
        }

        if (!Exchange.IsResponseComplete)
        {
            Connection.Abort(); // a half-written response cannot be ended cleanly
            return false;
        }

        return true;
    }

    private void ReturnExchange()
    {
        if (_exchange is { } exchange)
        {
            _exchange = null;
            HttpExchangePool.Return(exchange);
        }
    }

    private ValueTask<FlushResult> Flush()
    {
        OutputPending = false;
        return _output.FlushAsync();
    }

    /// <summary>Gives the pipe back what was consumed (and marks the rest examined) before the next read.</summary>
    private void Release()
    {
        if (_holdingBuffer)
        {
            _input.AdvanceTo(_buffer.Start, _buffer.End);
            _holdingBuffer = false;
        }
    }

    /// <summary>Takes a read's buffer; false when the read was cancelled for a graceful shutdown.</summary>
    private bool Accept(ReadResult result)
    {
        _buffer = result.Buffer;
        _holdingBuffer = true;
        _inputEnded = result.IsCompleted;
        return !(result.IsCanceled && Connection.IsShutdownRequested);
    }
}
