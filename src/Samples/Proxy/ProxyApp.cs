using Fastsock.Hosting;
using Fastsock.Locality;
using Fastsock.Native;
using Fastsock.Samples.Proxy.Config;
using Fastsock.Samples.Proxy.Frontends;
using Fastsock.Samples.Proxy.Health;
using Fastsock.Samples.Proxy.Reload;
using Fastsock.Samples.Proxy.Routing;
using Fastsock.Samples.Proxy.Stats;
using Fastsock.Transport;
using Fastsock.Transport.Tls;
using Microsoft.Extensions.Logging;

namespace Fastsock.Samples.Proxy;

/// <summary>Builds the runtime from the checked settings, starts health checks and frontends, runs until SIGTERM/Ctrl+C.</summary>
internal static class ProxyApp
{
    public static int Run(ProxySettings settings, string source, LogLevel logLevel, ReloadSource? reloadFrom = null, string? takeoverPath = null)
    {
        using var loggerFactory = LoggerFactory.Create(logging => logging
            .SetMinimumLevel(logLevel)
            .AddSimpleConsole(console =>
            {
                console.SingleLine = true;
                console.TimestampFormat = "HH:mm:ss ";
            }));
        var logger = loggerFactory.CreateLogger("Fastsock.Proxy");
        using var unobservedTaskExceptions = new UnobservedTaskExceptionLog(logger); // a fire-and-forget task's fault is one warning, not silence

        FastsockServer? server = null;
        LiveConfig? live = null;
        var health = new HealthChecker(logger);

        // One ticket key for every TLS frontend, kept by reloads and handed to a successor with the listeners; each
        // frontend's sessions stay its own (SessionScope), so sharing the key lets no ticket cross frontends.
        var ticketKeys = new TlsTicketKeys();
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
                    options.TcpFriends.Enabled = settings.TcpFriendsCgroup is not null;
                    options.TcpFriends.Cgroup = string.IsNullOrEmpty(settings.TcpFriendsCgroup) ? null : settings.TcpFriendsCgroup;
                    Takeover.AdminSocket.Configure(options.Handover, settings, takeoverPath, ticketKeys);
                });

            builder.AddInProcessApp(DemoHelloApp.Name, new DemoHelloApp().HandleAsync);
            var apps = builder.InProcessApps.Handlers;
            var connector = new ServerConnector(apps, settings.Timeouts.Connect) { Logger = logger };
            Tls.BackendTls.WarnUnverified(settings, logger);
            live = new LiveConfig(settings, source, cores.Count, connector, health, ticketKeys, logger);
            live.Dns.StartAsync().GetAwaiter().GetResult(); // dns: and srv: servers resolved once before traffic
            foreach (var (bind, handler) in live.Bindings())
            {
                builder.Listen(bind, handler);
            }

            if (settings.Admin is { } adminBind)
            {
                builder.Listen(adminBind, new AdminEndpoint(live.Counters, live.Pools, () => server!.GetStats(), logger) { RemoteApi = settings.AdminRemoteApi, Tls = live.TlsStats, TcpFriends = () => server!.GetTcpFriendsStats(), UnobservedTaskExceptions = unobservedTaskExceptions }.HandleAsync);
            }

            server = builder.Build();
            server.StartAsync().GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is ConfigException or FormatException or ArgumentException or NativeCallException or InvalidOperationException)
        {
            Console.Error.WriteLine($"fastsock-proxy: {ex.Message}");
            live?.Dns.DisposeAsync().AsTask().GetAwaiter().GetResult();
            health.DisposeAsync().AsTask().GetAwaiter().GetResult();
            return 2;
        }

        // The addresses bound, not the configured ones (a bind to port 0 shows the port it got), worked out once here.
        var endPoints = server.EndPoints;
        live!.Started(endPoints);
        ListeningLines.Print(live, settings.Admin is null ? null : endPoints[^1]);
        foreach (var (worker, cpu, threadId) in server.Workers)
        {
            Console.WriteLine($"Worker {worker} -> CPU {cpu} (thread fastsock-w{worker}, tid {threadId})");
        }

        Tls.KernelTlsLog.AtStart(settings, logger);

        if (server.TcpFriendsCgroup is { } friendsCgroup)
        {
            Console.WriteLine($"TCP friends on cgroup {friendsCgroup}");
        }

        using var reload = new ConfigReload(live, server, reloadFrom?.Path, source, reloadFrom?.Overrides ?? (_ => { }), logger);
        reload.ListenForSighup();
        // The signal handlers are in place once WaitForShutdownAsync has returned its task: only then may the line
        // that invites Ctrl+C appear (a script that sends SIGINT on seeing it would otherwise race the registration).
        var shutdown = server.WaitForShutdownAsync();
        Console.WriteLine($"Config: {source}. Press Ctrl+C to stop, kill -HUP {Environment.ProcessId} to reload.");
        shutdown.GetAwaiter().GetResult();
        live.Dns.DisposeAsync().AsTask().GetAwaiter().GetResult();
        health.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return 0;
    }
}
