namespace Fastsock.Transport;

/// <summary>Settings of one forward (see <see cref="ConnectionForwarder"/>).</summary>
public sealed class ForwardingOptions
{
    internal static readonly ForwardingOptions Default = new();

    /// <summary>
    /// Kernel pipe size per direction for splice (F_SETPIPE_SZ), 4 KiB to 1 MiB; the kernel rounds it up to a power of
    /// two pages and keeps its default (64 KiB) when the user's pipe quota is spent. Default 256 KiB.
    /// </summary>
    public int PipeSize { get; set; } = 256 * 1024;

    /// <summary>Bytes one direction moves before the worker serves its other connections. Default 1 MiB.</summary>
    public int TurnBudget { get; set; } = 1024 * 1024;

    /// <summary>
    /// When no byte moves either way for this long, the forward ends: both connections are aborted and the result's
    /// <see cref="ForwardResult.Error"/> is a <see cref="TimeoutException"/> (HAProxy's <c>timeout tunnel</c>). While
    /// the forward runs, this bound replaces the connections' own idle timeouts. Checked on the worker's timer wheel
    /// (50 ms grain); it applies to socket connections (TLS ones included), and is ignored for others. Default
    /// <see cref="Timeout.InfiniteTimeSpan"/>: no bound of the forward's own, the connections' idle timeouts apply.
    /// </summary>
    public TimeSpan IdleTimeout { get; set; } = Timeout.InfiniteTimeSpan;

    /// <summary>
    /// How long a side may take to read what was queued for it after the other side failed, before it is reset anyway
    /// (<see cref="Forwarding.QueuedOutputDelivery"/>). Tests only lengthen it: a forward that then ends at once shows the
    /// wait ended for a reason of its own (the peer reset), not because it ran out.
    /// </summary>
    internal TimeSpan QueuedOutputTimeout { get; set; } = Forwarding.QueuedOutputDelivery.Timeout;

    /// <summary>Tests only: behave as if the kernel refused splice on these sockets (exercises the fallback to copy).</summary>
    internal bool SimulateSpliceUnsupported { get; set; }

    internal void Validate()
    {
        if (PipeSize is < 4096 or > 1024 * 1024)
        {
            throw new ArgumentOutOfRangeException(nameof(PipeSize), PipeSize, "Use a pipe size from 4096 to 1048576 bytes.");
        }

        if (IdleTimeout <= TimeSpan.Zero && IdleTimeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(IdleTimeout), IdleTimeout, "Use a positive idle timeout, or Timeout.InfiniteTimeSpan for none.");
        }

        if (TurnBudget < 4096)
        {
            throw new ArgumentOutOfRangeException(nameof(TurnBudget), TurnBudget, "Use a turn budget of at least 4096 bytes.");
        }
    }
}
