using System.Net;
using System.Net.Sockets;
using Fastsock.Hosting;
using Fastsock.Locality;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Transport;

public sealed class EndPointTests
{
    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task An_ipv6_loopback_endpoint_serves_an_echo(string cores)
    {
        await using var server = await TestServers.StartAsync(TestServers.Echo, o => o.Cores = CpuSet.Parse(cores), new IPEndPoint(IPAddress.IPv6Loopback, 0));
        Assert.Equal(AddressFamily.InterNetworkV6, server.EndPoints[0].AddressFamily);
        Assert.NotEqual(0, server.EndPoints[0].Port);
        using var client = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(server.EndPoints[0]).WaitAsync(Clients.Timeout);
        Assert.Equal("v6"u8.ToArray(), await Clients.RoundTripAsync(client, "v6"u8.ToArray()));
    }

    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task Two_endpoints_at_once_both_answer(string cores)
    {
        await using var server = FastsockServer.CreateBuilder()
            .Configure(o => o.Cores = CpuSet.Parse(cores))
            .Listen(new IPEndPoint(IPAddress.Loopback, 0), TestServers.Echo)
            .Listen(new IPEndPoint(IPAddress.IPv6Loopback, 0), TestServers.Echo)
            .Build();
        await server.StartAsync();
        Assert.Equal(2, server.EndPoints.Count);
        foreach (var endPoint in server.EndPoints)
        {
            using var client = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            await client.ConnectAsync(endPoint).WaitAsync(Clients.Timeout);
            var message = System.Text.Encoding.ASCII.GetBytes(endPoint.ToString());
            Assert.Equal(message, await Clients.RoundTripAsync(client, message));
        }
    }
}
