using Fastsock.Hosting;
using Fastsock.Locality;
using Fastsock.Native;
using Fastsock.Samples.Proxy.Config;
using Fastsock.Samples.Proxy.Frontends;
using Fastsock.Samples.Proxy.Health;
using Fastsock.Samples.Proxy.Routing;
using Fastsock.Samples.Proxy.Stats;
using Fastsock.Samples.Proxy.Tls;
using Fastsock.Transport;
using Microsoft.Extensions.Logging;

namespace Fastsock.Samples.Proxy;

/// <summary>Builds the runtime from the checked settings, starts health checks and frontends, runs until SIGTERM/Ctrl+C.</summary>
internal static class ProxyApp
{
    public static int Run(ProxySettings settings, string source, LogLevel logLevel)
    {
        using var loggerFactory = LoggerFactory.Create(logging => logging
            .SetMinimumLevel(logLevel)
            .AddSimpleConsole(console =>
            {
                console.SingleLine = true;
                console.TimestampFormat = "HH:mm:ss ";
            }));
        var logger = loggerFactory.CreateLogger("Fastsock.Proxy");

        FastsockServer? server = null;
        var health = new HealthChecker(logger);
        try
        {
            var cores = settings.Cores ?? CpuSet.Allowed();
            cores.EnsureAllowed();
            var builder = FastsockServer.CreateBuilder()
                .UseLoggerFactory(loggerFactory)
                .Configure(options =>
                {
                    options.Cores = cores;
                    options.Steering = settings.Steering;
                    options.Outbound.Strategy = settings.OutboundStrategy;
                    options.Outbound.ConnectTimeout = settings.Timeouts.Connect;
                    options.Connection.IdleTimeout = settings.Timeouts.Client;
                });

            builder.AddInProcessApp(DemoHelloApp.Name, new DemoHelloApp().HandleAsync);
            var apps = builder.InProcessApps.Handlers;
            var connector = new ServerConnector(apps, settings.Timeouts.Connect);
            var pools = settings.Backends.ToDictionary(b => b.Name, b => new BackendPool(b, cores.Count, logger));
            foreach (var (backend, pool) in pools)
            {
                foreach (var (server1, index) in pool.Servers.Select((s, i) => (s, i)))
                {
                    if (server1.Settings.Address.Kind == ServerKind.InProc && !apps.ContainsKey(server1.Settings.Address.Path!))
                    {
                        throw new ConfigException(source, $"backends[{settings.Backends.ToList().FindIndex(b => b.Name == backend)}].servers[{index}].address",
                            $"no in-process app named '{server1.Settings.Address.Path}'; known: {string.Join(", ", apps.Keys)}");
                    }
                }

                health.Start(pool.Settings, pool.Servers);
            }

            var forwarding = settings.Forwarding switch
            {
                "copy" => ForwardingMode.Copy,
                "splice" => ForwardingMode.Splice,
                _ => ForwardingMode.Auto,
            };
            var counters = new ProxyCounters(settings, cores.Count);
            foreach (var frontend in settings.Frontends)
            {
                ConnectionHandler handler = frontend.Mode == ProxyMode.Http
                    ? new HttpFrontend(frontend, pools[frontend.Backend.Name], connector, settings.Timeouts, settings.Retries, cores.Count, logger)
                    {
                        Counters = counters.For(frontend),
                        Forwarding = forwarding,
                        SpliceThreshold = settings.HttpSpliceThreshold,
                        AbortOnClose = settings.HttpAbortOnClose,
                    }.HandleAsync
                    : new TcpFrontend(frontend, pools[frontend.Backend.Name], connector, forwarding, settings.Retries, cores.Count, logger) { Counters = counters.For(frontend) }.HandleAsync;
                if (frontend.Tls is { } tls)
                {
                    handler = FrontendTls.Wrap(tls, handler);
                }

                foreach (var bind in frontend.Binds)
                {
                    builder.Listen(bind, handler);
                }
            }

            if (settings.Admin is { } adminBind)
            {
                builder.Listen(adminBind, new AdminEndpoint(counters, pools, () => server!.GetStats()).HandleAsync);
            }

            server = builder.Build();
            server.StartAsync().GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is ConfigException or FormatException or ArgumentException or NativeCallException or InvalidOperationException)
        {
            Console.Error.WriteLine($"fastsock-proxy: {ex.Message}");
            health.DisposeAsync().AsTask().GetAwaiter().GetResult();
            return 2;
        }

        ListeningLines.Print(settings, server.EndPoints);
        // The addresses bound, not the configured ones: a bind to port 0 shows the port it got.
        int bound = 0;
        foreach (var frontend in settings.Frontends)
        {
            var binds = server.EndPoints.Skip(bound).Take(frontend.Binds.Count);
            bound += frontend.Binds.Count;
            Console.WriteLine($"Frontend {frontend.Name} ({frontend.Mode.ToString().ToLowerInvariant()}) on {string.Join(", ", binds)} -> backend {frontend.Backend.Name}: {string.Join(", ", frontend.Backend.Servers.Select(s => s.Address))}");
        }

        if (settings.Admin is not null)
        {
            Console.WriteLine($"Admin on {server.EndPoints[bound]}: /stats, /stats?format=json, /metrics");
        }

        foreach (var (worker, cpu, threadId) in server.Workers)
        {
            Console.WriteLine($"Worker {worker} -> CPU {cpu} (thread fastsock-w{worker}, tid {threadId})");
        }

        Console.WriteLine($"Config: {source}. Press Ctrl+C to stop.");
        server.WaitForShutdownAsync().GetAwaiter().GetResult();
        health.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return 0;
    }
}
