using System.Net.Sockets;
using System.Text;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Http.Forwarding;

/// <summary>One end of a loopback connection scripted by a test (a client, or a backend), read and written as Latin-1 text.</summary>
internal sealed class Peer(Socket socket) : IDisposable
{
    private readonly List<byte> _pending = [];

    public Socket Socket => socket;

    public Task SendAsync(string text) => socket.SendAsync(Encoding.Latin1.GetBytes(text), SocketFlags.None).WaitAsync(Clients.Timeout);

    /// <summary>Up to and including the next empty line (a head).</summary>
    public Task<string> ReadHeadAsync() => ReadThroughAsync("\r\n\r\n");

    /// <summary>Up to and including the next occurrence of <paramref name="end"/>.</summary>
    public async Task<string> ReadThroughAsync(string end)
    {
        byte[] marker = Encoding.Latin1.GetBytes(end);
        int at;
        while ((at = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_pending).IndexOf(marker)) < 0)
        {
            await ReceiveMoreAsync(throwAtEnd: true);
        }

        return Take(at + marker.Length);
    }

    /// <summary>Exactly <paramref name="count"/> bytes.</summary>
    public async Task<string> ReadAsync(int count)
    {
        while (_pending.Count < count)
        {
            await ReceiveMoreAsync(throwAtEnd: true);
        }

        return Take(count);
    }

    /// <summary>
    /// Chunked body data until <paramref name="count"/> bytes are decoded, wherever the chunks were cut; chunk
    /// extensions are not expected (the forwarder writes none).
    /// </summary>
    public async Task<string> ReadChunkDataAsync(int count)
    {
        var data = new StringBuilder();
        while (data.Length < count)
        {
            string sizeLine = await ReadThroughAsync("\r\n");
            int size = Convert.ToInt32(sizeLine[..^2], 16);
            Assert.True(size > 0, $"The body ended after {data.Length} of {count} bytes.");
            data.Append(await ReadAsync(size));
            Assert.Equal("\r\n", await ReadAsync(2));
        }

        Assert.Equal(count, data.Length);
        return data.ToString();
    }

    /// <summary>Everything until the other end closes.</summary>
    public async Task<string> ReadToEndAsync()
    {
        while (await ReceiveMoreAsync(throwAtEnd: false))
        {
        }

        return Take(_pending.Count);
    }

    /// <summary>True once the other end has closed (or reset) with nothing more to read.</summary>
    public async Task<bool> EndsAsync()
    {
        try
        {
            return !await ReceiveMoreAsync(throwAtEnd: false) && _pending.Count == 0;
        }
        catch (SocketException)
        {
            return true;
        }
    }

    public void Dispose() => socket.Dispose();

    private async Task<bool> ReceiveMoreAsync(bool throwAtEnd)
    {
        var buffer = new byte[64 * 1024];
        int n = await socket.ReceiveAsync(buffer, SocketFlags.None).WaitAsync(Clients.Timeout);
        if (n == 0 && throwAtEnd)
        {
            throw new EndOfStreamException($"The connection ended; unread: '{Encoding.Latin1.GetString(_pending.ToArray())}'.");
        }

        _pending.AddRange(buffer.AsSpan(0, n));
        return n > 0;
    }

    private string Take(int count)
    {
        var text = Encoding.Latin1.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_pending)[..count]);
        _pending.RemoveRange(0, count);
        return text;
    }
}
