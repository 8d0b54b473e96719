using Fastsock.Hosting;
using Fastsock.Samples.Hello;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Samples;

/// <summary>The Hello sample's connection loop hosted in-process, as <c>fastsock-hello</c> hosts it.</summary>
internal static class HelloTestServer
{
    public static async Task<FastsockServer> StartAsync(Action<FastsockServerOptions>? configure = null)
    {
        FastsockServer? server = null;
        var app = new HelloApp(() => server!.GetStats());
        server = await TestServers.StartAsync(app.HandleAsync, configure);
        return server;
    }

    public static long HandlerErrors(FastsockServer server) => server.GetStats().Sum(w => w.HandlerErrors);
}
