namespace Fastsock.Locality;

/// <summary>How new connections are spread over the workers' listeners.</summary>
public enum ListenerSteering
{
    /// <summary>
    /// One SO_REUSEPORT listener per worker and a BPF program that hands each connection to the worker on the CPU
    /// that processed its SYN: the connection stays on that core from the first packet.
    /// </summary>
    Cpu,

    /// <summary>One SO_REUSEPORT listener per worker, picked by the kernel's flow hash (no locality).</summary>
    Hash,

    /// <summary>One listener shared by every worker (EPOLLEXCLUSIVE), the classic pre-reuseport model, for comparison.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1720", Justification = "'single' is the mode's name on the command line.")]
    Single,
}
