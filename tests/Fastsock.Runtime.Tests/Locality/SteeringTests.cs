using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Fastsock.Locality;
using Fastsock.Tests.Support;
using Fastsock.Transport;

namespace Fastsock.Tests.Locality;

public sealed class SteeringTests
{
    private const int ConnectionsPerCpu = 50;

    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task Cpu_steering_hands_every_connection_to_the_worker_on_the_cpu_that_sent_it(string cores)
    {
        await using var server = await TestServers.StartAsync(ReportLocality, o => o.Cores = CpuSet.Parse(cores));
        foreach (int cpu in CpuSet.Parse(cores))
        {
            var seen = await Clients.RunPinnedAsync(cpu, () => Probe(server.EndPoints[0], ConnectionsPerCpu));
            Assert.All(seen, s => Assert.Equal((cpu, cpu), s));
        }

        Assert.Equal(0, server.GetStats().Sum(s => s.RemoteConnections));
    }

    [TwoCpuFact]
    public async Task Hash_steering_spreads_connections_from_one_cpu_over_both_workers()
    {
        var cores = CoreSets.FirstTwo;
        await using var server = await TestServers.StartAsync(ReportLocality, o =>
        {
            o.Cores = cores;
            o.Steering = ListenerSteering.Hash;
        });
        var seen = await Clients.RunPinnedAsync(cores[0], () => Probe(server.EndPoints[0], 200));
        var workerCpus = seen.Select(s => s.WorkerCpu).ToHashSet();
        Assert.Equal(cores.ToHashSet(), workerCpus);
        Assert.All(seen, s => Assert.Equal(cores[0], s.IncomingCpu));
    }

    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task Single_steering_serves_an_echo_round_trip(string cores)
    {
        await using var server = await TestServers.StartAsync(TestServers.Echo, o =>
        {
            o.Cores = CpuSet.Parse(cores);
            o.Steering = ListenerSteering.Single;
        });
        for (int i = 0; i < 10; i++)
        {
            using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
            await client.ConnectAsync(server.EndPoints[0]).WaitAsync(Clients.Timeout);
            Assert.Equal("ping"u8.ToArray(), await Clients.RoundTripAsync(client, "ping"u8.ToArray()));
        }
    }

    /// <summary>Reads one byte, answers with the owning worker's CPU and the connection's SO_INCOMING_CPU.</summary>
    private static async Task ReportLocality(Connection connection)
    {
        var input = connection.Transport.Input;
        var result = await input.ReadAtLeastAsync(1);
        input.AdvanceTo(result.Buffer.End);
        var answer = new byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(answer, connection.WorkerCpu);
        BinaryPrimitives.WriteInt32LittleEndian(answer.AsSpan(4), connection.IncomingCpu);
        await connection.Transport.Output.WriteAsync(answer);
        await input.CompleteAsync();
        await connection.Transport.Output.CompleteAsync();
    }

    /// <summary>Blocking connections from the calling (pinned) thread; returns what the server reported for each.</summary>
    private static List<(int WorkerCpu, int IncomingCpu)> Probe(EndPoint endPoint, int count)
    {
        var seen = new List<(int, int)>(count);
        Span<byte> answer = stackalloc byte[8];
        for (int i = 0; i < count; i++)
        {
            using var socket = Clients.ConnectBlocking(endPoint);
            socket.Send([(byte)'?']);
            Clients.ReceiveExactly(socket, answer);
            seen.Add((BinaryPrimitives.ReadInt32LittleEndian(answer), BinaryPrimitives.ReadInt32LittleEndian(answer[4..])));
        }

        return seen;
    }
}
