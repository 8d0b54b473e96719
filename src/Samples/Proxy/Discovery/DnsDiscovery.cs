using System.Net;
using Fastsock.Samples.Proxy.Config;
using Microsoft.Extensions.Logging;

namespace Fastsock.Samples.Proxy.Discovery;

/// <summary>
/// Servers from DNS for the whole proxy: one <see cref="BackendDiscovery"/> per backend that has <c>dns:</c>/<c>srv:</c>
/// servers, all asking the same nameservers (the <c>resolvers</c> section, or /etc/resolv.conf). Runs on the thread
/// pool, never on a worker: a slow nameserver delays only the next server set, not a request. A config reload
/// (<see cref="ReloadAsync{T}"/>) carries the last answers of names still configured over to the new settings.
/// </summary>
internal sealed partial class DnsDiscovery : IAsyncDisposable
{
    private readonly Func<BackendSettings, Action<IReadOnlyList<ServerSettings>>> _applyTo;
    private readonly ILogger _logger;
    private readonly string _resolvConf;
    private CancellationTokenSource _stop = new();
    private Task _running = Task.CompletedTask;
    private IReadOnlyList<BackendDiscovery> _backends;

    /// <param name="applyTo">For a backend, where its new server sets go (its pool's <c>ApplyServers</c>).</param>
    /// <exception cref="InvalidOperationException">A server is a DNS name, and no nameserver is configured or in <paramref name="resolvConf"/>.</exception>
    public DnsDiscovery(
        ProxySettings settings, Func<BackendSettings, Action<IReadOnlyList<ServerSettings>>> applyTo, ILogger logger, string resolvConf = ResolvConf.DefaultPath)
    {
        _applyTo = applyTo;
        _logger = logger;
        _resolvConf = resolvConf;
        _backends = Build(settings, []);
    }

    /// <summary>The backends with DNS names, for the settings in force.</summary>
    public IReadOnlyList<BackendDiscovery> Backends => Volatile.Read(ref _backends);

    /// <summary>
    /// Resolves every name once (the first server sets, before the proxy takes traffic; a name that fails starts with
    /// no servers and is asked again on its interval), then keeps resolving in the background.
    /// </summary>
    public async Task StartAsync()
    {
        var backends = Backends;
        await Task.WhenAll(backends.Select(b => b.ResolveAllAsync(_stop.Token))).ConfigureAwait(false);
        Run(backends, resolveFirst: false);
    }

    /// <summary>
    /// Applies a reloaded config: stops resolving, lets <paramref name="apply"/> apply <paramref name="next"/> with each
    /// backend's settings passed through the function it is given (which adds the servers its DNS names resolved to,
    /// so a reload drops none of them), then resolves the names of <paramref name="next"/> at once and on their intervals.
    /// </summary>
    public async Task<T> ReloadAsync<T>(ProxySettings next, Func<Func<BackendSettings, BackendSettings>, Task<T>> apply)
    {
        await StopAsync().ConfigureAwait(false);
        IReadOnlyList<BackendDiscovery> backends;
        try
        {
            backends = Build(next, Backends);
        }
        catch (InvalidOperationException)
        {
            Run(Backends, resolveFirst: true); // nothing applied: the running names go on
            throw;
        }

        try
        {
            return await apply(settings => backends.FirstOrDefault(b => b.Name == settings.Name)?.Settings ?? settings).ConfigureAwait(false);
        }
        finally
        {
            Volatile.Write(ref _backends, backends);
            Run(backends, resolveFirst: true);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    private List<BackendDiscovery> Build(ProxySettings settings, IReadOnlyList<BackendDiscovery> previous)
    {
        var backends = settings.Backends.Where(b => b.Discovered.Count > 0).ToList();
        if (backends.Count == 0)
        {
            return [];
        }

        var resolvers = settings.Resolvers ?? ResolverSettings.Default;
        var lookup = new DnsLookup(Nameservers(settings, _resolvConf), resolvers);
        string[] names = [.. backends.Select(b => b.Name)];
        Resolving(_logger, lookup.Nameservers, names);
        return [.. backends.Select(b => new BackendDiscovery(b, lookup, _applyTo(b), _logger, previous.FirstOrDefault(p => p.Name == b.Name)))];
    }

    /// <summary>
    /// The nameservers the DNS names of <paramref name="settings"/> are asked (the <c>resolvers</c> section, else
    /// <paramref name="resolvConf"/>); none when no server is a DNS name. The start, a reload and <c>--check</c> all ask here.
    /// </summary>
    /// <exception cref="InvalidOperationException">A server is a DNS name, and no nameserver is configured or in <paramref name="resolvConf"/>.</exception>
    public static IReadOnlyList<IPEndPoint> Nameservers(ProxySettings settings, string resolvConf = ResolvConf.DefaultPath)
    {
        if (!settings.Backends.Any(b => b.Discovered.Count > 0))
        {
            return [];
        }

        var resolvers = settings.Resolvers ?? ResolverSettings.Default;
        IReadOnlyList<IPEndPoint> nameservers = resolvers.Nameservers.Count > 0 ? resolvers.Nameservers : ResolvConf.Nameservers(resolvConf);
        return nameservers.Count > 0 ? nameservers : throw new InvalidOperationException(
            $"dns: and srv: servers need a nameserver and {resolvConf} names none; add one to the config, e.g. \"resolvers\": {{ \"nameservers\": [\"127.0.0.1:53\"] }}");
    }

    private void Run(IReadOnlyList<BackendDiscovery> backends, bool resolveFirst)
    {
        var stop = _stop.Token;
        _running = Task.WhenAll(backends.Select(b => b.RunAsync(resolveFirst, stop)));
    }

    private async Task StopAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _running.ConfigureAwait(false);
        _stop.Dispose();
        _stop = new CancellationTokenSource();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "DNS servers: asking {Nameservers} for backends {Backends}")]
    private static partial void Resolving(ILogger logger, IReadOnlyList<IPEndPoint> nameservers, string[] backends);
}
