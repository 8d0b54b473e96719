using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Fastsock.AspNetCore.Tests.Support;

/// <summary>HTTP/1.x spoken by hand over a socket, for what HttpClient will not do (pipelining, HTTP/1.0, resets).</summary>
internal static class RawHttp
{
    public static async Task<Socket> ConnectAsync(EndPoint endPoint)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(endPoint).WaitAsync(Clients.Timeout);
        return socket;
    }

    public static Task SendAsync(Socket socket, string text) => socket.SendAsync(Encoding.ASCII.GetBytes(text)).WaitAsync(Clients.Timeout);

    /// <summary>Reads until the server closes; the whole exchange as text.</summary>
    public static async Task<string> ReadToEndAsync(Socket socket) => Encoding.ASCII.GetString(await Clients.ReadToEndAsync(socket));

    /// <summary>Reads until <paramref name="count"/> responses ending with <paramref name="bodyEnd"/> arrived.</summary>
    public static async Task<string> ReadUntilAsync(Socket socket, string bodyEnd, int count)
    {
        var text = new StringBuilder();
        var buffer = new byte[16 * 1024];
        while (Occurrences(text.ToString(), bodyEnd) < count)
        {
            int n = await socket.ReceiveAsync(buffer.AsMemory()).AsTask().WaitAsync(Clients.Timeout);
            if (n == 0)
            {
                throw new IOException($"EOF before {count} responses: {text}");
            }

            text.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }

        return text.ToString();
    }

    public static int Occurrences(string text, string value)
    {
        int count = 0;
        for (int at = text.IndexOf(value, StringComparison.Ordinal); at >= 0; at = text.IndexOf(value, at + value.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
