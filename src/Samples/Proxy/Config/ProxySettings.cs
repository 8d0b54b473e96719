using System.Net;
using Fastsock.Locality;
using Fastsock.Transport;

namespace Fastsock.Samples.Proxy.Config;

// The checked settings the proxy runs on, built by ConfigValidator from a ProxyConfig.

internal enum ProxyMode
{
    Tcp,
    Http,
}

internal enum BalanceAlgorithm
{
    RoundRobin,
    LeastConn,
    Source,
    Random,
}

internal enum ServerKind
{
    Tcp,
    Unix,
    InProc,
}

internal enum HealthCheckType
{
    Tcp,
    Http,
}

internal enum ProxyHeaderMode
{
    None,
    V1,
    V2,
}

internal sealed record ServerAddress(ServerKind Kind, IPEndPoint? EndPoint, string? Path)
{
    public override string ToString() => Kind switch
    {
        ServerKind.Tcp => EndPoint!.ToString(),
        ServerKind.Unix => $"unix:{Path}",
        _ => $"inproc:{Path}",
    };
}

/// <param name="LocalFastPath">A unix socket the same backend also listens on: used instead of TCP when it exists.</param>
/// <param name="Tls">TLS to this server; null: plaintext.</param>
internal sealed record ServerSettings(string Name, ServerAddress Address, int Weight, ProxyHeaderMode SendProxy, string? LocalFastPath = null, Tls.BackendTlsSettings? Tls = null);

internal sealed record HealthCheckSettings(HealthCheckType Type, string Path, int ExpectStatus, TimeSpan Interval, TimeSpan Timeout, int Rise, int Fall);

/// <param name="MaxIdlePerWorker">
/// Idle connections each worker may keep per server: -1 (the default) no limit but demand and
/// <paramref name="KeepAliveIdle"/>, 0 none (a connection per request).
/// </param>
/// <param name="KeepAliveIdle">How long a backend connection may stay idle before it is closed.</param>
internal sealed record BackendSettings(
    string Name,
    BalanceAlgorithm Balance,
    IReadOnlyList<ServerSettings> Servers,
    HealthCheckSettings? HealthCheck,
    int MaxIdlePerWorker,
    TimeSpan KeepAliveIdle,
    FaultSettings? FaultHandling = null,
    IReadOnlyList<DnsServerTemplate>? DnsServers = null)
{
    /// <summary>What the backend does when a server fails (redispatch, retry-on, passive health, slow start).</summary>
    public FaultSettings Faults => FaultHandling ?? FaultSettings.Default;

    /// <summary>Servers written as <c>dns:</c>/<c>srv:</c> names: resolved at run time, in addition to <see cref="Servers"/>.</summary>
    public IReadOnlyList<DnsServerTemplate> Discovered => DnsServers ?? [];
}

/// <summary>What may be sent again after a failure (HAProxy's retry-on); always within <c>retries</c>.</summary>
[Flags]
internal enum RetryOn
{
    None = 0,

    /// <summary>The connect failed (refused, unreachable, timed out): nothing was sent, any request may go again.</summary>
    ConnFailure = 1,

    /// <summary>The connection died before any response byte: an idempotent request without body (or with its body in hand) goes again.</summary>
    EmptyResponse = 2,

    /// <summary>No response byte within the server timeout: an idempotent request goes again (HAProxy's response-timeout).</summary>
    ResponseTimeout = 4,

    /// <summary>With empty-response or response-timeout: also a request of any method whose whole body (if any) arrived with its head.</summary>
    BufferedBody = 8,
}

/// <param name="Redispatch">A failed attempt goes to another server the balancer picks, not the same one again.</param>
/// <param name="MarkDownOnError">Passive health: <paramref name="ErrorLimit"/> errors in a row on live traffic mark the server DOWN.</param>
/// <param name="SlowStart">A server back UP ramps its weight from 1 to full over this time; zero: full at once.</param>
/// <param name="RetryBodyLimit">The largest Content-Length body (bytes) kept in hand so that its request can go again.</param>
internal sealed record FaultSettings(bool Redispatch, RetryOn RetryOn, bool MarkDownOnError, int ErrorLimit, TimeSpan SlowStart, int RetryBodyLimit = 16 * 1024)
{
    public static FaultSettings Default { get; } = new(true, RetryOn.ConnFailure | RetryOn.EmptyResponse, true, 3, TimeSpan.Zero);
}

internal sealed record FrontendSettings(string Name, IReadOnlyList<IPEndPoint> Binds, ProxyMode Mode, BackendSettings Backend, int MaxConn, bool AcceptProxy, Fastsock.Samples.Proxy.Tls.FrontendTlsSettings? Tls = null);

internal sealed record TimeoutSettings(TimeSpan Connect, TimeSpan Client, TimeSpan Server, TimeSpan HttpRequest, TimeSpan Idle)
{
    /// <summary>
    /// <c>timeouts.tunnel</c>: how long an upgraded (WebSocket) connection may carry no byte either way; null when not
    /// written, and then, as in HAProxy, the client and server timeouts bound it (<see cref="TunnelIdle"/>).
    /// </summary>
    public TimeSpan? Tunnel { get; init; }

    /// <summary>The inactivity bound of a tunnel: <see cref="Tunnel"/>, else the shorter of the client and server timeouts.</summary>
    public TimeSpan TunnelIdle => Tunnel ?? (Client < Server ? Client : Server);
}

internal sealed record ProxySettings(
    CpuSet? Cores,
    ListenerSteering Steering,
    string Forwarding,
    SourcePortStrategy OutboundStrategy,
    TimeoutSettings Timeouts,
    int Retries,
    IPEndPoint? Admin,
    IReadOnlyList<FrontendSettings> Frontends,
    IReadOnlyList<BackendSettings> Backends,
    int HttpSpliceThreshold = ProxySettings.DefaultSpliceThreshold,
    bool HttpAbortOnClose = true,
    ResolverSettings? Resolvers = null,
    string? AdminSocket = null)
{
    /// <summary>http mode: bodies of known length from this size on are spliced (forwarding auto or splice).</summary>
    public const int DefaultSpliceThreshold = 64 * 1024;

    /// <summary>http mode: what is read and discarded of a response whose client left, to keep its backend connection.</summary>
    public const int DefaultMaxDrainBody = 64 * 1024;

    /// <summary>The largest <c>http.maxDrainBody</c>: past a few MiB, a new connection costs less than reading for nobody.</summary>
    public const int MaxMaxDrainBody = 1024 * 1024 * 1024;

    /// <summary><c>http.maxDrainBody</c>: bytes of a response read and discarded after its client left; 0: close the backend connection.</summary>
    public int HttpMaxDrainBody { get; init; } = DefaultMaxDrainBody;

    /// <summary>The admin endpoint's runtime API (POST) answers peers other than loopback too (<c>admin.remoteApi</c>).</summary>
    public bool AdminRemoteApi { get; init; }

    /// <summary><c>tcpFriends</c>: null when off, else the cgroup (empty: the proxy's own).</summary>
    public string? TcpFriendsCgroup { get; init; }
}

/// <summary>A config problem: which file, which key, what is wrong. The proxy prints it on one line and exits with 2.</summary>
internal sealed class ConfigException(string source, string key, string reason)
    : Exception(key.Length == 0 ? $"{source}: {reason}" : $"{source}: {key}: {reason}")
{
    public string File { get; } = source;

    public string Key { get; } = key;
}
