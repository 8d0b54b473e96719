using System.Collections.Concurrent;
using System.Net;
using Fastsock.Hosting;
using Fastsock.Samples.Proxy.Config;
using Fastsock.Samples.Proxy.Discovery;
using Fastsock.Samples.Proxy.Frontends;
using Fastsock.Samples.Proxy.Health;
using Fastsock.Samples.Proxy.Routing;
using Fastsock.Samples.Proxy.Stats;
using Fastsock.Transport;
using Microsoft.Extensions.Logging;

namespace Fastsock.Samples.Proxy.Reload;

/// <summary>
/// The parts of a running proxy a reload changes: backends (their server sets), frontends (behind a
/// <see cref="FrontendSlot"/> each, so a reload swaps what new connections get) and the counters. Built once at
/// start from the checked settings; <see cref="ConfigReload"/> changes it, one reload at a time.
/// </summary>
internal sealed class LiveConfig
{
    private readonly int _workerCount;
    private readonly ILogger _logger;
    private readonly ForwardingMode _forwarding;
    private readonly int _spliceThreshold;
    private readonly bool _abortOnClose;
    private readonly int _maxDrainBody;
    private readonly Dictionary<string, LiveFrontend> _frontends = [];

    public LiveConfig(ProxySettings settings, string source, int workerCount, ServerConnector connector, HealthChecker health, Fastsock.Transport.Tls.TlsTicketKeys ticketKeys, ILogger logger)
    {
        TicketKeys = ticketKeys;
        CheckInProcessApps(settings, source, [.. connector.InProcessApps.Keys]);
        Settings = settings;
        _workerCount = workerCount;
        _logger = logger;
        ProxyHeadersBeforeTls = new ProxyHeaderExchange(logger, ProxyHeaderExchange.DefaultTimeout);
        Connector = connector;
        Health = health;
        _forwarding = settings.Forwarding switch
        {
            "copy" => ForwardingMode.Copy,
            "splice" => ForwardingMode.Splice,
            _ => ForwardingMode.Auto,
        };
        _spliceThreshold = settings.HttpSpliceThreshold;
        _abortOnClose = settings.HttpAbortOnClose;
        _maxDrainBody = settings.HttpMaxDrainBody;
        foreach (var backend in settings.Backends)
        {
            var pool = new BackendPool(backend, workerCount, logger);
            Pools[backend.Name] = pool;
            health.Follow(pool);
        }

        // Off the workers: dns: and srv: servers reach the pools through ApplyServers (ProxyApp starts it).
        Dns = new DnsDiscovery(settings, b => servers =>
        {
            // A backend a failed reload never built has no pool: its answer has nowhere to go until the next reload.
            if (Pools.TryGetValue(b.Name, out var pool))
            {
                pool.ApplyServers(servers);
            }
        }, logger);
        Counters = new ProxyCounters(settings, workerCount);
        foreach (var frontend in settings.Frontends)
        {
            var built = Build(frontend, settings, existing: null, out var handler);
            _frontends[frontend.Name] = new LiveFrontend(frontend, new FrontendSlot(Tls.FrontendTls.Handler(frontend, handler, TlsStats, TicketKeys, ProxyHeadersBeforeTls)), built);
        }
    }

    /// <summary>The settings running now (restart-only keys keep their values from the start).</summary>
    public ProxySettings Settings { get; private set; }

    /// <summary>Backends by name; a reload adds new ones (the admin endpoint reads it live).</summary>
    public ConcurrentDictionary<string, BackendPool> Pools { get; } = new();

    /// <summary>Reads the PROXY header of TLS frontends with acceptProxy, in the clear before the handshake.</summary>
    public ProxyHeaderExchange ProxyHeadersBeforeTls { get; }

    public ProxyCounters Counters { get; }

    /// <summary>The TLS frontends' session ticket key, kept across reloads and handed over with the listeners.</summary>
    public Fastsock.Transport.Tls.TlsTicketKeys TicketKeys { get; }

    /// <summary>TLS counters per frontend, kept across reloads.</summary>
    public Tls.FrontendTlsStats TlsStats { get; } = new();

    /// <summary>Resolves the <c>dns:</c>/<c>srv:</c> servers of the backends.</summary>
    public DnsDiscovery Dns { get; }

    public ServerConnector Connector { get; }

    public HealthChecker Health { get; }

    public IEnumerable<LiveFrontend> Frontends => Settings.Frontends.Select(f => _frontends[f.Name]);

    /// <summary>What to listen on at start, in config order (the order <see cref="FastsockServer.EndPoints"/> lists them).</summary>
    public IEnumerable<(IPEndPoint Bind, ConnectionHandler Handler)> Bindings() =>
        Frontends.SelectMany(f => f.Settings.Binds.Select(b => (b, (ConnectionHandler)f.Slot.HandleAsync)));

    /// <summary>Takes note of where the start-up binds got bound (port 0 resolved), in the order of <see cref="Bindings"/>.</summary>
    public void Started(IReadOnlyList<IPEndPoint> endPoints)
    {
        int next = 0;
        foreach (var frontend in Frontends)
        {
            foreach (var bind in frontend.Settings.Binds)
            {
                frontend.Bound[bind] = endPoints[next++];
            }
        }
    }

    /// <summary>Throws the config error of the first <c>inproc:</c> server naming no app of this process.</summary>
    public static void CheckInProcessApps(ProxySettings settings, string source, IReadOnlyCollection<string> apps)
    {
        for (int b = 0; b < settings.Backends.Count; b++)
        {
            var servers = settings.Backends[b].Servers;
            for (int s = 0; s < servers.Count; s++)
            {
                var address = servers[s].Address;
                if (address.Kind == ServerKind.InProc && !apps.Contains(address.Path!))
                {
                    throw new ConfigException(source, $"backends[{b}].servers[{s}].address",
                        $"no in-process app named '{address.Path}'; known: {string.Join(", ", apps)}");
                }
            }
        }
    }

    internal LiveFrontend? Find(string name) => _frontends.GetValueOrDefault(name);

    internal void Remove(string name) => _frontends.Remove(name);

    internal void Add(LiveFrontend frontend) => _frontends[frontend.Settings.Name] = frontend;

    internal void Publish(ProxySettings settings) => Settings = settings;

    /// <summary>
    /// The frontend object for <paramref name="settings"/>: an http frontend with the same backend is kept and
    /// reconfigured (its keep-alive pools stay), anything else is new.
    /// </summary>
    internal object Build(FrontendSettings settings, ProxySettings proxy, object? existing, out ConnectionHandler handler)
    {
        var backend = Pools[settings.Backend.Name];
        var timeouts = proxy.Timeouts;
        int retries = proxy.Retries;
        if (settings.Mode == ProxyMode.Http)
        {
            if (existing is HttpFrontend kept && kept.Backend == backend && kept.Counters == Counters.For(settings))
            {
                kept.Reconfigure(settings, timeouts, retries);
                handler = kept.HandleAsync;
                return kept;
            }

            var http = new HttpFrontend(settings, backend, Connector, timeouts, retries, _workerCount, _logger)
            {
                Counters = Counters.For(settings),
                Forwarding = _forwarding,
                SpliceThreshold = _spliceThreshold,
                AbortOnClose = _abortOnClose,
                MaxDrainBody = _maxDrainBody,
            };
            handler = http.HandleAsync;
            return http;
        }

        var tcp = new TcpFrontend(settings, backend, Connector, _forwarding, retries, _workerCount, _logger) { Counters = Counters.For(settings) };
        handler = tcp.HandleAsync;
        return tcp;
    }
}
