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

    internal void Validate()
    {
        if (PipeSize is < 4096 or > 1024 * 1024)
        {
            throw new ArgumentOutOfRangeException(nameof(PipeSize), PipeSize, "Use a pipe size from 4096 to 1048576 bytes.");
        }

        if (TurnBudget < 4096)
        {
            throw new ArgumentOutOfRangeException(nameof(TurnBudget), TurnBudget, "Use a turn budget of at least 4096 bytes.");
        }
    }
}
