using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// A client that reads the wire as text as it arrives, so a test can wait for one piece (an interim response, a first
/// chunk) before the next one is even sent: what must be forwarded promptly is seen to be, not assumed.
/// </summary>
internal sealed class WireClient : IDisposable
{
    private readonly Socket _socket = new(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
    private readonly StringBuilder _received = new();
    private readonly byte[] _buffer = new byte[16 * 1024];

    private WireClient()
    {
    }

    /// <summary>Everything received so far.</summary>
    public string Received => _received.ToString();

    public static async Task<WireClient> ConnectAsync(IPEndPoint endPoint)
    {
        var client = new WireClient();
        await client._socket.ConnectAsync(endPoint).WaitAsync(TimeSpan.FromSeconds(30));
        return client;
    }

    public async Task SendAsync(string text)
    {
        var bytes = Encoding.Latin1.GetBytes(text);
        int sent = 0;
        while (sent < bytes.Length)
        {
            sent += await _socket.SendAsync(bytes.AsMemory(sent), SocketFlags.None);
        }
    }

    /// <summary>Reads until <paramref name="text"/> has arrived; fails naming what did arrive if it does not within <paramref name="timeout"/>.</summary>
    public async Task ReadUntilAsync(string text, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        while (!Received.Contains(text, StringComparison.Ordinal))
        {
            int n;
            try
            {
                n = await _socket.ReceiveAsync(_buffer, SocketFlags.None, deadline.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"'{Escape(text)}' did not arrive within {timeout}; received: '{Escape(Received)}'");
                throw;
            }

            Assert.True(n > 0, $"the connection closed before '{Escape(text)}' arrived; received: '{Escape(Received)}'");
            _received.Append(Encoding.Latin1.GetString(_buffer, 0, n));
        }
    }

    /// <summary>Reads until the peer closes, then returns everything received.</summary>
    public async Task<string> ReadToEndAsync()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        int n;
        while ((n = await _socket.ReceiveAsync(_buffer, SocketFlags.None, deadline.Token)) > 0)
        {
            _received.Append(Encoding.Latin1.GetString(_buffer, 0, n));
        }

        return Received;
    }

    public void Dispose() => _socket.Dispose();

    private static string Escape(string text) => text.Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
}
