using System.Net.Sockets;
using Fastsock.AspNetCore.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace Fastsock.AspNetCore.Tests;

public sealed class UnixSocketTests
{
    [Fact]
    public async Task A_unix_socket_endpoint_is_served_by_the_workers_and_its_file_removed_at_stop()
    {
        var path = Path.Combine(Path.GetTempPath(), $"fastsock-aspnet-{Environment.ProcessId}-{Guid.NewGuid():N}.sock");
        var app = await TestApp.StartAsync(
            a => a.MapGet("/", static (HttpContext context) =>
                context.Features.Get<IFastsockConnectionFeature>() is { } feature ? $"worker {feature.WorkerIndex}" : "no feature"),
            configure: b => b.WebHost.ConfigureKestrel(k => k.ListenUnixSocket(path)));
        try
        {
            Assert.True(File.Exists(path), $"{path} was not created");
            using var client = new HttpClient(new SocketsHttpHandler
            {
                ConnectCallback = async (_, cancellationToken) =>
                {
                    var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                },
            })
            {
                Timeout = Clients.Timeout,
            };
            for (int i = 0; i < 3; i++)
            {
                Assert.StartsWith("worker ", await client.GetStringAsync("http://localhost/"), StringComparison.Ordinal);
            }
        }
        finally
        {
            await app.DisposeAsync();
        }

        Assert.False(File.Exists(path), $"{path} is left behind after the app stopped");
    }
}
