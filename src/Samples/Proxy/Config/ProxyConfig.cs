namespace Fastsock.Samples.Proxy.Config;

// The JSON shape of a proxy config, bound with Microsoft.Extensions.Configuration. Everything is a string or a
// number as written by the user; ConfigValidator turns it into checked settings and names the key when it can't.

internal sealed class ProxyConfig
{
    public string? Cores { get; set; }

    public string? Steering { get; set; }

    public string? Forwarding { get; set; }

    public OutboundConfig Outbound { get; set; } = new();

    public TimeoutsConfig Timeouts { get; set; } = new();

    public int? Retries { get; set; }

    public AdminConfig? Admin { get; set; }

    public HttpConfig Http { get; set; } = new();

    public List<FrontendConfig> Frontends { get; set; } = [];

    public List<BackendConfig> Backends { get; set; } = [];

    /// <summary>The nameservers asked for <c>dns:</c> and <c>srv:</c> server addresses; absent: those of /etc/resolv.conf.</summary>
    public ResolversConfig? Resolvers { get; set; }

    /// <summary>Loopback connections of a cgroup exchange data by BPF socket redirect (start only; a reload keeps what started).</summary>
    public TcpFriendsConfig? TcpFriends { get; set; }
}

internal sealed class TcpFriendsConfig
{
    public bool Enabled { get; set; }

    /// <summary>A cgroup v2 directory or a path under the cgroup2 mount; absent: the proxy's own cgroup.</summary>
    public string? Cgroup { get; set; }
}

internal sealed class OutboundConfig
{
    public string? Strategy { get; set; }
}

internal sealed class TimeoutsConfig
{
    public string? Connect { get; set; }

    public string? Client { get; set; }

    public string? Server { get; set; }

    public string? HttpRequest { get; set; }

    public string? Idle { get; set; }

    /// <summary>Inactivity bound of an upgraded (WebSocket) connection; unset: the client and server timeouts.</summary>
    public string? Tunnel { get; set; }
}

internal sealed class HttpConfig
{
    public int? SpliceThreshold { get; set; }

    public bool? AbortOnClose { get; set; }

    /// <summary>Bytes of a response read and discarded after its client left, to keep the backend connection; 0: close instead.</summary>
    public int? MaxDrainBody { get; set; }
}

internal sealed class AdminConfig
{
    public string? Bind { get; set; }

    /// <summary>Let peers other than loopback change servers through the runtime API (stats pages are open to all who reach the bind).</summary>
    public bool? RemoteApi { get; set; }

    /// <summary>Unix socket path where the running proxy offers its listeners to <c>--takeover</c>.</summary>
    public string? Socket { get; set; }
}

internal sealed class FrontendConfig
{
    public string? Name { get; set; }

    public List<string> Bind { get; set; } = [];

    public string? Mode { get; set; }

    public string? Backend { get; set; }

    public int? MaxConn { get; set; }

    public bool AcceptProxy { get; set; }

    public FrontendTlsConfig? Tls { get; set; }
}

internal sealed class BackendConfig
{
    public string? Name { get; set; }

    public string? Balance { get; set; }

    public List<ServerConfig> Servers { get; set; } = [];

    public HealthCheckConfig? HealthCheck { get; set; }

    public KeepAliveConfig KeepAlive { get; set; } = new();

    /// <summary>A failed connect goes to another server (true, the default) or tries the same one again.</summary>
    public bool? Redispatch { get; set; }

    /// <summary>What a request may be sent again for: conn-failure, empty-response, response-timeout, buffered-body, none (HAProxy's retry-on).</summary>
    public List<string>? RetryOn { get; set; }

    /// <summary>The largest request body, in bytes, that can be sent again (when it arrived with its head); 0: only requests without body.</summary>
    public int? RetryBodyLimit { get; set; }

    public ObserveConfig? Observe { get; set; }

    /// <summary>How long a server that comes back UP takes to reach its full weight; absent: at once.</summary>
    public string? SlowStart { get; set; }

    /// <summary>How often the backend's <c>dns:</c>/<c>srv:</c> servers are resolved again (a server may set its own).</summary>
    public string? ResolveInterval { get; set; }
}

/// <summary>Passive health: errors seen on live traffic (HAProxy's observe layer4 + on-error).</summary>
internal sealed class ObserveConfig
{
    /// <summary>mark-down (the default when the backend has a health check) or none.</summary>
    public string? OnError { get; set; }

    /// <summary>Consecutive errors (connect failures, resets, timeouts) that mark a server DOWN.</summary>
    public int? ErrorLimit { get; set; }
}

internal sealed class ServerConfig
{
    public string? Name { get; set; }

    public string? Address { get; set; }

    public int? Weight { get; set; }

    public string? SendProxy { get; set; }

    public string? LocalFastPath { get; set; }

    /// <summary>TLS to this server (origination): <c>{ "enabled": true, "caFile": …, "sni": …, "verify": true }</c>.</summary>
    public Tls.BackendTlsConfig? Tls { get; set; }

    /// <summary>For a <c>dns:</c>/<c>srv:</c> address: how often it is resolved again (overrides the backend's).</summary>
    public string? ResolveInterval { get; set; }
}

internal sealed class HealthCheckConfig
{
    public string? Type { get; set; }

    public string? Path { get; set; }

    public int? ExpectStatus { get; set; }

    public string? Interval { get; set; }

    public string? Timeout { get; set; }

    public int? Rise { get; set; }

    public int? Fall { get; set; }
}

internal sealed class KeepAliveConfig
{
    /// <summary>Per server, per worker; -1 or absent: no limit but demand and the idle timeout; 0: no reuse.</summary>
    public int? MaxIdlePerWorker { get; set; }

    public string? IdleTimeout { get; set; }
}
