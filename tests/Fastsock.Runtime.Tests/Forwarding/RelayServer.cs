using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Fastsock.Hosting;
using Fastsock.Locality;
using Fastsock.Tests.Support;
using Fastsock.Transport;

namespace Fastsock.Tests.Forwarding;

/// <summary>
/// A relay on the runtime: each accepted connection connects to the backend from its worker and forwards with the
/// given mode. <see cref="Forwarding"/> completes once a forward has started (splice mode is on by then), so a client
/// that waits for it sends nothing that could be buffered before the handoff.
/// </summary>
internal sealed class RelayServer : IAsyncDisposable
{
    private RelayServer(FastsockServer server) => Server = server;

    public FastsockServer Server { get; }

    public IPEndPoint EndPoint => Server.EndPoints[0];

    public TaskCompletionSource Forwarding { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ConcurrentQueue<ForwardResult> Results { get; } = new();

    public WorkerStats Stats => Server.GetStats()[0];

    public static async Task<RelayServer> StartAsync(IPEndPoint backend, ForwardingMode mode, ForwardingOptions? options = null, Func<Connection, Task>? beforeForward = null, Action<FastsockServerOptions>? configure = null)
    {
        RelayServer? relay = null;
        var server = await TestServers.StartAsync(async client =>
        {
            var upstream = await FastsockConnector.ConnectAsync(backend);
            if (beforeForward is not null)
            {
                await beforeForward(client);
            }

            var forward = ConnectionForwarder.ForwardAsync(client, upstream, mode, options);
            relay!.Forwarding.TrySetResult();
            relay.Results.Enqueue(await forward);
        }, o =>
        {
            o.Cores = CoreSets.First;
            configure?.Invoke(o);
        });
        relay = new RelayServer(server);
        return relay;
    }

    public ValueTask DisposeAsync() => Server.DisposeAsync();

    /// <summary>Waits until the relay has no connection open and every forward reported its result.</summary>
    public Task<bool> IdleAsync(int forwards) => Eventually.HoldsAsync(() => Results.Count >= forwards && Stats.Active == 0);
}

/// <summary>A client that sends seeded random bytes in random-sized chunks while it reads, hashing both streams.</summary>
internal static class StreamingClient
{
    public static async Task<(long Received, byte[] SentHash, byte[] ReceivedHash)> SendAndReceiveAsync(Socket socket, long total, int seed)
    {
        var source = new byte[1 << 20];
        new Random(seed).NextBytes(source);
        var sender = Task.Run(async () =>
        {
            var random = new Random(seed + 1);
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long sent = 0;
            while (sent < total)
            {
                int size = (int)Math.Min(random.Next(1, 256 * 1024), total - sent);
                int offset = random.Next(0, source.Length - size);
                var chunk = source.AsMemory(offset, size);
                hash.AppendData(chunk.Span);
                while (!chunk.IsEmpty)
                {
                    int n = await socket.SendAsync(chunk).WithinTimeout();
                    chunk = chunk[n..];
                }

                sent += size;
            }

            socket.Shutdown(SocketShutdown.Send);
            return hash.GetHashAndReset();
        });
        var receiver = Task.Run(async () =>
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[256 * 1024];
            long received = 0;
            int n;
            while ((n = await socket.ReceiveAsync(buffer.AsMemory()).WithinTimeout()) > 0)
            {
                hash.AppendData(buffer, 0, n);
                received += n;
            }

            return (received, hash.GetHashAndReset());
        });
        var sentHash = await sender.WaitAsync(TimeSpan.FromMinutes(2));
        var (receivedCount, receivedHash) = await receiver.WaitAsync(TimeSpan.FromMinutes(2));
        return (receivedCount, sentHash, receivedHash);
    }
}
