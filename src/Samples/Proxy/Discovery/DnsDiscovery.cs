using System.Net;
using Fastsock.Samples.Proxy.Config;
using Microsoft.Extensions.Logging;

namespace Fastsock.Samples.Proxy.Discovery;

/// <summary>
/// Servers from DNS for the whole proxy: one <see cref="BackendDiscovery"/> per backend that has <c>dns:</c>/<c>srv:</c>
/// servers, all asking the same nameservers (the <c>resolvers</c> section, or /etc/resolv.conf). Runs on the thread
/// pool, never on a worker: a slow nameserver delays only the next server set, not a request.
/// </summary>
internal sealed partial class DnsDiscovery : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly ILogger _logger;
    private readonly string[] _backendNames;
    private Task _running = Task.CompletedTask;

    private DnsDiscovery(DnsLookup lookup, IReadOnlyList<BackendDiscovery> backends, ILogger logger)
    {
        Lookup = lookup;
        Backends = backends;
        _logger = logger;
        _backendNames = [.. backends.Select(b => b.Name)];
    }

    public DnsLookup Lookup { get; }

    public IReadOnlyList<BackendDiscovery> Backends { get; }

    /// <summary>
    /// The discovery for <paramref name="settings"/>, or null when no server is a DNS name. <paramref name="applyTo"/>
    /// gives, for a backend, where its new server sets go.
    /// </summary>
    /// <exception cref="InvalidOperationException">No nameserver configured and none in <paramref name="resolvConf"/>.</exception>
    public static DnsDiscovery? Create(
        ProxySettings settings, Func<BackendSettings, Action<IReadOnlyList<ServerSettings>>> applyTo, ILogger logger, string resolvConf = ResolvConf.DefaultPath)
    {
        var backends = settings.Backends.Where(b => b.Discovered.Count > 0).ToList();
        if (backends.Count == 0)
        {
            return null;
        }

        var resolvers = settings.Resolvers ?? ResolverSettings.Default;
        IReadOnlyList<IPEndPoint> nameservers = resolvers.Nameservers.Count > 0 ? resolvers.Nameservers : ResolvConf.Nameservers(resolvConf);
        if (nameservers.Count == 0)
        {
            throw new InvalidOperationException(
                $"dns: and srv: servers need a nameserver and {resolvConf} names none; add one to the config, e.g. \"resolvers\": {{ \"nameservers\": [\"127.0.0.1:53\"] }}");
        }

        var lookup = new DnsLookup(nameservers, resolvers);
        return new DnsDiscovery(lookup, [.. backends.Select(b => new BackendDiscovery(b, lookup, applyTo(b), logger))], logger);
    }

    /// <summary>
    /// Resolves every name once (the first server sets, before the proxy takes traffic; a name that fails starts with
    /// no servers and is asked again on its interval), then keeps resolving in the background.
    /// </summary>
    public async Task StartAsync()
    {
        Starting(_logger, Lookup.Nameservers, _backendNames);
        await Task.WhenAll(Backends.Select(b => b.ResolveAllAsync(_stop.Token))).ConfigureAwait(false);
        _running = Task.WhenAll(Backends.Select(b => b.RunAsync(_stop.Token)));
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _running.ConfigureAwait(false);
        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "DNS servers: asking {Nameservers} for backends {Backends}")]
    private static partial void Starting(ILogger logger, IReadOnlyList<IPEndPoint> nameservers, string[] backends);
}
