using System.Net;
using System.Net.Sockets;
using System.Text;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Discovery;

/// <summary>
/// Tiny HTTP/1.1 servers on several loopback addresses (127.0.0.2, .3, ...) and one port, as a DNS name with several A
/// records sees them: each answers every request with its own address and counts the requests it served.
/// </summary>
internal sealed class IdentityBackends : IAsyncDisposable
{
    private const int Attempts = 5;

    private readonly Socket[] _listeners;
    private readonly int[] _served;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _tasks = [];
    private readonly Lock _gate = new();

    private IdentityBackends(IPAddress[] addresses, Socket[] listeners)
    {
        Addresses = addresses;
        _listeners = listeners;
        _served = new int[addresses.Length];
        Port = ((IPEndPoint)listeners[0].LocalEndPoint!).Port;
        for (int i = 0; i < listeners.Length; i++)
        {
            int index = i;
            lock (_gate)
            {
                _tasks.Add(Task.Run(() => AcceptLoopAsync(index)));
            }
        }
    }

    public IReadOnlyList<IPAddress> Addresses { get; }

    public int Port { get; }

    /// <summary>Listens on <paramref name="addresses"/>, all on one port (a port free on the first one and, after a retry or two, on all).</summary>
    public static IdentityBackends Start(params string[] addresses)
    {
        var parsed = addresses.Select(IPAddress.Parse).ToArray();
        for (int attempt = 1; ; attempt++)
        {
            var listeners = new List<Socket>();
            try
            {
                int port = 0;
                foreach (var address in parsed)
                {
                    var listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                    listeners.Add(listener);
                    listener.Bind(new IPEndPoint(address, port));
                    listener.Listen(128);
                    port = ((IPEndPoint)listener.LocalEndPoint!).Port;
                }

                return new IdentityBackends(parsed, [.. listeners]);
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse && attempt < Attempts)
            {
                listeners.ForEach(l => l.Dispose());
            }
        }
    }

    /// <summary>Requests served so far by the backend on <paramref name="address"/>.</summary>
    public int Served(string address) => Volatile.Read(ref _served[Array.IndexOf([.. Addresses], IPAddress.Parse(address))]);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        foreach (var listener in _listeners)
        {
            listener.Dispose();
        }

        Task[] tasks;
        lock (_gate)
        {
            tasks = [.. _tasks];
        }

        await Task.WhenAll(tasks).WaitAsync(Clients.Timeout);
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync(int index)
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket connection;
            try
            {
                connection = await _listeners[index].AcceptAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            lock (_gate)
            {
                _tasks.Add(ServeAsync(index, connection));
            }
        }
    }

    private async Task ServeAsync(int index, Socket connection)
    {
        var body = Encoding.ASCII.GetBytes(Addresses[index].ToString());
        var response = Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {body.Length}\r\n\r\n").Concat(body).ToArray();
        var buffer = new byte[4096];
        int filled = 0;
        using (connection)
        {
            try
            {
                while (true)
                {
                    int read = await connection.ReceiveAsync(buffer.AsMemory(filled), _stop.Token);
                    if (read == 0)
                    {
                        return;
                    }

                    filled += read;
                    // Requests without bodies (GET): each ends at an empty line.
                    int end;
                    while ((end = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8)) >= 0)
                    {
                        Interlocked.Increment(ref _served[index]);
                        await connection.SendAsync(response, _stop.Token);
                        int rest = filled - (end + 4);
                        buffer.AsSpan(end + 4, rest).CopyTo(buffer);
                        filled = rest;
                    }
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }
        }
    }
}
