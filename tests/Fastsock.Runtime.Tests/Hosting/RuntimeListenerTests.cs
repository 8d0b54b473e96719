using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Fastsock.Locality;
using Fastsock.Native;
using Fastsock.Tests.Support;
using Fastsock.Transport;

namespace Fastsock.Tests.Hosting;

/// <summary>Listeners added to and removed from a running server (what a proxy reload does with frontends).</summary>
public sealed class RuntimeListenerTests
{
    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task A_listener_added_to_a_running_server_steers_each_connection_to_the_worker_on_the_cpu_that_sent_it(string cores)
    {
        await using var server = await TestServers.StartAsync(TestServers.Echo, o => o.Cores = CpuSet.Parse(cores));
        var added = await server.AddListenerAsync(new IPEndPoint(IPAddress.Loopback, 0), ReportCpu);

        Assert.NotEqual(0, added.Port);
        Assert.Equal([server.EndPoints[0], added], server.EndPoints);
        foreach (int cpu in CpuSet.Parse(cores))
        {
            var seen = await Clients.RunPinnedAsync(cpu, () => Probe(added, 20));
            Assert.All(seen, workerCpu => Assert.Equal(cpu, workerCpu));
        }

        Assert.Equal(0, server.GetStats().Sum(s => s.RemoteConnections));
    }

    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task A_removed_listener_refuses_new_connections_while_one_it_accepted_carries_on(string cores)
    {
        await using var server = await TestServers.StartAsync(TestServers.Echo, o => o.Cores = CpuSet.Parse(cores));
        var added = await server.AddListenerAsync(new IPEndPoint(IPAddress.Loopback, 0), TestServers.Echo);
        using var accepted = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await accepted.ConnectAsync(added).WaitAsync(Clients.Timeout);
        Assert.Equal("before"u8.ToArray(), await Clients.RoundTripAsync(accepted, "before"u8.ToArray()));

        await server.RemoveListenerAsync(added);

        Assert.Equal([server.EndPoints[0]], server.EndPoints);
        using var late = new Socket(SocketType.Stream, ProtocolType.Tcp);
        var refused = await Assert.ThrowsAsync<SocketException>(() => late.ConnectAsync(added).WaitAsync(Clients.Timeout));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
        Assert.Equal("after"u8.ToArray(), await Clients.RoundTripAsync(accepted, "after"u8.ToArray()));
        using var first = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await first.ConnectAsync(server.EndPoints[0]).WaitAsync(Clients.Timeout);
        Assert.Equal("ping"u8.ToArray(), await Clients.RoundTripAsync(first, "ping"u8.ToArray()));
    }

    [Fact]
    public async Task Adding_a_listener_on_a_port_in_use_fails_with_the_bind_error_and_adds_nothing()
    {
        await using var server = await TestServers.StartAsync(TestServers.Echo, o => o.Cores = CoreSets.First);
        using var taken = new Socket(SocketType.Stream, ProtocolType.Tcp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        taken.Listen();

        var error = await Assert.ThrowsAsync<NativeCallException>(() => server.AddListenerAsync((IPEndPoint)taken.LocalEndPoint!, TestServers.Echo));

        Assert.Contains(((IPEndPoint)taken.LocalEndPoint!).Port.ToString(System.Globalization.CultureInfo.InvariantCulture), error.Message, StringComparison.Ordinal);
        Assert.Single(server.EndPoints);
        await Assert.ThrowsAsync<ArgumentException>(() => server.RemoveListenerAsync((IPEndPoint)taken.LocalEndPoint!));
    }

    /// <summary>Reads one byte, answers with the CPU of the worker that accepted the connection.</summary>
    private static async Task ReportCpu(Connection connection)
    {
        var input = connection.Transport.Input;
        var result = await input.ReadAtLeastAsync(1);
        input.AdvanceTo(result.Buffer.End);
        var answer = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(answer, connection.WorkerCpu);
        await connection.Transport.Output.WriteAsync(answer);
        await input.CompleteAsync();
        await connection.Transport.Output.CompleteAsync();
    }

    private static List<int> Probe(EndPoint endPoint, int count)
    {
        var seen = new List<int>(count);
        Span<byte> answer = stackalloc byte[4];
        for (int i = 0; i < count; i++)
        {
            using var socket = Clients.ConnectBlocking(endPoint);
            socket.Send([(byte)'?']);
            Clients.ReceiveExactly(socket, answer);
            seen.Add(BinaryPrimitives.ReadInt32LittleEndian(answer));
        }

        return seen;
    }
}
