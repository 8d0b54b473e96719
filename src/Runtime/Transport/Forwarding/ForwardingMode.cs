namespace Fastsock.Transport;

/// <summary>How <see cref="ConnectionForwarder"/> moves bytes between two connections.</summary>
public enum ForwardingMode
{
    /// <summary>Splice when both ends are sockets on this worker and the kernel supports it, copy otherwise.</summary>
    Auto,

    /// <summary>Through user space: each side's input pipe is copied into the other side's output pipe.</summary>
    Copy,

    /// <summary>
    /// <c>splice(2)</c> socket → kernel pipe → socket, bytes never reach user space. Falls back to
    /// <see cref="Copy"/> when an end is not a socket of this worker or the kernel refuses splice.
    /// </summary>
    Splice,
}
