namespace Fastsock.Transport;

/// <summary>How an outbound connection's local port is chosen.</summary>
public enum SourcePortStrategy
{
    /// <summary>The kernel chooses; the reply may land on any CPU. The baseline to compare against.</summary>
    Kernel,

    /// <summary>
    /// Fastsocket's Receive Flow Deliver: the port's low bits are the worker index (mod the worker count rounded up to
    /// a power of two); <c>ethtool -N</c> rules (printed by the samples' <c>--print-ntuple-rules</c>) steer those
    /// ports to the worker's queue.
    /// </summary>
    Modulo,

    /// <summary>
    /// The port whose reply the NIC's RSS (Toeplitz hash, its key and indirection table) delivers to a queue served by
    /// this worker's CPU. Falls back to <see cref="Kernel"/>, logged once, when the topology cannot be read.
    /// </summary>
    Rss,
}
