using System.Net;
using System.Net.Sockets;

namespace Fastsock.Tests.Support;

/// <summary>A bound, non-listening loopback socket: its port exists, is ours, and refuses every connection.</summary>
internal sealed class RefusingPort : IDisposable
{
    private readonly Socket _socket = new(SocketType.Stream, ProtocolType.Tcp);

    public RefusingPort()
    {
        // No SO_REUSEADDR: a peer that sets it could otherwise share the port with a socket that is not listening.
        _socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, false);
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        // The socket is dual-mode, so LocalEndPoint reads [::ffff:127.0.0.1]; name it as clients and configs write it.
        EndPoint = new IPEndPoint(IPAddress.Loopback, ((IPEndPoint)_socket.LocalEndPoint!).Port);
    }

    public IPEndPoint EndPoint { get; }

    public int Port => EndPoint.Port;

    /// <summary>"127.0.0.1:PORT", as configs write server addresses.</summary>
    public override string ToString() => EndPoint.ToString();

    public void Dispose() => _socket.Dispose();
}
