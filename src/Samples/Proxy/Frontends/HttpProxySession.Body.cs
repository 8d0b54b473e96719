using System.Buffers;
using System.Buffers.Text;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using Fastsock.Engine;
using Fastsock.Http;
using Fastsock.Transport;

namespace Fastsock.Samples.Proxy.Frontends;

/// <summary>How a message body is delimited on the side it is read from.</summary>
internal enum BodyKind : byte
{
    None,
    Length,
    Chunked,
    UntilClose,
}

/// <summary>How streaming a body ended.</summary>
internal enum BodyEnd : byte
{
    Complete,

    /// <summary>The source ended (or the destination stopped reading) before the body did.</summary>
    Truncated,

    /// <summary>Malformed chunked framing; see the session's decoder for the status.</summary>
    Invalid,
}

// Bodies are streamed, never buffered whole: each read is copied to the other side and flushed, so the pipes'
// backpressure bounds the memory one exchange holds. Chunked bodies are decoded and written again as chunks.
internal sealed partial class HttpProxySession
{
    [AsyncMethodBuilder(typeof(WorkerPoolingValueTaskMethodBuilder<>))]
    private async ValueTask<BodyEnd> PumpBodyAsync(PipeReader from, PipeWriter to, BodyKind kind, long length, bool chunkedOut, bool fromBackend)
    {
        if (kind == BodyKind.Chunked)
        {
            Chunks.Reset();
        }

        if (kind == BodyKind.Length && length >= _frontend.SpliceThreshold && _frontend.Forwarding != ForwardingMode.Copy)
        {
            // A large body of known length goes socket to socket through a kernel pipe, then both sides go on with
            // the next message. Only between two sockets of this worker; otherwise (in-process servers) it is copied.
            var flush = await to.FlushAsync().ConfigureAwait(true);
            if (flush.IsCompleted)
            {
                return BodyEnd.Truncated;
            }

            var forward = fromBackend
                ? await ConnectionForwarder.SpliceExactlyAsync(_backend!, _client, length).ConfigureAwait(true)
                : await ConnectionForwarder.SpliceExactlyAsync(_client, _backend!, length).ConfigureAwait(true);
            if (forward.Mode == ForwardingMode.Splice)
            {
                if (fromBackend)
                {
                    _bytesOut += forward.FirstToSecond;
                }
                else
                {
                    _bytesIn += forward.FirstToSecond;
                }

                return forward.Error is null ? BodyEnd.Complete : BodyEnd.Truncated;
            }
        }

        long remaining = length;
        while (true)
        {
            var result = fromBackend ? await ReadBackendAsync(from).ConfigureAwait(false) : await from.ReadAsync().ConfigureAwait(true);
            var buffer = result.Buffer;
            long before = buffer.Length;
            var end = Transfer(ref buffer, to, kind, ref remaining, chunkedOut);
            if (fromBackend)
            {
                _bytesOut += before - buffer.Length;
            }
            else
            {
                _bytesIn += before - buffer.Length;
            }

            if (end is BodyEnd.Complete or BodyEnd.Invalid)
            {
                // Whatever follows is the next message: leave it unexamined so the next read sees it at once.
                from.AdvanceTo(buffer.Start);
                return end;
            }

            from.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                return kind == BodyKind.UntilClose ? BodyEnd.Complete : BodyEnd.Truncated;
            }

            // A cancelled read without the end is a graceful shutdown asking to finish: the message in flight is finished.

            var flush = await to.FlushAsync().ConfigureAwait(true);
            if (flush.IsCompleted)
            {
                return BodyEnd.Truncated;
            }
        }
    }

    /// <summary>
    /// Copies the body bytes at the start of <paramref name="buffer"/> to <paramref name="to"/> and slices them off;
    /// <see cref="BodyEnd.Truncated"/> here means "more to come".
    /// </summary>
    private BodyEnd Transfer(ref ReadOnlySequence<byte> buffer, PipeWriter to, BodyKind kind, ref long remaining, bool chunkedOut)
    {
        switch (kind)
        {
            case BodyKind.Length:
                long take = Math.Min(remaining, buffer.Length);
                Copy(buffer.Slice(0, take), to);
                buffer = buffer.Slice(take);
                remaining -= take;
                return remaining == 0 ? BodyEnd.Complete : BodyEnd.Truncated;
            case BodyKind.UntilClose:
                Copy(buffer, to);
                buffer = buffer.Slice(buffer.End);
                return BodyEnd.Truncated;
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
                    return BodyEnd.Truncated;
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
