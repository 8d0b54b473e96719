using System.Net;
using Fastsock.Hosting;
using Fastsock.Locality;
using Fastsock.Transport;

namespace Fastsock.Samples.Proxy.Config;

/// <summary>
/// Turns what the user wrote into <see cref="ProxySettings"/>, filling HAProxy-like defaults, and stops at the first
/// problem with the file, the key (<c>backends[1].servers[0].address</c>) and what to write instead.
/// </summary>
internal static partial class ConfigValidator
{
    public static ProxySettings Validate(ProxyConfig config, string source)
    {
        var check = new Checker(source);
        var cores = config.Cores is null ? null : check.Parse("cores", () => CpuSet.Parse(config.Cores));
        var steering = check.OneOf("steering", config.Steering ?? "cpu", ("cpu", ListenerSteering.Cpu), ("hash", ListenerSteering.Hash), ("single", ListenerSteering.Single));
        var forwarding = check.OneOf("forwarding", config.Forwarding ?? "auto", ("auto", "auto"), ("copy", "copy"), ("splice", "splice"));
        var strategy = check.Parse("outbound.strategy", () => OutboundOptions.ParseStrategy(config.Outbound.Strategy ?? "kernel"));
        var timeouts = new TimeoutSettings(
            check.Duration("timeouts.connect", config.Timeouts.Connect, "5s"),
            check.Duration("timeouts.client", config.Timeouts.Client, "30s"),
            check.Duration("timeouts.server", config.Timeouts.Server, "30s"),
            check.Duration("timeouts.httpRequest", config.Timeouts.HttpRequest, "10s"),
            check.Duration("timeouts.idle", config.Timeouts.Idle, "60s"))
        {
            Tunnel = config.Timeouts.Tunnel is { } tunnel ? check.Duration("timeouts.tunnel", tunnel, tunnel) : null,
        };
        int retries = check.Range("retries", config.Retries ?? 2, 0, 10);
        int spliceThreshold = check.Range("http.spliceThreshold", config.Http.SpliceThreshold ?? ProxySettings.DefaultSpliceThreshold, 4096, int.MaxValue);
        bool abortOnClose = config.Http.AbortOnClose ?? true;
        int maxDrainBody = check.Range("http.maxDrainBody", config.Http.MaxDrainBody ?? ProxySettings.DefaultMaxDrainBody, 0, ProxySettings.MaxMaxDrainBody);
        var admin = config.Admin?.Bind is { } adminBind ? check.EndPoint("admin.bind", adminBind) : null;

        var backends = new List<BackendSettings>();
        for (int i = 0; i < config.Backends.Count; i++)
        {
            backends.Add(Backend(check, $"backends[{i}]", config.Backends[i], i, backends));
        }

        if (config.Frontends.Count == 0)
        {
            throw check.Error("frontends", "no frontend: add one, e.g. { \"bind\": [\"127.0.0.1:8080\"], \"mode\": \"http\", \"backend\": \"app\" }");
        }

        var frontends = new List<FrontendSettings>();
        for (int i = 0; i < config.Frontends.Count; i++)
        {
            var key = $"frontends[{i}]";
            var frontend = config.Frontends[i];
            var name = frontend.Name ?? $"frontend{i}";
            if (frontends.Exists(f => f.Name == name))
            {
                throw check.Error($"{key}.name", $"'{name}' is used twice; frontend names must be unique");
            }

            if (frontend.Bind.Count == 0)
            {
                throw check.Error($"{key}.bind", "empty: give at least one address, e.g. [\"127.0.0.1:8080\"]");
            }

            var binds = frontend.Bind.Select((b, j) => check.EndPoint($"{key}.bind[{j}]", b)).ToList();
            var mode = check.OneOf($"{key}.mode", frontend.Mode ?? "http", ("http", ProxyMode.Http), ("tcp", ProxyMode.Tcp));
            var backendName = frontend.Backend ?? throw check.Error($"{key}.backend", "missing: name the backend this frontend sends to");
            var backend = backends.Find(b => b.Name == backendName)
                ?? throw check.Error($"{key}.backend", $"'{backendName}' is not a backend; defined: {string.Join(", ", backends.Select(b => b.Name))}");
            int maxConn = check.Range($"{key}.maxConn", frontend.MaxConn ?? 10_000, 1, 10_000_000);
            var tls = frontend.Tls is null ? null : Fastsock.Samples.Proxy.Tls.CertificateFiles.Load(source, $"{key}.tls", frontend.Tls, DateTimeOffset.UtcNow);
            frontends.Add(new FrontendSettings(name, binds, mode, backend, maxConn, frontend.AcceptProxy, tls));
        }

        var resolvers = Resolvers(check, config.Resolvers);
        var adminSocket = config.Admin?.Socket is { } socket ? Takeover.AdminSocket.Validate(source, "admin.socket", socket) : null;
        return new ProxySettings(cores, steering, forwarding, strategy, timeouts, retries, admin, frontends, backends, spliceThreshold, abortOnClose, resolvers, adminSocket)
        {
            AdminRemoteApi = config.Admin?.RemoteApi ?? false,
            HttpMaxDrainBody = maxDrainBody,
            TcpFriendsCgroup = config.TcpFriends is { Enabled: true } friends ? friends.Cgroup ?? "" : null,
        };
    }

    private static BackendSettings Backend(Checker check, string key, BackendConfig backend, int index, List<BackendSettings> previous)
    {
        var name = backend.Name ?? $"backend{index}";
        if (previous.Exists(b => b.Name == name))
        {
            throw check.Error($"{key}.name", $"'{name}' is used twice; backend names must be unique");
        }

        var balance = check.OneOf($"{key}.balance", backend.Balance ?? "roundrobin",
            ("roundrobin", BalanceAlgorithm.RoundRobin), ("leastconn", BalanceAlgorithm.LeastConn), ("source", BalanceAlgorithm.Source), ("random", BalanceAlgorithm.Random));
        if (backend.Servers.Count == 0)
        {
            throw check.Error($"{key}.servers", "empty: give at least one server, e.g. { \"address\": \"127.0.0.1:9000\" }");
        }

        if (backend.Servers.Count > Routing.BackendPool.MaxServers)
        {
            throw check.Error($"{key}.servers", $"{backend.Servers.Count} servers; a backend holds at most {Routing.BackendPool.MaxServers}: split it into several backends");
        }

        var servers = new List<ServerSettings>();
        var discovered = new List<DnsServerTemplate>();
        var resolveInterval = ResolveInterval(check, $"{key}.resolveInterval", backend.ResolveInterval);
        for (int i = 0; i < backend.Servers.Count; i++)
        {
            var server = backend.Servers[i];
            var serverKey = $"{key}.servers[{i}]";
            var serverName = server.Name ?? $"server{i}";
            if (servers.Exists(s => s.Name == serverName) || discovered.Exists(s => s.Name == serverName))
            {
                throw check.Error($"{serverKey}.name", $"'{serverName}' is used twice in backend '{name}'");
            }

            if (DnsServerQuery.IsDnsAddress(server.Address))
            {
                discovered.Add(DnsServer(check, serverKey, server, serverName, resolveInterval));
                continue;
            }

            RejectResolveInterval(check, $"{serverKey}.resolveInterval", server.ResolveInterval, "its address is not a dns: or srv: name");
            var address = check.ServerAddress($"{serverKey}.address", server.Address);
            int weight = check.Range($"{serverKey}.weight", server.Weight ?? 1, 0, 256);
            var sendProxy = check.OneOf($"{serverKey}.sendProxy", server.SendProxy ?? "none", ("none", ProxyHeaderMode.None), ("v1", ProxyHeaderMode.V1), ("v2", ProxyHeaderMode.V2));
            var fastPath = server.LocalFastPath is null ? null : check.UnixPath($"{serverKey}.localFastPath", server.LocalFastPath);
            var tls = server.Tls is null ? null : Tls.BackendTlsFiles.Load(check.Source, $"{serverKey}.tls", server.Tls, address);
            servers.Add(new ServerSettings(serverName, address, weight, sendProxy, fastPath, tls));
        }

        if (discovered.Count == 0)
        {
            RejectResolveInterval(check, $"{key}.resolveInterval", backend.ResolveInterval, "no server of this backend has a dns: or srv: address");
        }

        if (servers.TrueForAll(s => s.Weight == 0) && discovered.TrueForAll(d => d.Weight == 0))
        {
            throw check.Error($"{key}.servers", "every server has weight 0, so none would get traffic; give one a weight of 1 or more");
        }

        HealthCheckSettings? health = null;
        if (backend.HealthCheck is { } hc)
        {
            var hcKey = $"{key}.healthCheck";
            var type = check.OneOf($"{hcKey}.type", hc.Type ?? "tcp", ("tcp", HealthCheckType.Tcp), ("http", HealthCheckType.Http));
            var path = hc.Path ?? "/";
            if (!path.StartsWith('/') || path.Any(c => c <= ' ' || c >= 0x7f))
            {
                throw check.Error($"{hcKey}.path", $"'{path}' is not a request path; write it like /health");
            }

            health = new HealthCheckSettings(
                type,
                path,
                check.Range($"{hcKey}.expectStatus", hc.ExpectStatus ?? 200, 100, 599),
                check.Duration($"{hcKey}.interval", hc.Interval, "2s"),
                check.Duration($"{hcKey}.timeout", hc.Timeout, "1s"),
                check.Range($"{hcKey}.rise", hc.Rise ?? 2, 1, 100),
                check.Range($"{hcKey}.fall", hc.Fall ?? 3, 1, 100));
        }

        // HAProxy keeps idle server connections as demand leaves them unless pool-max-conn says otherwise: a fixed default
        // cap would close one backend connection per request whenever a worker has more clients in flight than the cap.
        int maxIdle = backend.KeepAlive.MaxIdlePerWorker ?? Routing.BackendConnectionPool.Unlimited;
        if (maxIdle < Routing.BackendConnectionPool.Unlimited || maxIdle > 10_000_000)
        {
            throw check.Error($"{key}.keepAlive.maxIdlePerWorker",
                $"{maxIdle} is out of range; use -1 (no limit but demand and keepAlive.idleTimeout, the default), 0 (no reuse) or an idle connection count per server per worker up to 10000000");
        }

        var keepAliveIdle = check.Duration($"{key}.keepAlive.idleTimeout", backend.KeepAlive.IdleTimeout, "30s");
        return new BackendSettings(name, balance, servers, health, maxIdle, keepAliveIdle, Faults(check, key, backend), discovered.Count == 0 ? null : discovered);
    }

    private static FaultSettings Faults(Checker check, string key, BackendConfig backend)
    {
        var retryOn = FaultSettings.Default.RetryOn;
        if (backend.RetryOn is { } list)
        {
            retryOn = RetryOn.None;
            for (int i = 0; i < list.Count; i++)
            {
                retryOn |= check.OneOf(
                    $"{key}.retryOn[{i}]", list[i], ("conn-failure", RetryOn.ConnFailure), ("empty-response", RetryOn.EmptyResponse),
                    ("response-timeout", RetryOn.ResponseTimeout), ("buffered-body", RetryOn.BufferedBody), ("none", RetryOn.None));
            }
        }

        bool markDown = check.OneOf($"{key}.observe.onError", backend.Observe?.OnError ?? "mark-down", ("mark-down", true), ("none", false));
        int errorLimit = check.Range($"{key}.observe.errorLimit", backend.Observe?.ErrorLimit ?? FaultSettings.Default.ErrorLimit, 1, 1000);
        var slowStart = backend.SlowStart is null ? TimeSpan.Zero : check.Duration($"{key}.slowStart", backend.SlowStart, "0s");
        int retryBodyLimit = check.Range($"{key}.retryBodyLimit", backend.RetryBodyLimit ?? FaultSettings.Default.RetryBodyLimit, 0, 1 << 20);
        return new FaultSettings(backend.Redispatch ?? true, retryOn, markDown, errorLimit, slowStart, retryBodyLimit);
    }

    private sealed class Checker(string source)
    {
        public ConfigException Error(string key, string reason) => new(source, key, reason);

        public string Source => source;

        public T Parse<T>(string key, Func<T> parse)
        {
            try
            {
                return parse();
            }
            catch (FormatException ex)
            {
                throw Error(key, ex.Message);
            }
        }

        public T OneOf<T>(string key, string value, params (string Name, T Value)[] choices)
        {
            foreach (var (name, choice) in choices)
            {
                if (string.Equals(name, value.Trim(), StringComparison.OrdinalIgnoreCase))
                {
                    return choice;
                }
            }

            throw Error(key, $"'{value}' is not one of {string.Join(", ", choices.Select(c => c.Name))}");
        }

        public int Range(string key, int value, int min, int max) =>
            value >= min && value <= max ? value : throw Error(key, $"{value} is out of range; use {min} to {max}");

        public TimeSpan Duration(string key, string? text, string fallback)
        {
            var written = text ?? fallback;
            return Config.Duration.PositiveOrReason(written, out var value) is { } reason ? throw Error(key, reason) : value;
        }

        public IPEndPoint EndPoint(string key, string text) => Parse(key, () => FastsockServerBuilder.ParseUrl(text));

        public string UnixPath(string key, string text) =>
            ServerAddress(key, text) is { Kind: ServerKind.Unix } unix ? unix.Path!
                : throw Error(key, $"'{text}' is not a unix socket; write it like unix:/run/app.sock");

        public ServerAddress ServerAddress(string key, string? text)
        {
            if (string.IsNullOrWhiteSpace(text))
            {
                throw Error(key, "missing: write host:port (an IP address), unix:/path, inproc:NAME, dns:NAME:PORT or srv:_service._proto.NAME");
            }

            if (text.StartsWith("unix:", StringComparison.Ordinal))
            {
                var path = text["unix:".Length..];
                return path.StartsWith('/') ? new ServerAddress(ServerKind.Unix, null, path)
                    : throw Error(key, $"'{text}': a unix socket path must be absolute, e.g. unix:/run/app.sock");
            }

            if (text.StartsWith("inproc:", StringComparison.Ordinal))
            {
                var name = text["inproc:".Length..];
                return name.Length > 0 ? new ServerAddress(ServerKind.InProc, null, name)
                    : throw Error(key, $"'{text}': name the in-process app, e.g. inproc:hello");
            }

            var endPoint = EndPoint(key, text);
            if (endPoint.Port == 0)
            {
                throw Error(key, $"'{text}': a server needs a port other than 0");
            }

            return new ServerAddress(ServerKind.Tcp, endPoint, null);
        }
    }
}
