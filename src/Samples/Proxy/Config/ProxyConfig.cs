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
}

internal sealed class HttpConfig
{
    public int? SpliceThreshold { get; set; }

    public bool? AbortOnClose { get; set; }
}

internal sealed class AdminConfig
{
    public string? Bind { get; set; }
}

internal sealed class FrontendConfig
{
    public string? Name { get; set; }

    public List<string> Bind { get; set; } = [];

    public string? Mode { get; set; }

    public string? Backend { get; set; }

    public int? MaxConn { get; set; }

    public bool AcceptProxy { get; set; }
}

internal sealed class BackendConfig
{
    public string? Name { get; set; }

    public string? Balance { get; set; }

    public List<ServerConfig> Servers { get; set; } = [];

    public HealthCheckConfig? HealthCheck { get; set; }

    public KeepAliveConfig KeepAlive { get; set; } = new();
}

internal sealed class ServerConfig
{
    public string? Name { get; set; }

    public string? Address { get; set; }

    public int? Weight { get; set; }

    public string? SendProxy { get; set; }

    public string? LocalFastPath { get; set; }
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
