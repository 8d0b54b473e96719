using System.IO.Pipelines;
using System.Net;
using Fastsock.Hosting;
using Fastsock.Locality;
using Fastsock.Transport;

namespace Fastsock.Tests.Support;

/// <summary>Starts real servers on loopback with port 0 for tests.</summary>
internal static class TestServers
{
    public static async Task<FastsockServer> StartAsync(ConnectionHandler handler, Action<FastsockServerOptions>? configure = null, IPEndPoint? endPoint = null)
    {
        var server = FastsockServer.CreateBuilder()
            .Configure(o =>
            {
                o.ShutdownTimeout = TimeSpan.FromSeconds(5);
                configure?.Invoke(o);
            })
            .Listen(endPoint ?? new IPEndPoint(IPAddress.Loopback, 0), handler)
            .Build();
        await server.StartAsync();
        return server;
    }

    /// <summary>Reads and drops everything until the input ends (the peer's FIN, or an idle close), then returns.</summary>
    public static async Task ReadToEnd(Connection connection)
    {
        var input = connection.Transport.Input;
        while (true)
        {
            var result = await input.ReadAsync();
            input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                return;
            }
        }
    }

    /// <summary>Copies input to output until the peer half-closes, then half-closes back.</summary>
    public static async Task Echo(Connection connection)
    {
        var input = connection.Transport.Input;
        var output = connection.Transport.Output;
        while (true)
        {
            var result = await input.ReadAsync();
            foreach (var segment in result.Buffer)
            {
                await output.WriteAsync(segment);
            }

            input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted || result.IsCanceled)
            {
                break;
            }
        }

        await input.CompleteAsync();
        await output.CompleteAsync();
    }

    public static CpuSet AllCpus => CpuSet.Allowed();
}
