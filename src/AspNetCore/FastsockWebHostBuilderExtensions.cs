using Fastsock.AspNetCore.Internal;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Fastsock.AspNetCore;

/// <summary>Runs Kestrel on Fastsock's pinned per-core workers.</summary>
public static class FastsockWebHostBuilderExtensions
{
    /// <summary>
    /// Serves Kestrel's endpoints with one SO_REUSEPORT listener per worker (one worker per CPU): a connection is
    /// accepted by the worker on the CPU that took its SYN, and its HTTP parsing, middleware and endpoint run there.
    /// <code>builder.WebHost.UseFastsock(o => o.Cores = CpuSet.Parse("0-3"));</code>
    /// </summary>
    public static IWebHostBuilder UseFastsock(this IWebHostBuilder builder, Action<FastsockTransportOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.ConfigureServices(services =>
        {
            // Kestrel takes the last factory registered that can bind an endpoint: this one, after UseSockets' default.
            services.AddSingleton<IConnectionListenerFactory, FastsockTransportFactory>();
            if (configure is not null)
            {
                services.Configure(configure);
            }
        });
    }
}
