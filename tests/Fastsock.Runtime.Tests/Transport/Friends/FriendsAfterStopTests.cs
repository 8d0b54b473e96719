using System.Buffers.Binary;
using System.Net.Sockets;
using System.Security.Cryptography;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Transport.Friends;

/// <summary>
/// What happens to bytes other processes' friend pairs have queued by redirect, unread, when the fastsock process that
/// owns the map goes away. The fear: the map's sockets lose their psock and the kernel purges its ingress queue. What
/// the kernel does instead (perf/results/friends.md, "When the process stops"): the sk_msg program each socket carries
/// holds the maps, so the pair keeps its psock, its queue and its redirect until the pair closes.
/// </summary>
public sealed class FriendsAfterStopTests
{
    private const int Chunk = 256 * 1024;
    private static readonly string HelloDll = Path.Combine(AppContext.BaseDirectory, "fastsock-hello.dll");

    [FriendsTheory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task Bytes_a_friend_pair_queued_unread_survive_a_graceful_server_stop_byte_exact(string cores)
    {
        using var cgroup = FriendsCgroup.CreateAndJoin();
        var server = await TestServers.StartAsync(TestServers.Echo, o =>
        {
            o.Cores = Fastsock.Locality.CpuSet.Parse(cores);
            o.TcpFriends.Enabled = true;
        });
        using var pair = await UnservedPair.ConnectAsync();
        try
        {
            await pair.QueueUnreadAsync(0);
        }
        finally
        {
            await server.DisposeAsync();
        }

        Assert.Empty(cgroup.AttachedPrograms());
        await pair.SendMoreAndReadAllAsync();
    }

    [FriendsFact]
    public async Task Bytes_a_friend_pair_queued_unread_survive_a_sigkill_of_the_process_holding_friends_byte_exact()
    {
        using var cgroup = FriendsCgroup.CreateAndJoin();
        using var hello = SampleProcess.Start(HelloDll, $"--urls http://127.0.0.1:0 --cores {CoreSets.FirstText} --tcp-friends");
        await hello.ListeningOnAsync();
        await hello.WaitForLineAsync($"TCP friends on cgroup {cgroup.Path}");
        using var pair = await UnservedPair.ConnectAsync();
        await pair.QueueUnreadAsync(1);

        hello.Signal("KILL");
        await hello.WaitForExitAsync(Clients.Timeout);
        Assert.True(hello.HasExited, "fastsock-hello did not exit after SIGKILL");
        Assert.Empty(cgroup.AttachedPrograms());
        await pair.SendMoreAndReadAllAsync();
    }

    /// <summary>Two sockets of the test host in the cgroup, connected over loopback, not served by fastsock.</summary>
    private sealed class UnservedPair : IDisposable
    {
        private readonly Socket _listener;
        private readonly Socket _sender;
        private readonly Socket _receiver;
        private byte[] _sent = [];

        private UnservedPair(Socket listener, Socket sender, Socket receiver)
        {
            _listener = listener;
            _sender = sender;
            _receiver = receiver;
        }

        public static async Task<UnservedPair> ConnectAsync()
        {
            var listener = FriendsTraffic.Listen();
            var sender = new Socket(SocketType.Stream, ProtocolType.Tcp);
            await sender.ConnectAsync(listener.LocalEndPoint!).WaitAsync(Clients.Timeout);
            var receiver = await listener.AcceptAsync().WaitAsync(Clients.Timeout);
            return new UnservedPair(listener, sender, receiver);
        }

        /// <summary>
        /// Sends a chunk the receiver does not read. A redirected send is queued on the receiver before it returns, so
        /// once it returns the bytes sit in the receiver's redirect queue; the receiver's TCP stack saw none of them.
        /// </summary>
        public async Task QueueUnreadAsync(int seed)
        {
            _sent = FriendsTraffic.Payload(Chunk, seed);
            await SendAllAsync(_sent);
            Assert.True(BytesReceivedByTcp(_receiver) == 0, "the pair did not become friends: its bytes came through TCP");
        }

        /// <summary>After the stop: one more chunk (order across the stop), FIN, then the receiver reads everything.</summary>
        public async Task SendMoreAndReadAllAsync()
        {
            var more = FriendsTraffic.Payload(Chunk, 100);
            await SendAllAsync(more);
            _sender.Shutdown(SocketShutdown.Send);
            byte[] all = [.. _sent, .. more];

            var (bytes, hash) = await FriendsTraffic.HashToEndAsync(_receiver);
            Assert.Equal(all.Length, bytes);
            Assert.Equal(SHA256.HashData(all), hash);

            // Not a requirement, the kernel's behaviour written down: the pair stayed friends after the process went,
            // so the chunk sent after it also came by redirect (the FIN is TCP's one byte of sequence space).
            Assert.True(BytesReceivedByTcp(_receiver) <= 1, $"{BytesReceivedByTcp(_receiver)} bytes came through TCP after the stop");
        }

        public void Dispose()
        {
            _receiver.Dispose();
            _sender.Dispose();
            _listener.Dispose();
        }

        private async Task SendAllAsync(byte[] payload)
        {
            int sent = 0;
            while (sent < payload.Length)
            {
                sent += await _sender.SendAsync(payload.AsMemory(sent), SocketFlags.None).AsTask().WaitAsync(Clients.Timeout);
            }
        }

        /// <summary>tcpi_bytes_received of TCP_INFO (offset 128, Linux ≥ 4.1): payload the TCP stack took in.</summary>
        private static ulong BytesReceivedByTcp(Socket socket)
        {
            Span<byte> info = stackalloc byte[232];
            int length = socket.GetRawSocketOption(6 /* IPPROTO_TCP */, 11 /* TCP_INFO */, info);
            Assert.True(length >= 136, $"TCP_INFO returned {length} bytes, too short for tcpi_bytes_received");
            return BinaryPrimitives.ReadUInt64LittleEndian(info[128..]);
        }
    }
}
