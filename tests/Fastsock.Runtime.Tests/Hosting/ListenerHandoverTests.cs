using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Fastsock.Hosting;
using Fastsock.Locality;
using Fastsock.Native;
using Fastsock.Tests.Support;
using Fastsock.Transport;

namespace Fastsock.Tests.Hosting;

/// <summary>
/// Two servers in one process hand their listening sockets over through a real AF_UNIX socket (SCM_RIGHTS makes
/// new descriptors even within one process), so the reuseport groups, their order and the steering are the kernel's.
/// </summary>
public sealed class ListenerHandoverTests : IDisposable
{
    private const int ConnectionsPerCpu = 40;
    private const byte OldServer = 1;
    private const byte Successor = 2;

    private readonly string _path = Path.Combine(Path.GetTempPath(), $"fastsock-ho-{Guid.NewGuid():N}.sock");

    public void Dispose() => File.Delete(_path);

    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task A_successor_takes_the_listeners_in_group_order_and_every_cpu_still_reaches_its_own_worker(string cores)
    {
        await using var old = await TestServers.StartAsync(Report(OldServer), o =>
        {
            o.Cores = CpuSet.Parse(cores);
            o.Handover.OfferPath = _path;
        });
        int[] orderBefore = old.ListenerGroups[0].WorkerBySlot;

        await using var successor = await TestServers.StartAsync(Report(Successor), o =>
        {
            o.Cores = CpuSet.Parse(cores);
            o.Handover.TakeOverFrom = _path;
        });

        await old.HandedOver.WaitAsync(Clients.Timeout);
        Assert.Equal(old.EndPoints, successor.EndPoints);
        Assert.Equal(orderBefore, successor.ListenerGroups[0].WorkerBySlot);
        long acceptedByOld = old.GetStats().Sum(s => s.Accepted);
        foreach (int cpu in CpuSet.Parse(cores))
        {
            var seen = await Clients.RunPinnedAsync(cpu, () => Probe(successor.EndPoints[0], ConnectionsPerCpu));
            Assert.All(seen, s => Assert.Equal((Successor, cpu, cpu), s));
        }

        Assert.Equal(acceptedByOld, old.GetStats().Sum(s => s.Accepted));
        Assert.Equal(0, successor.GetStats().Sum(s => s.RemoteConnections));
    }

    [Theory]
    [InlineData(ListenerSteering.Hash)]
    [InlineData(ListenerSteering.Single)]
    public async Task A_successor_takes_over_hash_and_single_listeners_in_the_same_shape(ListenerSteering steering)
    {
        var allowed = CpuSet.Allowed();
        var cores = allowed.Count >= 2 ? CoreSets.FirstTwo : CoreSets.First;
        await using var old = await TestServers.StartAsync(Report(OldServer), o =>
        {
            o.Cores = cores;
            o.Steering = steering;
            o.Handover.OfferPath = _path;
        });
        int[] orderBefore = old.ListenerGroups[0].WorkerBySlot;

        await using var successor = await TestServers.StartAsync(Report(Successor), o =>
        {
            o.Cores = cores;
            o.Steering = steering;
            o.Handover.TakeOverFrom = _path;
        });

        await old.HandedOver.WaitAsync(Clients.Timeout);
        Assert.Equal(old.EndPoints, successor.EndPoints);
        Assert.Equal(orderBefore, successor.ListenerGroups[0].WorkerBySlot);
        var seen = await Clients.RunPinnedAsync(cores[0], () => Probe(successor.EndPoints[0], ConnectionsPerCpu));
        Assert.All(seen, s => Assert.Equal(Successor, s.Server));
    }

    [TwoCpuFact]
    public async Task A_successor_with_another_worker_count_is_refused_and_the_running_server_keeps_serving_and_offering()
    {
        await using var old = await TestServers.StartAsync(TestServers.Echo, o =>
        {
            o.Cores = CoreSets.FirstTwo;
            o.Handover.OfferPath = _path;
        });

        var refused = await Assert.ThrowsAsync<ListenerHandoverException>(() => TestServers.StartAsync(TestServers.Echo, o =>
        {
            o.Cores = CoreSets.First;
            o.Handover.TakeOverFrom = _path;
        }));

        Assert.Equal($"takeover from {_path} failed: the running server (pid {Environment.ProcessId}) has 2 workers and this one 1; give it as many CPUs (--cores) or restart instead of taking over", refused.Message);
        Assert.False(old.HandedOver.IsCompleted);
        await AssertEchoesAsync(old.EndPoints[0]);

        // Still offered: a matching successor takes the sockets after the refused one.
        await using var successor = await TestServers.StartAsync(TestServers.Echo, o =>
        {
            o.Cores = CoreSets.FirstTwo;
            o.Handover.TakeOverFrom = _path;
        });
        await old.HandedOver.WaitAsync(Clients.Timeout);
        await AssertEchoesAsync(successor.EndPoints[0]);
    }

    [Fact]
    public async Task A_successor_listening_on_other_endpoints_is_refused_with_both_sets_named()
    {
        await using var old = await TestServers.StartAsync(TestServers.Echo, o =>
        {
            o.Cores = CoreSets.First;
            o.Handover.OfferPath = _path;
        });

        var other = new IPEndPoint(IPAddress.Loopback, old.EndPoints[0].Port == 65535 ? 65534 : old.EndPoints[0].Port + 1);
        var refused = await Assert.ThrowsAsync<ListenerHandoverException>(() => TestServers.StartAsync(TestServers.Echo, o =>
        {
            o.Cores = CoreSets.First;
            o.Handover.TakeOverFrom = _path;
        }, other));

        Assert.Contains($"the listeners differ: this server listens on {other} and the running one (pid {Environment.ProcessId}) on 127.0.0.1:0", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', refused.Message);
        Assert.False(old.HandedOver.IsCompleted);
        await AssertEchoesAsync(old.EndPoints[0]);
    }

    [Fact]
    public async Task Taking_over_where_nothing_is_offered_fails_with_one_line_naming_the_path()
    {
        var refused = await Assert.ThrowsAsync<ListenerHandoverException>(() => TestServers.StartAsync(TestServers.Echo, o =>
        {
            o.Cores = CoreSets.First;
            o.Handover.TakeOverFrom = _path;
        }));

        Assert.StartsWith($"takeover from {_path} failed: connect({_path}): ENOENT", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', refused.Message);
    }

    [Fact]
    public async Task The_offer_socket_is_readable_by_its_owner_only_and_removed_when_the_server_stops()
    {
        var server = await TestServers.StartAsync(TestServers.Echo, o =>
        {
            o.Cores = CoreSets.First;
            o.Handover.OfferPath = _path;
        });
        await using (server)
        {
            Assert.True(File.Exists(_path));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_path));
            await server.StopAsync();
        }

        Assert.False(File.Exists(_path), "the offer socket outlived the server");
    }

    [Fact]
    public async Task A_socket_file_left_by_a_killed_server_is_replaced_and_one_a_live_server_offers_on_is_refused()
    {
        // A process killed with SIGKILL leaves its socket file behind, bound to nothing. (Raw calls: a .NET Socket
        // removes the file when disposed.)
        BindAndClose(_path);

        Assert.True(File.Exists(_path));
        await using var server = await TestServers.StartAsync(TestServers.Echo, o =>
        {
            o.Cores = CoreSets.First;
            o.Handover.OfferPath = _path;
        });

        var second = await Assert.ThrowsAsync<ListenerHandoverException>(() => TestServers.StartAsync(TestServers.Echo, o =>
        {
            o.Cores = CoreSets.First;
            o.Handover.OfferPath = _path;
        }));
        Assert.Equal($"hand-over socket {_path} is in use: a running server offers its listeners there; take them over (--takeover {_path}) or choose another path (admin.socket)", second.Message);
        Assert.False(server.HandedOver.IsCompleted);
        await AssertEchoesAsync(server.EndPoints[0]);
    }

    [Fact]
    public async Task A_second_server_offering_at_a_live_offer_path_is_refused_before_it_binds_anything()
    {
        await using var server = await TestServers.StartAsync(TestServers.Echo, o =>
        {
            o.Cores = CoreSets.First;
            o.Handover.OfferPath = _path;
        });

        // A port held without SO_REUSEPORT: a second server that bound before probing the offer path would fail on
        // this bind (EADDRINUSE) instead, as it would join a running server's reuseport group on a shared port.
        using var occupied = new Socket(SocketType.Stream, ProtocolType.Tcp);
        occupied.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        occupied.Listen();
        var second = await Assert.ThrowsAsync<ListenerHandoverException>(() => TestServers.StartAsync(TestServers.Echo, o =>
        {
            o.Cores = CoreSets.First;
            o.Handover.OfferPath = _path;
        }, (IPEndPoint)occupied.LocalEndPoint!));

        Assert.StartsWith($"hand-over socket {_path} is in use", second.Message, StringComparison.Ordinal);
        Assert.False(server.HandedOver.IsCompleted);
        await AssertEchoesAsync(server.EndPoints[0]);
    }

    [Fact]
    public async Task A_keep_alive_request_sent_after_the_hand_over_is_answered_by_the_old_server_and_not_reset()
    {
        // The old server's client is between two requests when the successor takes over: it is told the server is
        // stopping only through its next response, so the request it sends now is served, not cut by a close.
        await using var old = await TestServers.StartAsync(OneResponsePerLine, o =>
        {
            o.Cores = CoreSets.First;
            o.Handover.OfferPath = _path;
            o.ShutdownTimeout = TimeSpan.FromSeconds(20);
            o.Handover.KeepAliveGrace = TimeSpan.FromSeconds(15);
        });
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(old.EndPoints[0]).WaitAsync(Clients.Timeout);
        Assert.Equal("o\n"u8.ToArray(), await Clients.RoundTripAsync(client, "1\n"u8.ToArray()));

        await using var successor = await TestServers.StartAsync(TestServers.Echo, o =>
        {
            o.Cores = CoreSets.First;
            o.Handover.TakeOverFrom = _path;
        });
        await old.HandedOver.WaitAsync(Clients.Timeout);
        var stopping = old.StopAsync(); // what WaitForShutdownAsync does once handed over

        // Keep sending, as a loaded client does: every request is answered, "o" until the worker has been told.
        var answer = "o\n"u8.ToArray();
        var deadline = DateTime.UtcNow + Clients.Timeout;
        while (answer[0] == (byte)'o' && DateTime.UtcNow < deadline)
        {
            answer = await Clients.RoundTripAsync(client, "2\n"u8.ToArray());
        }

        Assert.Equal("c\n"u8.ToArray(), answer);
        var (bytes, reset) = await Clients.ReadUntilClosedAsync(client);
        Assert.Equal(0, bytes);
        Assert.False(reset, "the old server reset the connection instead of closing it after its last response");
        await stopping.WaitAsync(Clients.Timeout);
        Assert.False(stopping.IsFaulted);
    }

    /// <summary>Answers each line with "o" (open) or, once the server is stopping, "c" (closing) and a close.</summary>
    private static async Task OneResponsePerLine(Connection connection)
    {
        var input = connection.Transport.Input;
        while (true)
        {
            var result = await input.ReadAsync();
            if (result.IsCanceled || (result.IsCompleted && result.Buffer.IsEmpty))
            {
                break;
            }

            var newline = result.Buffer.PositionOf((byte)'\n');
            if (newline is null)
            {
                input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
                continue;
            }

            input.AdvanceTo(result.Buffer.GetPosition(1, newline.Value));
            bool closing = connection.IsShutdownRequested;
            await connection.Transport.Output.WriteAsync(closing ? "c\n"u8.ToArray() : "o\n"u8.ToArray());
            if (closing)
            {
                break;
            }
        }

        await input.CompleteAsync();
        await connection.Transport.Output.CompleteAsync();
    }

    private static unsafe void BindAndClose(string path)
    {
        var address = UnixSocketAddress.From(new UnixDomainSocketEndPoint(path));
        int fd = SocketCalls.Socket(SocketCalls.AF_UNIX, DescriptorPassingCalls.SOCK_SEQPACKET | SocketCalls.SOCK_CLOEXEC, 0);
        Assert.True(fd >= 0);
        fixed (byte* pointer = address.Bytes)
        {
            Assert.Equal(0, SocketCalls.Bind(fd, pointer, address.Length));
        }

        FileCalls.Close(fd);
    }

    private static async Task AssertEchoesAsync(IPEndPoint endPoint)
    {
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(endPoint).WaitAsync(Clients.Timeout);
        Assert.Equal("ping"u8.ToArray(), await Clients.RoundTripAsync(client, "ping"u8.ToArray()));
    }

    /// <summary>Reads one byte, answers with which server this is, the owning worker's CPU and the connection's SO_INCOMING_CPU.</summary>
    private static ConnectionHandler Report(byte server) => async connection =>
    {
        var input = connection.Transport.Input;
        var result = await input.ReadAtLeastAsync(1);
        input.AdvanceTo(result.Buffer.End);
        var answer = new byte[9];
        answer[0] = server;
        BinaryPrimitives.WriteInt32LittleEndian(answer.AsSpan(1), connection.WorkerCpu);
        BinaryPrimitives.WriteInt32LittleEndian(answer.AsSpan(5), connection.IncomingCpu);
        await connection.Transport.Output.WriteAsync(answer);
        await input.CompleteAsync();
        await connection.Transport.Output.CompleteAsync();
    };

    /// <summary>Blocking connections from the calling (pinned) thread; what the server reported for each.</summary>
    private static List<(byte Server, int WorkerCpu, int IncomingCpu)> Probe(EndPoint endPoint, int count)
    {
        var seen = new List<(byte, int, int)>(count);
        var answer = new byte[9];
        for (int i = 0; i < count; i++)
        {
            using var socket = Clients.ConnectBlocking(endPoint);
            socket.Send("x"u8);
            Clients.ReceiveExactly(socket, answer);
            seen.Add((answer[0], BinaryPrimitives.ReadInt32LittleEndian(answer.AsSpan(1)), BinaryPrimitives.ReadInt32LittleEndian(answer.AsSpan(5))));
        }

        return seen;
    }
}
