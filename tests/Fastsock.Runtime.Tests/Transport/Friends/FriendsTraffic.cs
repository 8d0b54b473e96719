using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Transport.Friends;

/// <summary>Payloads sent in random-sized pieces and received into a hash, for byte-exact checks of large transfers.</summary>
internal static class FriendsTraffic
{
    public static byte[] Payload(int length, int seed)
    {
        var payload = new byte[length];
        new Random(seed).NextBytes(payload);
        return payload;
    }

    /// <summary>Sends <paramref name="payload"/> in pieces of 1 byte to 256 KiB (small ones often), then half-closes.</summary>
    public static async Task SendInRandomPiecesAsync(Socket socket, byte[] payload, int seed)
    {
        var random = new Random(seed);
        int sent = 0;
        while (sent < payload.Length)
        {
            int size = random.Next(4) == 0 ? random.Next(1, 64) : random.Next(1, 256 * 1024);
            size = Math.Min(size, payload.Length - sent);
            sent += await socket.SendAsync(payload.AsMemory(sent, size), SocketFlags.None).AsTask().WaitAsync(Clients.Timeout);
        }

        socket.Shutdown(SocketShutdown.Send);
    }

    /// <summary>Reads until the peer's FIN; the count and SHA-256 of what came.</summary>
    public static async Task<(long Bytes, byte[] Hash)> HashToEndAsync(Socket socket)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[128 * 1024];
        long total = 0;
        int n;
        while ((n = await socket.ReceiveAsync(buffer.AsMemory(), SocketFlags.None).AsTask().WaitAsync(Clients.Timeout)) > 0)
        {
            hash.AppendData(buffer, 0, n);
            total += n;
        }

        return (total, hash.GetHashAndReset());
    }

    private static ulong TcpInfoField(Socket socket, int offset)
    {
        Span<byte> info = stackalloc byte[232];
        int length = socket.GetRawSocketOption(6 /* IPPROTO_TCP */, 11 /* TCP_INFO */, info);
        Assert.True(length >= offset + 8, $"TCP_INFO returned {length} bytes, too short for the field at {offset}");
        return BinaryPrimitives.ReadUInt64LittleEndian(info[offset..]);
    }

    public static Socket Listen()
    {
        var listener = new Socket(SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(16);
        return listener;
    }

    public static int PortOf(Socket listener) => ((IPEndPoint)listener.LocalEndPoint!).Port;

    /// <summary>tcpi_bytes_acked of TCP_INFO (offset 120, Linux ≥ 4.1): what this socket sent through TCP (SYN and FIN count one each).</summary>
    public static ulong BytesAckedByTcp(Socket socket) => TcpInfoField(socket, 120);

    /// <summary>tcpi_bytes_received of TCP_INFO (offset 128, Linux ≥ 4.1): payload the TCP stack took in, not counting redirected bytes.</summary>
    public static ulong BytesReceivedByTcp(Socket socket) => TcpInfoField(socket, 128);

    public static ulong Sum(ulong[] perCpu)
    {
        ulong sum = 0;
        foreach (var value in perCpu)
        {
            sum += value;
        }

        return sum;
    }
}
