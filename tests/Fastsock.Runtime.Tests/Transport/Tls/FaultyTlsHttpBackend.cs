using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Transport.Tls;

/// <summary>
/// A TLS backend for the client layer and the proxy: a <see cref="TcpListener"/> whose connections run SslStream over
/// a <see cref="RecordFaultStream"/>, and answer HTTP/1.1 requests (keep-alive) by path, after a good handshake:
/// <list type="bullet">
/// <item><c>/ok</c>: 200 with the body <c>ok</c>.</item>
/// <item><c>/records/COUNT/SIZE</c>: 200 with a body of COUNT records of SIZE bytes of <see cref="BodyByte"/>, the head and
/// all of them written in one send.</item>
/// <item><c>/bad-head</c>: the response head in one record whose authentication tag is corrupted.</item>
/// <item><c>/bad-body/TOTAL/SENT</c>: a 200 head for TOTAL bytes of <see cref="BodyByte"/>, SENT of them in good records, then a corrupted record.</item>
/// <item><c>/cut-body/TOTAL/SENT</c>: the same, then half of the next record and a FIN.</item>
/// <item><c>/burst-body/TOTAL/SENT</c>: the same as <c>/bad-body</c> in records of <see cref="BurstRecordSize"/>, the head,
/// the good records and the corrupted one written in one send, so that they reach the peer in one segment.</item>
/// </list>
/// After a fault it reads until the peer closes the connection, and counts that in <see cref="ClosedByPeer"/>.
/// </summary>
internal sealed class FaultyTlsHttpBackend : IAsyncDisposable
{
    private const int RecordSize = 16 * 1024;

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly X509Certificate2 _certificate;
    private readonly SslProtocols _protocols;
    private readonly Task _accepting;
    private readonly List<(Socket Socket, Task Serving)> _connections = [];
    private int _handshakes;
    private int _faults;
    private int _closedByPeer;

    /// <param name="certificate">The server's certificate.</param>
    /// <param name="protocols">The TLS versions it accepts.</param>
    /// <param name="sendBufferSize">
    /// SO_SNDBUF of its connections when positive: room for a whole answer, so that it gets to its fault while the peer
    /// reads nothing.
    /// </param>
    public FaultyTlsHttpBackend(X509Certificate2 certificate, SslProtocols protocols = SslProtocols.Tls12 | SslProtocols.Tls13, int sendBufferSize = 0)
    {
        _certificate = certificate;
        _protocols = protocols;
        if (sendBufferSize > 0)
        {
            _listener.Server.SendBufferSize = sendBufferSize; // accepted sockets inherit it
        }

        _listener.Start();
        _accepting = AcceptAsync();
    }

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>Connections whose TLS handshake completed.</summary>
    public int Handshakes => Volatile.Read(ref _handshakes);

    /// <summary>Faults sent (a corrupted or a cut record).</summary>
    public int Faults => Volatile.Read(ref _faults);

    /// <summary>Connections with a fault that the peer then closed (a FIN or a reset reached this side).</summary>
    public int ClosedByPeer => Volatile.Read(ref _closedByPeer);

    /// <summary>The size of a body record in a <c>/burst-body</c> answer: small, so that a burst of them fits one segment.</summary>
    public const int BurstRecordSize = 1_000;

    /// <summary>The byte at <paramref name="offset"/> of every body this backend sends.</summary>
    public static byte BodyByte(long offset) => (byte)('a' + (offset % 26));

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        await _accepting.ConfigureAwait(false);
        (Socket Socket, Task Serving)[] connections;
        lock (_connections)
        {
            connections = [.. _connections];
        }

        // Connections a peer still holds (a pooled one, say) end here: their reads fail and their tasks complete.
        foreach (var (socket, _) in connections)
        {
            socket.Dispose();
        }

        await Task.WhenAll(connections.Select(c => c.Serving)).WaitAsync(Clients.Timeout).ConfigureAwait(false);
    }

    private async Task AcceptAsync()
    {
        while (true)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                return; // stopped
            }

            lock (_connections)
            {
                _connections.Add((socket, ServeAsync(socket)));
            }
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        using var owned = socket;
        var faults = new RecordFaultStream(socket);
        await using var ssl = new SslStream(faults, leaveInnerStreamOpen: true);
        try
        {
            await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = _certificate, EnabledSslProtocols = _protocols })
                .WaitAsync(Clients.Timeout).ConfigureAwait(false);
            Interlocked.Increment(ref _handshakes);
            while (await ReadHeadAsync(ssl).ConfigureAwait(false) is { } path)
            {
                if (!await AnswerAsync(ssl, faults, path).ConfigureAwait(false))
                {
                    Interlocked.Increment(ref _faults);
                    await WaitForPeerCloseAsync(socket).ConfigureAwait(false);
                    Interlocked.Increment(ref _closedByPeer);
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or AuthenticationException or SocketException or TimeoutException or ObjectDisposedException)
        {
            // A peer that left or failed the handshake: nothing to serve.
        }
    }

    /// <summary>The path of the next request (heads only, no bodies); null when the peer closed.</summary>
    private static async Task<string?> ReadHeadAsync(SslStream ssl)
    {
        var head = new List<byte>();
        var one = new byte[1];
        while (head.Count < 4 || !(head[^4] == '\r' && head[^3] == '\n' && head[^2] == '\r' && head[^1] == '\n'))
        {
            if (await ssl.ReadAsync(one).ConfigureAwait(false) == 0)
            {
                return null;
            }

            head.Add(one[0]);
        }

        string line = Encoding.ASCII.GetString([.. head]).Split("\r\n")[0];
        return line.Split(' ')[1];
    }

    /// <summary>Writes the answer to <paramref name="path"/>; false when it ended in a fault.</summary>
    private static async Task<bool> AnswerAsync(SslStream ssl, RecordFaultStream faults, string path)
    {
        string[] parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        switch (parts[0])
        {
            case "ok":
                await ssl.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"u8.ToArray()).ConfigureAwait(false);
                return true;
            case "records":
                int records = int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
                int size = int.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture);
                faults.HoldWrites = true;
                await ssl.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {records * size}\r\n\r\n")).ConfigureAwait(false);
                await WriteBodyAsync(ssl, 0, records * size, size).ConfigureAwait(false);
                await faults.SendHeldAsync().ConfigureAwait(false);
                return true;
            case "bad-head":
                faults.CorruptNextWrite = true;
                await ssl.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"u8.ToArray()).ConfigureAwait(false);
                return false;
            default:
                long total = long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
                long sent = long.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture);
                bool burst = parts[0] == "burst-body";
                int recordSize = burst ? BurstRecordSize : RecordSize;
                faults.HoldWrites = burst;
                await ssl.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {total}\r\n\r\n")).ConfigureAwait(false);
                await WriteBodyAsync(ssl, 0, sent, recordSize).ConfigureAwait(false);
                await ssl.FlushAsync().ConfigureAwait(false);
                if (parts[0] != "cut-body")
                {
                    faults.CorruptNextWrite = true;
                }
                else
                {
                    faults.CutNextWrite = true;
                }

                await WriteBodyAsync(ssl, sent, Math.Min(total, sent + recordSize), recordSize).ConfigureAwait(false);
                if (burst)
                {
                    await faults.SendHeldAsync().ConfigureAwait(false);
                }

                return false;
        }
    }

    /// <summary>Body bytes [<paramref name="from"/>, <paramref name="to"/>), one record of at most <paramref name="recordSize"/> per write.</summary>
    private static async Task WriteBodyAsync(SslStream ssl, long from, long to, int recordSize)
    {
        var chunk = new byte[recordSize];
        for (long at = from; at < to;)
        {
            int count = (int)Math.Min(recordSize, to - at);
            for (int i = 0; i < count; i++)
            {
                chunk[i] = BodyByte(at + i);
            }

            await ssl.WriteAsync(chunk.AsMemory(0, count)).ConfigureAwait(false);
            at += count;
        }
    }

    /// <summary>Reads raw bytes (ciphertext the peer may still send, an alert, a close_notify) until its FIN or reset.</summary>
    private static async Task WaitForPeerCloseAsync(Socket socket)
    {
        var buffer = new byte[4096];
        try
        {
            while (await socket.ReceiveAsync(buffer.AsMemory()).AsTask().WaitAsync(Clients.Timeout).ConfigureAwait(false) > 0)
            {
            }
        }
        catch (SocketException)
        {
            // A reset: closed as well.
        }
    }
}
