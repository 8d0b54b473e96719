using Fastsock.Tests.Support;
using System.Net;
using Fastsock.Hosting;
using Fastsock.Http.Server;
using Fastsock.Locality;
using Fastsock.Tests.Samples;
using Fastsock.Transport;

namespace Fastsock.Tests.Http.Server;

/// <summary>
/// An app registered by name on the builder is reached through an in-memory connection on the caller's worker, and
/// the server loop serves it there exactly as on a socket.
/// </summary>
public sealed class InProcessAppTests
{
    [Fact]
    public async Task Loop_served_in_process_app_answers_pipelined_requests_through_an_in_memory_connection()
    {
        var builder = FastsockServer.CreateBuilder()
            .Configure(o =>
            {
                o.Cores = CoreSets.First;
                o.ShutdownTimeout = TimeSpan.FromSeconds(5);
            })
            .AddInProcessApp("loop", new HttpServerLoop(new LoopTestApp()).HandleAsync);
        var apps = builder.InProcessApps;

        // The socket's bytes go to the in-process app and back: the app only ever sees the in-memory end.
        builder.Listen(new IPEndPoint(IPAddress.Loopback, 0), client => ConnectionForwarder.ForwardAsync(client, apps.Connect("loop")));
        await using var server = builder.Build();
        await server.StartAsync();

        using var client = await RawHttpClient.ConnectAsync(server.EndPoints[0]);
        await client.SendAsync(
            "GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\nPOST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc" +
            "GET http://in.proc/where HTTP/1.1\r\nHost: in.proc\r\nConnection: close\r\n\r\n");
        Assert.Equal("Hello, World!", (await client.ReadResponseAsync()).Body);
        Assert.Equal("abc", (await client.ReadResponseAsync()).Body);
        var last = await client.ReadResponseAsync();
        Assert.Equal("in.proc|/where|", last.Body);
        Assert.Equal("close", last.Header("Connection"));
        Assert.True(await client.IsClosedByServerAsync());
    }

    [Fact]
    public void Registering_two_apps_under_one_name_is_refused_with_the_name()
    {
        var builder = FastsockServer.CreateBuilder().AddInProcessApp("hello", _ => Task.CompletedTask);
        var error = Assert.Throws<ArgumentException>(() => builder.AddInProcessApp("hello", _ => Task.CompletedTask));
        Assert.Contains("'hello'", error.Message, StringComparison.Ordinal);
        Assert.Equal(["hello"], builder.InProcessApps.Handlers.Keys);
    }
}
