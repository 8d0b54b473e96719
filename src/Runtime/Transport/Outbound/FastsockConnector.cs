using System.Net;
using System.Net.Sockets;

namespace Fastsock.Transport;

/// <summary>
/// Opens outbound connections that stay on the calling worker's core: the worker's epoll drives the connect, the
/// source port follows <see cref="OutboundOptions.Strategy"/>, and the connection belongs to that worker.
/// </summary>
public static class FastsockConnector
{
    /// <summary>
    /// Connects to <paramref name="remote"/> from the worker running the caller (a connection handler or its
    /// continuations). The connection stays open until the caller has completed both ends of its
    /// <see cref="Connection.Transport"/> (also after <see cref="Connection.Abort"/>).
    /// </summary>
    /// <exception cref="InvalidOperationException">Called off a worker thread.</exception>
    /// <exception cref="Native.NativeCallException">The connect failed (ECONNREFUSED, ENETUNREACH…, or EADDRNOTAVAIL: no local port left).</exception>
    /// <remarks>
    /// <paramref name="remote"/> is an <see cref="IPEndPoint"/> or a <see cref="UnixDomainSocketEndPoint"/> (a local
    /// backend over AF_UNIX: no source-port choice, and <see cref="Connection.IncomingCpu"/> stays -1).
    /// </remarks>
    /// <exception cref="TimeoutException">No answer within <see cref="OutboundOptions.ConnectTimeout"/>.</exception>
    public static Task<Connection> ConnectAsync(EndPoint remote, CancellationToken cancellationToken = default)
    {
        var endPoint = AsConnectable(remote);
        var connector = WorkerConnector.Current ?? throw new InvalidOperationException(
            $"FastsockConnector.ConnectAsync({remote}) was called off a Fastsock worker thread; call it from a connection handler, or use FastsockServer.ConnectAsync(worker, …).");
        return connector.ConnectAsync(endPoint, cancellationToken);
    }

    /// <summary>An <see cref="IPEndPoint"/> or a <see cref="UnixDomainSocketEndPoint"/>; names must be resolved first.</summary>
    internal static EndPoint AsConnectable(EndPoint remote)
    {
        ArgumentNullException.ThrowIfNull(remote);
        return remote is IPEndPoint or UnixDomainSocketEndPoint ? remote : throw new ArgumentException(
            $"Remote endpoint {remote} is neither an IP endpoint nor a unix socket; resolve names first (e.g. Dns.GetHostAddressesAsync) and pass an IPEndPoint.", nameof(remote));
    }
}
