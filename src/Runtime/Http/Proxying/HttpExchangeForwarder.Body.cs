using System.Buffers;
using System.Buffers.Text;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using Fastsock.Engine;
using Fastsock.Transport;

namespace Fastsock.Http.Proxying;

// Bodies, both ways, by one framing model: streamed, never buffered whole. Each read is copied to the other side and
// flushed, so the pipes' backpressure bounds the memory one exchange holds. Chunked bodies are decoded and written
// again as chunks (or, to an HTTP/1.0 client, as the bytes up to the close); large bodies of known length are spliced.
public sealed partial class HttpExchangeForwarder
{
    /// <summary>How forwarding a body ended.</summary>
    private enum BodyEnd : byte
    {
        Complete,

        /// <summary>The side the body came from ended (or reset) before the body did.</summary>
        SourceEnded,

        /// <summary>The backend sent nothing of the response body for <see cref="HttpForwarderOptions.ResponseTimeout"/>.</summary>
        SourceTimedOut,

        /// <summary>The side the body went to stopped reading.</summary>
        DestinationClosed,

        /// <summary>
        /// The client stopped reading a response body, and the rest of the body was read and discarded: the backend
        /// connection is at the end of the message, clean for another.
        /// </summary>
        DestinationClosedDrained,

        /// <summary>Malformed chunked framing; <see cref="ChunkedBodyDecoder.Error"/> says how.</summary>
        Invalid,
    }

    /// <summary>Forwards one body delimited by <paramref name="framing"/>, request (client to backend) or response.</summary>
    [AsyncMethodBuilder(typeof(WorkerPoolingValueTaskMethodBuilder<>))]
    private async ValueTask<BodyEnd> ForwardBodyAsync(HttpBodyFraming framing, long length, bool chunkedOut, bool fromBackend)
    {
        var backend = _backend!;
        PipeReader from = fromBackend ? backend.Transport.Input : _input;
        PipeWriter to = fromBackend ? _output : backend.Transport.Output;
        if (framing == HttpBodyFraming.Chunked)
        {
            Chunks.Reset();
        }

        if (framing == HttpBodyFraming.ContentLength && length >= _options.SpliceThreshold && _options.Forwarding != ForwardingMode.Copy)
        {
            // A large body of known length goes socket to socket through a kernel pipe, then both sides go on with
            // the next message. Only between two sockets of this worker; otherwise (in-process servers) it is copied.
            var flush = await to.FlushAsync().ConfigureAwait(true);
            if (flush.IsCompleted)
            {
                return fromBackend ? await DiscardRestOfBodyAsync(from, framing, length).ConfigureAwait(false) : BodyEnd.DestinationClosed;
            }

            // A client that leaves a spliced response body costs the backend connection only when the rest is over the
            // drain bound: within it, the splice gives the backend back instead of aborting it. A backend that stalls
            // inside it is bounded by the response timeout, as each read of a copied body is; a request body is not
            // (the copy path reads it without a deadline too: the client's idle timeout bounds it). The splice is one
            // reused object per worker behind a ValueTask: a spliced body allocates nothing.
            var forward = fromBackend
                ? await ConnectionForwarder.SpliceExactlyAsync(
                    backend, _client, length, keepSourceWithin: _options.MaxDrainBody,
                    sourceTimeout: _options.HasResponseTimeout ? _options.ResponseTimeout : TimeSpan.Zero).ConfigureAwait(true)
                : await ConnectionForwarder.SpliceExactlyAsync(_client, backend, length).ConfigureAwait(true);
            if (forward.Mode == ForwardingMode.Splice)
            {
                if (forward.SourceKept)
                {
                    // What sat in the kernel pipe was read from the backend and dropped with it: only the rest is read.
                    Count(fromBackend, length - forward.SourceRemaining);
                    return forward.SourceRemaining == 0
                        ? BodyEnd.DestinationClosedDrained
                        : await DiscardRestOfBodyAsync(from, framing, forward.SourceRemaining).ConfigureAwait(false);
                }

                Count(fromBackend, forward.FirstToSecond);
                if (forward.SourceTimedOut)
                {
                    // The backend was aborted; the client is left to the caller, who closes it as after a copied body.
                    return BodyEnd.SourceTimedOut;
                }

                // A side that ended early or failed is named, so that a client leaving a spliced download is not counted
                // as a server failure. A source that ended early was aborted alone: the other side got every byte taken
                // and is left to the caller, who closes it in order (a FIN after what came), as after a copied body.
                return forward.Error is null ? BodyEnd.Complete : forward.TargetFailed ? BodyEnd.DestinationClosed : BodyEnd.SourceEnded;
            }
        }

        long remaining = length;
        while (true)
        {
            var result = fromBackend ? await ReadBackendAsync(from).ConfigureAwait(false) : await from.ReadAsync().ConfigureAwait(true);
            var buffer = result.Buffer;
            long before = buffer.Length;
            var end = Transfer(ref buffer, to, framing, ref remaining, chunkedOut);
            Count(fromBackend, before - buffer.Length);
            if (end is BodyEnd.Complete or BodyEnd.Invalid)
            {
                // Whatever follows is the next message: leave it unexamined so the next read sees it at once.
                from.AdvanceTo(buffer.Start);
                return end;
            }

            from.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                return framing == HttpBodyFraming.CloseDelimited ? BodyEnd.Complete : BodyEnd.SourceEnded;
            }

            // A cancelled read without the end is a graceful shutdown asking to finish: the message in flight is finished.
            var flush = await to.FlushAsync().ConfigureAwait(true);
            if (flush.IsCompleted)
            {
                // The client left in the middle of a response body: the rest may still be read to keep the backend.
                return fromBackend ? await DiscardRestOfBodyAsync(from, framing, remaining).ConfigureAwait(false) : BodyEnd.DestinationClosed;
            }
        }
    }

    private void Count(bool fromBackend, long bytes)
    {
        if (fromBackend)
        {
            _bytesFromBackend += bytes;
        }
        else
        {
            _bytesFromClient += bytes;
        }
    }

    /// <summary>
    /// Copies the body bytes at the start of <paramref name="buffer"/> to <paramref name="to"/> and slices them off;
    /// <see cref="BodyEnd.SourceEnded"/> here means "more to come".
    /// </summary>
    private BodyEnd Transfer(ref ReadOnlySequence<byte> buffer, PipeWriter to, HttpBodyFraming framing, ref long remaining, bool chunkedOut)
    {
        switch (framing)
        {
            case HttpBodyFraming.ContentLength:
                long take = Math.Min(remaining, buffer.Length);
                Copy(buffer.Slice(0, take), to);
                buffer = buffer.Slice(take);
                remaining -= take;
                return remaining == 0 ? BodyEnd.Complete : BodyEnd.SourceEnded;
            case HttpBodyFraming.CloseDelimited:
                Copy(buffer, to);
                buffer = buffer.Slice(buffer.End);
                return BodyEnd.SourceEnded;
            default:
                return TransferChunks(ref buffer, to, chunkedOut);
        }
    }

    private BodyEnd TransferChunks(ref ReadOnlySequence<byte> buffer, PipeWriter to, bool chunkedOut)
    {
        var decoder = Chunks;
        while (true)
        {
            var status = decoder.Decode(buffer, out var data, out var consumed);
            buffer = buffer.Slice(consumed);
            switch (status)
            {
                case ChunkedBodyStatus.Data:
                    if (chunkedOut)
                    {
                        WriteChunkSize(to, data.Length);
                        Copy(data, to);
                        to.Write("\r\n"u8);
                    }
                    else
                    {
                        Copy(data, to);
                    }

                    break;
                case ChunkedBodyStatus.Complete:
                    if (chunkedOut)
                    {
                        to.Write("0\r\n\r\n"u8); // trailers are not forwarded
                    }

                    return BodyEnd.Complete;
                case ChunkedBodyStatus.Error:
                    return BodyEnd.Invalid;
                default:
                    return BodyEnd.SourceEnded;
            }
        }
    }

    private static void WriteChunkSize(PipeWriter to, long size)
    {
        Span<byte> span = to.GetSpan(20);
        Utf8Formatter.TryFormat(size, span, out int written, new StandardFormat('X'));
        span[written++] = (byte)'\r';
        span[written++] = (byte)'\n';
        to.Advance(written);
    }

    private static void Copy(in ReadOnlySequence<byte> data, PipeWriter to)
    {
        foreach (var segment in data)
        {
            to.Write(segment.Span);
        }
    }
}
