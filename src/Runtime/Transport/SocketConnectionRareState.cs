using System.Net;

namespace Fastsock.Transport;

/// <summary>
/// What a <see cref="SocketConnection"/> needs only when asked: end points turned into objects, an IPv6 peer's address, the cancellation
/// sources of ConnectionClosed and InputEnded, the continuation of a flush held back by backpressure. Made on first
/// use and kept with the pooled connection, so a keep-alive connection whose handler never asks holds none of it.
/// </summary>
internal sealed class SocketConnectionRareState
{
    public IPEndPoint? RemoteEndPoint;

    /// <summary>The peer's whole address when it is not IPv4 (which the connection keeps inline).</summary>
    public Native.RawSocketAddress RemoteAddress;
    public IPEndPoint? LocalEndPoint;
    public CancellationTokenSource? ClosedSource;
    public CancellationTokenSource? InputEndedSource;

    /// <summary>Bound to its connection, so it survives <see cref="Reset"/>.</summary>
    public Action? OnInputFlushed;

    /// <summary>Forgets what belonged to the previous connection on this pooled object.</summary>
    public void Reset()
    {
        RemoteEndPoint = null;
        LocalEndPoint = null;
        ClosedSource = null;
        InputEndedSource = null;
    }
}
