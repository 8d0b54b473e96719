using System.Buffers;
using System.Runtime.CompilerServices;
using Fastsock.Engine;

namespace Fastsock.Http.Server;

/// <summary>The request body: read by the application, or stepped over by the loop when it left some.</summary>
internal sealed partial class HttpServerConnection
{
    private long _bodyRemaining;
    private bool _inChunkedBody;
    private ChunkedBodyDecoder? _chunked;
    private bool _bodyReadStarted;

    /// <summary>Whether <c>100 Continue</c> was sent for the current request.</summary>
    public bool ContinueSent { get; private set; }

    public bool BodyComplete => _bodyRemaining == 0 && !_inChunkedBody;

    private void StartBody(long contentLength, bool chunked)
    {
        _bodyRemaining = contentLength > 0 ? contentLength : 0;
        _inChunkedBody = chunked;
        _bodyReadStarted = false;
        ContinueSent = false;
        if (chunked)
        {
            _chunked ??= new ChunkedBodyDecoder(_loop.Parser.Limits);
            _chunked.Reset();
        }
    }

    /// <summary>See <see cref="HttpExchange.ReadBodyAsync"/>. Completes synchronously when the data is already buffered.</summary>
    [AsyncMethodBuilder(typeof(WorkerPoolingValueTaskMethodBuilder<>))]
    public async ValueTask<ReadOnlySequence<byte>> ReadBodyAsync()
    {
        if (BodyComplete)
        {
            return default;
        }

        if (!_bodyReadStarted)
        {
            _bodyReadStarted = true;
            if (Exchange.ExpectContinue)
            {
                // As Kestrel: the client is told to send the body only once the application asks for it.
                if (Exchange.HasStarted)
                {
                    throw new InvalidOperationException("The request body was read after the response started, but the client still waits for 100 Continue; read the body first.");
                }

                HttpResponseWriter.WriteContinue(_output);
                ContinueSent = true;
                if ((await Flush().ConfigureAwait(true)).IsCompleted)
                {
                    throw new BadHttpRequestException("The client closed the connection before sending the request body.");
                }
            }
        }

        while (true)
        {
            if (TryTakeBody(out var data, out var error))
            {
                return data;
            }

            if (error is not null)
            {
                throw new BadHttpRequestException(error.StatusCode, $"The request body is malformed: {error.Reason}.");
            }

            if (_inputEnded)
            {
                throw new BadHttpRequestException("The client closed the connection inside the request body.");
            }

            if (OutputPending && (await Flush().ConfigureAwait(true)).IsCompleted)
            {
                throw new BadHttpRequestException("The client closed the connection inside the request body.");
            }

            Exchange.PinHead(); // the read below releases the head's bytes
            Release();
            var result = await _input.ReadAsync().ConfigureAwait(true);
            Accept(result);
            if (result.IsCanceled && !Connection.IsShutdownRequested)
            {
                // Shutdown lets the request in flight finish; any other cancellation is a read deadline of the app's.
                throw new OperationCanceledException("The read of the request body was cancelled.");
            }
        }
    }

    /// <summary>
    /// Takes the next body bytes from the buffer: true with data, or with an empty sequence once the body has ended;
    /// false when more input is needed, or on a framing error.
    /// </summary>
    private bool TryTakeBody(out ReadOnlySequence<byte> data, out HttpParseError? error)
    {
        data = default;
        error = null;
        if (_bodyRemaining > 0)
        {
            if (_buffer.IsEmpty)
            {
                return false;
            }

            long take = Math.Min(_bodyRemaining, _buffer.Length);
            data = _buffer.Slice(0, take);
            _buffer = _buffer.Slice(take);
            _bodyRemaining -= take;
            return true;
        }

        if (!_inChunkedBody)
        {
            return true;
        }

        var status = _chunked!.Decode(_buffer, out data, out var consumed);
        _buffer = _buffer.Slice(consumed);
        switch (status)
        {
            case ChunkedBodyStatus.Data:
                return true;
            case ChunkedBodyStatus.Complete:
                _inChunkedBody = false;
                data = default;
                return true;
            case ChunkedBodyStatus.Error:
                error = _chunked.Error;
                return false;
            default:
                return false;
        }
    }

    /// <summary>Drops body bytes from the buffer; true when the body is done.</summary>
    private bool TrySkipBody(out HttpParseError? error)
    {
        error = null;
        while (!BodyComplete)
        {
            if (!TryTakeBody(out _, out error))
            {
                return false;
            }
        }

        return true;
    }
}
