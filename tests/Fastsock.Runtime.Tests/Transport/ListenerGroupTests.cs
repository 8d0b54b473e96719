using System.Net;
using Fastsock.Hosting;
using Fastsock.Locality;
using Fastsock.Native;
using Fastsock.Tests.Support;
using Fastsock.Transport;

namespace Fastsock.Tests.Transport;

public sealed class ListenerGroupTests
{
    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task Every_worker_has_its_own_reuseport_listener_on_the_shared_port_tagged_with_its_cpu(string cores)
    {
        await using var server = await TestServers.StartAsync(TestServers.Echo, o => o.Cores = CpuSet.Parse(cores));
        var group = Assert.Single(server.ListenerGroups);
        int port = server.EndPoints[0].Port;
        Assert.NotEqual(0, port);
        var fds = new HashSet<int>();
        foreach (var (worker, cpu, _) in server.Workers)
        {
            var listener = group.ListenerFor(worker);
            Assert.NotNull(listener);
            Assert.Same(server.WorkerList[worker], listener.Worker);
            Assert.True(fds.Add(listener.Fd), $"worker {worker} shares fd {listener.Fd} with another worker");
            Assert.Equal(server.EndPoints[0], ListenSocket.LocalEndPoint(listener.Fd));
            Assert.Equal(1, SocketCalls.GetInt(listener.Fd, SocketCalls.SOL_SOCKET, SocketCalls.SO_REUSEPORT));
            Assert.Equal(cpu, SocketCalls.GetInt(listener.Fd, SocketCalls.SOL_SOCKET, SocketCalls.SO_INCOMING_CPU));
        }

        // The mirror of the kernel's group array: slot i holds worker i after start.
        Assert.Equal(Enumerable.Range(0, server.Workers.Count), group.WorkerBySlot);
    }

    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task Hash_steering_listeners_carry_no_incoming_cpu_so_the_kernel_hash_is_not_biased(string cores)
    {
        await using var server = await TestServers.StartAsync(TestServers.Echo, o =>
        {
            o.Cores = CpuSet.Parse(cores);
            o.Steering = ListenerSteering.Hash;
        });
        var group = Assert.Single(server.ListenerGroups);
        foreach (var (worker, _, _) in server.Workers)
        {
            int fd = group.ListenerFor(worker)!.Fd;
            Assert.Equal(1, SocketCalls.GetInt(fd, SocketCalls.SOL_SOCKET, SocketCalls.SO_REUSEPORT));
            Assert.Equal(-1, SocketCalls.GetInt(fd, SocketCalls.SOL_SOCKET, SocketCalls.SO_INCOMING_CPU));
        }
    }

    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task Single_steering_shares_one_plain_listener_between_all_workers(string cores)
    {
        await using var server = await TestServers.StartAsync(TestServers.Echo, o =>
        {
            o.Cores = CpuSet.Parse(cores);
            o.Steering = ListenerSteering.Single;
        });
        var group = Assert.Single(server.ListenerGroups);
        var fds = server.Workers.Select(w => group.ListenerFor(w.Worker)!.Fd).Distinct().ToArray();
        int fd = Assert.Single(fds);
        Assert.Equal(0, SocketCalls.GetInt(fd, SocketCalls.SOL_SOCKET, SocketCalls.SO_REUSEPORT));
    }

    [TwoCpuFact]
    public async Task Port_0_is_picked_by_the_first_worker_and_joined_by_the_others_in_every_steering_mode()
    {
        foreach (var steering in new[] { ListenerSteering.Cpu, ListenerSteering.Hash, ListenerSteering.Single })
        {
            await using var server = FastsockServer.CreateBuilder()
                .Configure(o =>
                {
                    o.Cores = CoreSets.FirstTwo;
                    o.Steering = steering;
                })
                .Listen(new IPEndPoint(IPAddress.Loopback, 0), TestServers.Echo)
                .Listen(new IPEndPoint(IPAddress.Loopback, 0), TestServers.Echo)
                .Build();
            await server.StartAsync().WaitAsync(Clients.Timeout);

            // Two port-0 listens are two groups with two ports, each reported as bound.
            Assert.Equal(2, server.EndPoints.Count);
            Assert.NotEqual(server.EndPoints[0].Port, server.EndPoints[1].Port);
            for (int g = 0; g < 2; g++)
            {
                var bound = server.EndPoints[g];
                Assert.NotEqual(0, bound.Port);
                foreach (var (worker, _, _) in server.Workers)
                {
                    Assert.Equal(bound, ListenSocket.LocalEndPoint(server.ListenerGroups[g].ListenerFor(worker)!.Fd));
                }

                // What the server reports is what a client reaches.
                using var client = Clients.ConnectBlocking(bound);
                Assert.Equal("ping"u8.ToArray(), await Clients.RoundTripAsync(client, "ping"u8.ToArray()));
            }
        }
    }
}
