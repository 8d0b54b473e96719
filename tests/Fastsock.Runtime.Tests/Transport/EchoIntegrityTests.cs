using System.Net.Sockets;
using System.Security.Cryptography;
using Fastsock.Locality;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Transport;

public sealed class EchoIntegrityTests
{
    private const long Total = 256L * 1024 * 1024;
    private const int MaxWrite = 256 * 1024;
    private const int Seed = 20240611;

    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task Echo_returns_256_MiB_of_random_data_written_in_random_sizes_unchanged(string cores)
    {
        await using var server = await TestServers.StartAsync(TestServers.Echo, o => o.Cores = CpuSet.Parse(cores));
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(server.EndPoints[0]).WaitAsync(Clients.Timeout);

        var sending = Task.Run(() => SendAsync(client));
        var receiving = Task.Run(() => ReceiveAsync(client));
        var (sentHash, _) = await sending.WaitAsync(TimeSpan.FromMinutes(3));
        var (receivedHash, received) = await receiving.WaitAsync(TimeSpan.FromMinutes(3));

        Assert.Equal(Total, received);
        Assert.Equal(Convert.ToHexString(sentHash), Convert.ToHexString(receivedHash));
    }

    /// <summary>Seeded, so a failure reproduces: the same sizes and bytes on every run.</summary>
    private static async Task<(byte[] Hash, long Bytes)> SendAsync(Socket client)
    {
        var random = new Random(Seed);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[MaxWrite];
        long sent = 0;
        while (sent < Total)
        {
            int size = (int)Math.Min(random.Next(1, MaxWrite + 1), Total - sent);
            var chunk = buffer.AsMemory(0, size);
            random.NextBytes(chunk.Span);
            hash.AppendData(chunk.Span);
            int done = 0;
            while (done < size)
            {
                done += await client.SendAsync(chunk[done..]).AsTask().WaitAsync(Clients.Timeout);
            }

            sent += size;
        }

        client.Shutdown(SocketShutdown.Send);
        return (hash.GetHashAndReset(), sent);
    }

    private static async Task<(byte[] Hash, long Bytes)> ReceiveAsync(Socket client)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[128 * 1024];
        long received = 0;
        int n;
        while ((n = await client.ReceiveAsync(buffer.AsMemory()).AsTask().WaitAsync(Clients.Timeout)) > 0)
        {
            hash.AppendData(buffer, 0, n);
            received += n;
        }

        return (hash.GetHashAndReset(), received);
    }
}
