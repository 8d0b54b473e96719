using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using Fastsock.Engine;

namespace Fastsock.Http.Proxying;

// A client that left while the server was answering: the server finishes its response anyway, so closing the
// connection would throw away a good connection and make the next request open one (a load generator that stops with
// requests in flight closed hundreds at once). Like HAProxy, the proxy reads the response to its end, discards it and
// keeps the connection, as long as what is left is small (MaxDrainBody) and keeps coming (ResponseTimeout per read).
// Two moments: before the response head (the client's FIN seen while waiting, DiscardResponseAsync), and inside the
// body (the client's socket failed under a write, DiscardRestOfBodyAsync), where the bound counts from that point. A
// spliced body counts from the last byte delivered to the client: bytes the splice had taken into its kernel pipe are
// part of the rest, read already and dropped with the pipe (BoundedSplice gives the backend back with what is left).
public sealed partial class HttpExchangeForwarder
{
    /// <summary>
    /// Reads the response to the request just sent and discards it; true when it ended within the byte bound and the
    /// server keeps the connection alive, so the connection is clean for another request. Runs after the client left,
    /// with the backend's input advanced to the start of the response.
    /// </summary>
    [AsyncMethodBuilder(typeof(WorkerPoolingValueTaskMethodBuilder<>))]
    private async ValueTask<bool> DiscardResponseAsync(PipeReader input)
    {
        long budget = _options.MaxDrainBody;
        try
        {
            while (true)
            {
                var result = await ReadBackendAsync(input).ConfigureAwait(false);
                var buffer = result.Buffer;
                var responseHead = ResponseHeadFor();
                var status = responseHead.TryParse(s_responses, buffer, Scratch, _request.Method, out HttpResponseHead head);
                if (status == HttpParseStatus.NeedMoreData)
                {
                    input.AdvanceTo(buffer.Start, buffer.End);
                    if (result.IsCompleted || buffer.Length > budget)
                    {
                        return false;
                    }

                    continue; // a read cancelled by the client's leaving, or by a graceful shutdown: the response is still read
                }

                if (status == HttpParseStatus.Error || responseHead.Error is not null || head.StatusCode == 101)
                {
                    input.AdvanceTo(buffer.Start);
                    return false;
                }

                long headLength = buffer.Slice(0, head.Consumed).Length;
                _bytesFromBackend += headLength;
                budget -= headLength;
                if (budget < 0)
                {
                    input.AdvanceTo(head.Consumed);
                    return false;
                }

                if (head.IsInterim)
                {
                    input.AdvanceTo(head.Consumed);
                    continue;
                }

                var framing = head.Framing;
                bool keepAlive = head.KeepAlive;
                long length = head.ContentLength;
                input.AdvanceTo(head.Consumed);
                switch (framing)
                {
                    case HttpBodyFraming.None:
                        return keepAlive;
                    case HttpBodyFraming.ContentLength when length <= budget:
                        return keepAlive && await DiscardBodyAsync(input, framing, length).ConfigureAwait(false);
                    case HttpBodyFraming.Chunked:
                        Chunks.Reset();
                        return keepAlive && await DiscardBodyAsync(input, framing, budget).ConfigureAwait(false);
                    default:
                        return false; // larger than the bound, or delimited by the close
                }
            }
        }
        catch (Exception ex) when (ex is TimeoutException or IOException)
        {
            return false;
        }
    }

    /// <summary>
    /// Discards a Content-Length body of <paramref name="limit"/> bytes, or a chunked body of at most
    /// <paramref name="limit"/> bytes on the wire; true when it ended whole.
    /// </summary>
    /// <remarks>A chunked body is decoded from where <see cref="Chunks"/> stands: reset it before a body's first byte.</remarks>
    [AsyncMethodBuilder(typeof(WorkerPoolingValueTaskMethodBuilder<>))]
    private async ValueTask<bool> DiscardBodyAsync(PipeReader input, HttpBodyFraming framing, long limit)
    {
        var chunks = Chunks;
        long remaining = limit;
        while (true)
        {
            var result = await ReadBackendAsync(input).ConfigureAwait(false);
            var buffer = result.Buffer;
            bool complete;
            if (framing == HttpBodyFraming.ContentLength)
            {
                long take = Math.Min(remaining, buffer.Length);
                buffer = buffer.Slice(take);
                remaining -= take;
                _bytesFromBackend += take;
                complete = remaining == 0;
            }
            else
            {
                long before = buffer.Length;
                complete = SkipChunks(chunks, ref buffer, out bool invalid);
                long taken = before - buffer.Length;
                _bytesFromBackend += taken;
                remaining -= taken;
                if (invalid || remaining < 0)
                {
                    input.AdvanceTo(buffer.Start);
                    return false;
                }
            }

            if (complete)
            {
                // Whatever follows would be bytes the server sent unasked: the pool's idle probe sees them and closes.
                input.AdvanceTo(buffer.Start);
                return true;
            }

            input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                return false;
            }
        }
    }

    /// <summary>
    /// The client's side of a response body closed under the forwarder (the flush found it gone): the rest of the body,
    /// <paramref name="remaining"/> bytes of a Content-Length body or the chunks after those already forwarded, is read
    /// and discarded when it fits <see cref="HttpForwarderOptions.MaxDrainBody"/> counted from here, so that the backend
    /// connection ends at a message boundary. A Content-Length above the bound is known at once and not read.
    /// </summary>
    [AsyncMethodBuilder(typeof(WorkerPoolingValueTaskMethodBuilder<>))]
    private async ValueTask<BodyEnd> DiscardRestOfBodyAsync(PipeReader input, HttpBodyFraming framing, long remaining)
    {
        long budget = _options.MaxDrainBody;
        long limit = framing switch
        {
            HttpBodyFraming.ContentLength when remaining <= budget => remaining,
            HttpBodyFraming.Chunked => budget,
            _ => 0, // larger than the bound, or delimited by the close: nothing to keep
        };
        if (limit <= 0)
        {
            return BodyEnd.DestinationClosed;
        }

        try
        {
            return await DiscardBodyAsync(input, framing, limit).ConfigureAwait(false) ? BodyEnd.DestinationClosedDrained : BodyEnd.DestinationClosed;
        }
        catch (Exception ex) when (ex is TimeoutException or IOException)
        {
            return BodyEnd.DestinationClosed;
        }
    }

    /// <summary>Decodes and drops the chunks at the start of <paramref name="buffer"/>; true at the last chunk and its trailers.</summary>
    private static bool SkipChunks(ChunkedBodyDecoder decoder, ref ReadOnlySequence<byte> buffer, out bool invalid)
    {
        invalid = false;
        while (true)
        {
            var status = decoder.Decode(buffer, out _, out var consumed);
            buffer = buffer.Slice(consumed);
            switch (status)
            {
                case ChunkedBodyStatus.Data:
                    break;
                case ChunkedBodyStatus.Complete:
                    return true;
                case ChunkedBodyStatus.Error:
                    invalid = true;
                    return false;
                default:
                    return false;
            }
        }
    }
}
