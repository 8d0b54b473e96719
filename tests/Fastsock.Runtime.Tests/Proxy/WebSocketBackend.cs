using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// A WebSocket backend on raw sockets: the RFC 6455 handshake read and answered here, then the framework's own
/// WebSocket (<see cref="WebSocket.CreateFromStream(Stream, bool, string?, TimeSpan)"/>) speaks the protocol.
/// <c>/echo</c> sends each message back with its type until the client closes; <c>/server-closes</c> sends "bye" and
/// closes itself; <c>/plain</c> answers 200 with the Upgrade and Connection fields it received (so a test sees what
/// the proxy forwarded), keep-alive; any other path is 404. Keeps serving HTTP on a connection until it upgrades.
/// </summary>
internal sealed class WebSocketBackend : IAsyncDisposable
{
    private readonly Socket _listener = new(SocketType.Stream, ProtocolType.Tcp);
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly List<(Socket Socket, Task Session)> _sessions = [];
    private readonly Task _acceptLoop;
    private int _upgrades;

    public WebSocketBackend()
    {
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(64);
        _acceptLoop = AcceptLoopAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

    /// <summary>WebSocket sessions accepted so far.</summary>
    public int Upgrades => Volatile.Read(ref _upgrades);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        (Socket Socket, Task Session)[] sessions;
        lock (_gate)
        {
            sessions = [.. _sessions];
        }

        foreach (var (socket, _) in sessions)
        {
            socket.Dispose();
        }

        await Task.WhenAll(sessions.Select(s => s.Session).Append(_acceptLoop)).WaitAsync(TimeSpan.FromSeconds(10));
        _stop.Dispose();
    }

    /// <summary>A whole message from <paramref name="socket"/>: its type and bytes.</summary>
    public static async Task<(WebSocketMessageType Type, byte[] Bytes)> ReceiveMessageAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        using var message = new MemoryStream();
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var received = await socket.ReceiveAsync(buffer, cancellationToken);
            message.Write(buffer, 0, received.Count);
            if (received.EndOfMessage)
            {
                return (received.MessageType, message.ToArray());
            }
        }
    }

    public static string Text(byte[] bytes) => Encoding.UTF8.GetString(bytes);

    private async Task AcceptLoopAsync()
    {
        while (true)
        {
            Socket accepted;
            try
            {
                accepted = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            lock (_gate)
            {
                _sessions.Add((accepted, Task.Run(() => ServeAsync(accepted))));
            }
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        try
        {
            using var stream = new NetworkStream(socket, ownsSocket: true);
            while (await ReadHeadAsync(stream) is { } head)
            {
                string target = head.Split(' ', 3)[1];
                string upgrade = Field(head, "Upgrade");
                string connection = Field(head, "Connection");
                if (target is "/echo" or "/server-closes" && upgrade.Equals("websocket", StringComparison.OrdinalIgnoreCase))
                {
#pragma warning disable CA5350 // RFC 6455 §4.2.2 names SHA-1 for Sec-WebSocket-Accept; it protects nothing
                    string accept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(Field(head, "Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
#pragma warning restore CA5350
                    await stream.WriteAsync(Encoding.ASCII.GetBytes(
                        $"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"));
                    Interlocked.Increment(ref _upgrades);
                    using var webSocket = WebSocket.CreateFromStream(stream, isServer: true, subProtocol: null, keepAliveInterval: TimeSpan.Zero);
                    await (target == "/echo" ? EchoAsync(webSocket) : SayByeAsync(webSocket));
                    return;
                }

                string body = target == "/plain" ? $"upgrade={upgrade}|connection={connection}" : "not here";
                int status = target == "/plain" ? 200 : 404;
                await stream.WriteAsync(Encoding.ASCII.GetBytes(
                    $"HTTP/1.1 {status} {(status == 200 ? "OK" : "Not Found")}\r\nContent-Length: {body.Length}\r\n\r\n{body}"));
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or WebSocketException or OperationCanceledException)
        {
            // The proxy or the test went away.
        }
    }

    private static async Task EchoAsync(WebSocket socket)
    {
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var received = await socket.ReceiveAsync(buffer, CancellationToken.None);
            if (received.MessageType == WebSocketMessageType.Close)
            {
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, socket.CloseStatusDescription, CancellationToken.None);
                return;
            }

            await socket.SendAsync(buffer.AsMemory(0, received.Count), received.MessageType, received.EndOfMessage, CancellationToken.None);
        }
    }

    private static async Task SayByeAsync(WebSocket socket)
    {
        await socket.SendAsync("bye"u8.ToArray(), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "server done", CancellationToken.None);
    }

    /// <summary>A request head (up to its empty line, read byte by byte so that nothing after it is taken); null at the end.</summary>
    private static async Task<string?> ReadHeadAsync(Stream stream)
    {
        var head = new StringBuilder();
        var one = new byte[1];
        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            if (await stream.ReadAsync(one) == 0)
            {
                return null;
            }

            head.Append((char)one[0]);
        }

        return head.ToString();
    }

    private static string Field(string head, string name)
    {
        foreach (var line in head.Split("\r\n"))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && line.AsSpan(0, colon).Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return line[(colon + 1)..].Trim();
            }
        }

        return "";
    }
}
