using System.Buffers;
using System.IO.Pipelines;
using Fastsock.Engine;
using Fastsock.Transport.Tls;

namespace Fastsock.Transport.Forwarding;

/// <summary>
/// Forwards through user space: each side's input pipe is copied into the other side's output pipe, one read and one
/// flush per chunk the transport delivers, no allocation per chunk. A FIN (input completed) completes the other
/// output (the transport sends what is left, then FIN) while the other direction goes on. A side whose read fails (a
/// reset, a bad TLS record) fails only after its input pipe handed over every byte received before the failure (the
/// worker pipe's rule), so those are forwarded too; it is then aborted at once, and the other side is reset once every
/// byte forwarded to it has reached its peer (<see cref="QueuedOutputDelivery"/>): a reset throws away what is still
/// queued, and those bytes were good. A side that can no longer take bytes aborts both connections at once.
/// </summary>
internal sealed class CopyForwarder
{
    private readonly Worker? _worker;
    private readonly TimeSpan _queuedOutputTimeout;
    private bool _failed;
    private Connection? _delivering; // reset by the direction that failed once its queued bytes are out; no one else aborts it

    private CopyForwarder(Worker? worker, TimeSpan queuedOutputTimeout)
    {
        _worker = worker;
        _queuedOutputTimeout = queuedOutputTimeout;
    }

    public static async Task<ForwardResult> RunAsync(Connection first, Connection second, Worker? worker, ForwardingOptions options)
    {
        var forward = new CopyForwarder(worker, options.QueuedOutputTimeout);
        var toSecond = forward.CopyAsync(first, second);
        var toFirst = forward.CopyAsync(second, first);
        var (sentToSecond, errorToSecond) = await toSecond.ConfigureAwait(false);
        var (sentToFirst, errorToFirst) = await toFirst.ConfigureAwait(false);
        return new ForwardResult(sentToSecond, sentToFirst, ForwardingMode.Copy, errorToSecond ?? errorToFirst);
    }

    private async Task<(long Bytes, Exception? Error)> CopyAsync(Connection from, Connection to)
    {
        var input = from.Transport.Input;
        var output = to.Transport.Output;
        long total = 0;
        bool reading = false;
        try
        {
            while (true)
            {
                reading = true;
                var result = await input.ReadAsync().ConfigureAwait(false);
                reading = false;
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
                    if (_worker is not null && _worker.IsCurrentThread)
                    {
                        _worker.Counters.BytesCopied += length;
                    }

                    var flush = await output.FlushAsync().ConfigureAwait(false);
                    if (flush.IsCompleted)
                    {
                        // The other side is gone: what this side still sends has nowhere to go.
                        throw new ConnectionResetException("The other connection of the forward closed while bytes were still coming.");
                    }
                }

                // IsCanceled (graceful shutdown) is not an end: a tunnel has no request boundary to stop at. Unless the
                // other direction failed: it stopped this read, whose bytes would go to a connection it aborted.
                if (result.IsCompleted || (result.IsCanceled && _failed))
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
            if (reading && !_failed)
            {
                _failed = true;
                await DeliverThenResetAsync(from, to).ConfigureAwait(false);
                return (total, ex);
            }

            _failed = true;
            AbortUnlessDelivering(to);
            AbortUnlessDelivering(from);
            input.Complete();
            output.Complete();
            return (total, ex);
        }
    }

    /// <summary>
    /// The first failure of the forward, a read from <paramref name="from"/>: it is aborted, the other direction is
    /// stopped (what it reads from <paramref name="to"/> has nowhere to go), and <paramref name="to"/> is reset once
    /// the bytes already forwarded to it have reached its peer, so that it gets all of them and can tell the stream was
    /// cut. Every byte read before the failure was flushed to <paramref name="to"/> before the read that failed.
    /// </summary>
    private async Task DeliverThenResetAsync(Connection from, Connection to)
    {
        _delivering = to;
        from.Abort();
        from.Transport.Input.Complete();
        to.Transport.Input.CancelPendingRead();
        await QueuedOutputDelivery.WaitAsync(_worker, to, _queuedOutputTimeout).ConfigureAwait(false);
        if (_worker is not null)
        {
            await new WorkerHop(_worker); // where the wait ends already; the pipes below refuse any other thread
        }

        to.Abort();
        to.Transport.Output.Complete();
    }

    private void AbortUnlessDelivering(Connection connection)
    {
        if (!ReferenceEquals(connection, _delivering))
        {
            connection.Abort();
        }
    }
}
