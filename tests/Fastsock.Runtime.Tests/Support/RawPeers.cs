using System.Net;
using System.Net.Sockets;

namespace Fastsock.Tests.Support;

/// <summary>
/// Plain-socket peers for the proxy and connector tests: an echo server on any endpoint (TCP or AF_UNIX), and a sink
/// that records every byte of each connection until the peer half-closes.
/// </summary>
internal sealed class RawPeer : IDisposable
{
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task<byte[]>> _connections = [];
    private readonly Lock _gate = new();
    private readonly Task _acceptLoop;

    private RawPeer(Socket listener, bool echo)
    {
        _listener = listener;
        _acceptLoop = AcceptLoopAsync(echo);
    }

    public EndPoint EndPoint => _listener.LocalEndPoint!;

    /// <summary>An echo server: what a connection sends comes back, its FIN answered with one.</summary>
    public static RawPeer Echo(EndPoint endPoint) => Start(endPoint, echo: true);

    /// <summary>Records what each connection sends until its FIN, then closes it.</summary>
    public static RawPeer Sink(EndPoint endPoint) => Start(endPoint, echo: false);

    public int ConnectionCount
    {
        get
        {
            lock (_gate)
            {
                return _connections.Count;
            }
        }
    }

    /// <summary>Every byte connection <paramref name="index"/> sent, once it half-closed.</summary>
    public async Task<byte[]> ReceivedAsync(int index)
    {
        await Eventually.HoldsAsync(() => ConnectionCount > index);
        Task<byte[]> connection;
        lock (_gate)
        {
            Assert.True(_connections.Count > index, $"the peer accepted {_connections.Count} connection(s), expected more than {index}");
            connection = _connections[index];
        }

        return await connection.WaitAsync(Clients.Timeout);
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
        try
        {
            _acceptLoop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }

        _stop.Dispose();
    }

    private static RawPeer Start(EndPoint endPoint, bool echo)
    {
        var protocol = endPoint is UnixDomainSocketEndPoint ? ProtocolType.Unspecified : ProtocolType.Tcp;
        var listener = new Socket(endPoint.AddressFamily, SocketType.Stream, protocol);
        listener.Bind(endPoint);
        listener.Listen(64);
        return new RawPeer(listener, echo);
    }

    private async Task AcceptLoopAsync(bool echo)
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            lock (_gate)
            {
                _connections.Add(Task.Run(() => ServeAsync(socket, echo)));
            }
        }
    }

    private static async Task<byte[]> ServeAsync(Socket socket, bool echo)
    {
        using (socket)
        {
            var received = new MemoryStream();
            var buffer = new byte[64 * 1024];
            while (true)
            {
                int read = await socket.ReceiveAsync(buffer, SocketFlags.None);
                if (read == 0)
                {
                    break;
                }

                received.Write(buffer, 0, read);
                if (echo)
                {
                    await socket.SendAsync(buffer.AsMemory(0, read), SocketFlags.None);
                }
            }

            socket.Shutdown(SocketShutdown.Send);
            return received.ToArray();
        }
    }
}
