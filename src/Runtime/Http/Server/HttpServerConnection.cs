using System.Buffers;
using System.IO.Pipelines;
using Fastsock.Transport;

namespace Fastsock.Http.Server;

/// <summary>
/// One connection served by <see cref="HttpServerLoop"/>. Its state lives here, allocated once per connection; the
/// loop's async method suspends in the same box for every request, so a request costs no allocation.
/// </summary>
/// <remarks>
/// The loop holds the unconsumed input in <see cref="_buffer"/> across requests and advances the pipe only when it
/// needs more bytes, so pipelined requests that arrived in one read are answered from one buffer and flushed once.
/// </remarks>
internal sealed partial class HttpServerConnection
{
    private readonly HttpServerLoop _loop;
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly HttpExchange _exchange;
    private ReadOnlySequence<byte> _buffer;
    private bool _holdingBuffer;
    private bool _inputEnded;

    public HttpServerConnection(HttpServerLoop loop, Connection connection)
    {
        _loop = loop;
        Connection = connection;
        _input = connection.Transport.Input;
        _output = connection.Transport.Output;
        _exchange = new HttpExchange(this, _output);
    }

    public Connection Connection { get; }

    /// <summary>Set when a response was written and not yet flushed.</summary>
    public bool OutputPending { get; set; }

    // Every await here keeps the worker's context (ConfigureAwait(true)): an application may complete its task on
    // another thread (a timer, the thread pool), and the loop must come back to the worker that owns the connection's
    // pipes instead of going on where that task completed.
    public async Task RunAsync()
    {
        await ServeAsync().ConfigureAwait(true);
        await _input.CompleteAsync().ConfigureAwait(true);
        await _output.CompleteAsync().ConfigureAwait(true);
    }

    private async Task ServeAsync()
    {
        while (true)
        {
            // 1. A complete head: from what is buffered (pipelining) or from the next read.
            var scratch = _loop.Scratch();
            HostFieldSink host = default;
            var status = _loop.Parser.TryParseFieldLines(_buffer, scratch, ref host, out var head);
            if (status == HttpParseStatus.NeedMoreData)
            {
                if (_inputEnded || Connection.IsShutdownRequested)
                {
                    break; // the peer left, or shutdown between requests; a partial request goes with it
                }

                if (OutputPending && (await Flush().ConfigureAwait(true)).IsCompleted)
                {
                    return;
                }

                Release();
                var result = await _input.ReadAsync().ConfigureAwait(true);
                if (!Accept(result))
                {
                    break;
                }

                continue;
            }

            // 2. A malformed head, target or Host: one answer, then close (the stream cannot be trusted any more).
            if (status == HttpParseStatus.Error || !_exchange.Start(ref head, host, _buffer, scratch))
            {
                HttpResponseWriter.WriteError(_output, status == HttpParseStatus.Error ? head.Error!.StatusCode : 400);
                OutputPending = true;
                break;
            }

            _buffer = _buffer.Slice(head.Consumed);
            StartBody(_exchange.ContentLength, _exchange.IsChunked);

            // 3. The application answers.
            try
            {
                var respond = _loop.Application.ProcessRequestAsync(_exchange);
                if (!respond.IsCompletedSuccessfully)
                {
                    await respond.ConfigureAwait(true);
                }
            }
            catch (BadHttpRequestException ex)
            {
                // The body it was reading is broken or cut: answer if it had not, and close.
                if (!_exchange.HasStarted)
                {
                    HttpResponseWriter.WriteError(_output, ex.StatusCode);
                    OutputPending = true;
                }
                else if (!_exchange.IsResponseComplete)
                {
                    Connection.Abort(); // a half-written response cannot be ended cleanly
                    return;
                }

                break;
            }

            if (!_exchange.Finish())
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
                        return;
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

        if (OutputPending)
        {
            await Flush().ConfigureAwait(true);
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
