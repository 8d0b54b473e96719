using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Fastsock.Tests.Samples;

/// <summary>One parsed HTTP/1.1 response, as the bytes on the wire said it.</summary>
internal sealed record RawHttpResponse(int Status, string Head, IReadOnlyList<(string Name, string Value)> Headers, string Body)
{
    /// <summary>The value of the only field called <paramref name="name"/>; null when absent.</summary>
    public string? Header(string name) => Headers.SingleOrDefault(h => h.Name.Equals(name, StringComparison.OrdinalIgnoreCase)).Value;
}

/// <summary>
/// A raw TCP client that writes exact bytes and parses responses itself (Content-Length framing only, which is all
/// Hello sends), so the tests see precisely what the server put on the wire. Every wait gives up after 30 s.
/// </summary>
internal sealed class RawHttpClient : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private readonly Socket _socket;
    private readonly byte[] _receive = new byte[64 * 1024];
    private readonly List<byte> _pending = [];

    private RawHttpClient(Socket socket) => _socket = socket;

    public static async Task<RawHttpClient> ConnectAsync(EndPoint endPoint)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var timeout = new CancellationTokenSource(Timeout);
        await socket.ConnectAsync(endPoint, timeout.Token);
        return new RawHttpClient(socket);
    }

    /// <summary>Sends the string's chars as bytes (Latin-1), so a test can put any octet on the wire.</summary>
    public Task SendAsync(string text) => SendAsync(Encoding.Latin1.GetBytes(text));

    public async Task SendAsync(byte[] bytes)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        int sent = 0;
        while (sent < bytes.Length)
        {
            sent += await _socket.SendAsync(bytes.AsMemory(sent), SocketFlags.None, timeout.Token);
        }
    }

    /// <summary>
    /// Sends what the server may refuse half-way: when it answers early and closes, the rest of our write can meet a
    /// reset. That is not the behaviour under test (the response is), so the send error is swallowed.
    /// </summary>
    public async Task SendIgnoringResetAsync(string text)
    {
        try
        {
            await SendAsync(text);
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.Shutdown or SocketError.ConnectionAborted)
        {
        }
    }

    /// <summary>Reads one complete response; fails if the connection ends first.</summary>
    /// <param name="headOnly">
    /// Read the head only, whatever its Content-Length says: for a response to HEAD, or an interim 100 Continue.
    /// </param>
    public async Task<RawHttpResponse> ReadResponseAsync(bool headOnly = false)
    {
        int headEnd;
        while ((headEnd = IndexOfHeadEnd()) < 0)
        {
            if (await ReceiveMoreAsync() == 0)
            {
                throw new EndOfStreamException($"The connection ended before a complete response head; got: {Text(_pending.Count)}");
            }
        }

        string head = Text(headEnd);
        var lines = head.Split("\r\n");
        var statusParts = lines[0].Split(' ', 3);
        Assert.Equal("HTTP/1.1", statusParts[0]);
        int status = int.Parse(statusParts[1], System.Globalization.CultureInfo.InvariantCulture);
        var headers = new List<(string, string)>();
        foreach (var line in lines.Skip(1).Where(l => l.Length > 0))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            Assert.True(colon > 0, $"Malformed response header line: {line}");
            headers.Add((line[..colon], line[(colon + 1)..].Trim()));
        }

        var lengthField = headers.SingleOrDefault(h => h.Item1.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)).Item2;
        Assert.True(headOnly || lengthField is not null, $"No Content-Length in: {head}");
        int length = headOnly ? 0 : int.Parse(lengthField!, System.Globalization.CultureInfo.InvariantCulture);
        int total = headEnd + 4 + length;
        while (_pending.Count < total)
        {
            if (await ReceiveMoreAsync() == 0)
            {
                throw new EndOfStreamException($"The connection ended inside a response body; got: {Text(_pending.Count)}");
            }
        }

        string body = Encoding.ASCII.GetString([.. _pending.GetRange(headEnd + 4, length)]);
        _pending.RemoveRange(0, total);
        return new RawHttpResponse(status, head, headers, body);
    }

    /// <summary>True when the server closed the connection (FIN, or a reset after its response) with nothing more sent.</summary>
    public async Task<bool> IsClosedByServerAsync()
    {
        int n = await ReceiveMoreAsync();
        Assert.True(_pending.Count == 0, $"Unexpected bytes after the last response: {Text(_pending.Count)}");
        return n == 0;
    }

    public void Dispose() => _socket.Dispose();

    /// <summary>Bytes received, 0 at the end of the stream (a reset counts as the end).</summary>
    private async Task<int> ReceiveMoreAsync()
    {
        using var timeout = new CancellationTokenSource(Timeout);
        int n;
        try
        {
            n = await _socket.ReceiveAsync(_receive, SocketFlags.None, timeout.Token);
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
        {
            return 0;
        }

        _pending.AddRange(_receive.AsSpan(0, n));
        return n;
    }

    private int IndexOfHeadEnd()
    {
        for (int i = 0; i + 3 < _pending.Count; i++)
        {
            if (_pending[i] == '\r' && _pending[i + 1] == '\n' && _pending[i + 2] == '\r' && _pending[i + 3] == '\n')
            {
                return i;
            }
        }

        return -1;
    }

    private string Text(int count) => Encoding.ASCII.GetString([.. _pending.GetRange(0, count)]);
}
