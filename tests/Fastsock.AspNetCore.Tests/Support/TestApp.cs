using System.Net;
using Fastsock.Locality;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Fastsock.AspNetCore.Tests.Support;

/// <summary>A real ASP.NET Core app on Fastsock's workers, in this process, on a port the kernel picked.</summary>
internal sealed class TestApp : IAsyncDisposable
{
    private TestApp(WebApplication app, IReadOnlyList<string> addresses)
    {
        App = app;
        Addresses = addresses;
    }

    public WebApplication App { get; }

    /// <summary>What Kestrel reports as bound, port 0 resolved: <c>http://127.0.0.1:40123</c>.</summary>
    public IReadOnlyList<string> Addresses { get; }

    public Uri BaseUri => new(Addresses[0]);

    public IPEndPoint EndPoint => IPEndPoint.Parse(BaseUri.Authority);

    /// <summary>Builds, maps and starts the app; <paramref name="cores"/> null: every allowed CPU.</summary>
    public static async Task<TestApp> StartAsync(Action<WebApplication> map, CpuSet? cores = null, string url = "http://127.0.0.1:0", Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(url);
        builder.WebHost.UseFastsock(o => o.Cores = cores);
        configure?.Invoke(builder);
        var app = builder.Build();
        map(app);
        try
        {
            await app.StartAsync().WaitAsync(Clients.Timeout);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.ToList();
        return new TestApp(app, addresses);
    }

    public HttpClient Client(int maxConnections = int.MaxValue) => new(new SocketsHttpHandler { MaxConnectionsPerServer = maxConnections })
    {
        BaseAddress = BaseUri,
        Timeout = Clients.Timeout,
    };

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(Clients.Timeout);
        await App.StopAsync(stop.Token);
        await App.DisposeAsync();
    }
}
