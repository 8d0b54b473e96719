using System.Buffers;
using System.IO.Pipelines;
using Fastsock.Engine;

namespace Fastsock.Transport.Forwarding;

/// <summary>
/// Forwards through user space: each side's input pipe is copied into the other side's output pipe, one read and one
/// flush per chunk the transport delivers, no allocation per chunk. A FIN (input completed) completes the other
/// output (the transport sends what is left, then FIN) while the other direction goes on; an error or a side that
/// can no longer take bytes aborts both connections.
/// </summary>
internal static class CopyForwarder
{
    public static async Task<ForwardResult> RunAsync(Connection first, Connection second, Worker? worker)
    {
        var toSecond = CopyAsync(first, second, worker);
        var toFirst = CopyAsync(second, first, worker);
        var (sentToSecond, errorToSecond) = await toSecond.ConfigureAwait(false);
        var (sentToFirst, errorToFirst) = await toFirst.ConfigureAwait(false);
        return new ForwardResult(sentToSecond, sentToFirst, ForwardingMode.Copy, errorToSecond ?? errorToFirst);
    }

    private static async Task<(long Bytes, Exception? Error)> CopyAsync(Connection from, Connection to, Worker? worker)
    {
        var input = from.Transport.Input;
        var output = to.Transport.Output;
        long total = 0;
        try
        {
            while (true)
            {
                var result = await input.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                long length = buffer.Length;
                foreach (var segment in buffer)
                {
                    output.Write(segment.Span);
                }

                input.AdvanceTo(buffer.End);
                if (length > 0)
                {
                    total += length;
                    if (worker is not null && worker.IsCurrentThread)
                    {
                        worker.Counters.BytesCopied += length;
                    }

                    var flush = await output.FlushAsync().ConfigureAwait(false);
                    if (flush.IsCompleted)
                    {
                        // The other side is gone: what this side still sends has nowhere to go.
                        throw new ConnectionResetException("The other connection of the forward closed while bytes were still coming.");
                    }
                }

                // IsCanceled (graceful shutdown) is not an end: a tunnel has no request boundary to stop at.
                if (result.IsCompleted)
                {
                    break;
                }
            }

            input.Complete();
            output.Complete(); // the transport sends the rest, then FIN; the other direction goes on
            return (total, null);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            to.Abort();
            from.Abort();
            input.Complete();
            output.Complete();
            return (total, ex);
        }
    }
}
