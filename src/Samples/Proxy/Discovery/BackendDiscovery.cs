using Fastsock.Samples.Proxy.Config;
using Microsoft.Extensions.Logging;

namespace Fastsock.Samples.Proxy.Discovery;

/// <summary>
/// The server set of one backend with <c>dns:</c>/<c>srv:</c> servers: its fixed servers followed by what each DNS
/// name resolves to, in config order. Each name is resolved on its own interval, off the workers; when an answer
/// changes the set, the whole new set goes to <c>apply</c> (the backend's pool). A failed resolution changes nothing.
/// </summary>
internal sealed partial class BackendDiscovery
{
    private readonly BackendSettings _backend;
    private readonly DnsLookup _lookup;
    private readonly Action<IReadOnlyList<ServerSettings>> _apply;
    private readonly ILogger _logger;
    private readonly DnsServerWatch[] _watches;
    private readonly Lock _publishing = new();
    private IReadOnlyList<ServerSettings> _published;

    /// <param name="previous">The discovery of the same backend before a config reload: names still configured keep their last answers.</param>
    public BackendDiscovery(BackendSettings backend, DnsLookup lookup, Action<IReadOnlyList<ServerSettings>> apply, ILogger logger, BackendDiscovery? previous = null)
    {
        _backend = backend;
        _lookup = lookup;
        _apply = apply;
        _logger = logger;
        _watches = [.. backend.Discovered.Select(t => new DnsServerWatch(t, previous?._watches.FirstOrDefault(w => w.Template.Name == t.Name)))];
        _published = Combine();
    }

    public string Name => _backend.Name;

    /// <summary>Each DNS name of the backend, in config order.</summary>
    public IReadOnlyList<DnsServerWatch> Watches => _watches;

    /// <summary>The server set last handed to the pool (the fixed servers until a name first resolves).</summary>
    public IReadOnlyList<ServerSettings> Servers => Volatile.Read(ref _published);

    /// <summary>The backend's settings with the servers in force: what a config reload applies to the pool.</summary>
    public BackendSettings Settings => _backend with { Servers = Servers };

    /// <summary>Resolves every name once, together (at start, before traffic).</summary>
    public Task ResolveAllAsync(CancellationToken cancel) => Task.WhenAll(_watches.Select(w => ResolveAsync(w, cancel)));

    /// <summary>Resolves each name again every its interval until <paramref name="cancel"/>; at once first when <paramref name="resolveFirst"/>.</summary>
    public Task RunAsync(bool resolveFirst, CancellationToken cancel) =>
        Task.WhenAll(_watches.Select(w => Task.Run(() => WatchAsync(w, resolveFirst, cancel), CancellationToken.None)));

    private async Task WatchAsync(DnsServerWatch watch, bool resolveFirst, CancellationToken cancel)
    {
        using var timer = new PeriodicTimer(Duration.ForTimer(watch.Template.ResolveInterval));
        try
        {
            if (resolveFirst)
            {
                await ResolveAsync(watch, cancel).ConfigureAwait(false);
            }

            while (await timer.WaitForNextTickAsync(cancel).ConfigureAwait(false))
            {
                await ResolveAsync(watch, cancel).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
        }
    }

    private async Task ResolveAsync(DnsServerWatch watch, CancellationToken cancel)
    {
        DnsAnswer answer;
        try
        {
            answer = await _lookup.ResolveAsync(watch.Template.Query, cancel).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            return;
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or IOException or TimeoutException or InvalidOperationException)
        {
            // The library reports most failures in the answer; a socket error may still come through as an exception.
            answer = DnsAnswer.Failed(ex.Message);
        }

        if (!answer.Answered)
        {
            if (watch.Fail())
            {
                ResolutionFailing(_logger, Name, watch.Template.Query, answer.Failure!, watch.Servers.Count, watch.Template.ResolveInterval.TotalSeconds);
            }

            return;
        }

        var (failedBefore, changed) = watch.Answer(answer);
        if (failedBefore > 0)
        {
            ResolutionBack(_logger, Name, watch.Template.Query, failedBefore);
        }

        if (changed)
        {
            Resolved(_logger, Name, watch.Template.Query, watch.Servers.Count, watch.Addresses);
            Publish();
        }
    }

    private void Publish()
    {
        lock (_publishing)
        {
            var servers = Combine();
            if (servers.SequenceEqual(_published))
            {
                return;
            }

            // Under the lock: two answers arriving together reach the pool in the order they were combined.
            try
            {
                _apply(servers);
            }
            catch (InvalidOperationException ex)
            {
                // More servers than the backend holds: the pool kept its set; the next change of an answer tries again.
                NotApplied(_logger, Name, servers.Count, ex.Message);
                return;
            }

            Volatile.Write(ref _published, servers);
        }
    }

    /// <summary>The fixed servers, then each name's, in config order.</summary>
    private List<ServerSettings> Combine()
    {
        var servers = new List<ServerSettings>(_backend.Servers);
        foreach (var watch in _watches)
        {
            servers.AddRange(watch.Servers);
        }

        return servers;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Backend {Backend}: {Query} resolved to {Count} servers: {Addresses}")]
    private static partial void Resolved(ILogger logger, string backend, DnsServerQuery query, int count, IReadOnlyList<System.Net.IPEndPoint> addresses);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Backend {Backend}: resolving {Query} failed: {Reason}; keeping its last {Count} servers, asking again every {IntervalSeconds} s (logged once until it answers)")]
    private static partial void ResolutionFailing(ILogger logger, string backend, DnsServerQuery query, string reason, int count, double intervalSeconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Backend {Backend}: the {Count} servers DNS gave were not applied, the previous set stays: {Reason}")]
    private static partial void NotApplied(ILogger logger, string backend, int count, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Backend {Backend}: {Query} answers again after {Failures} failed resolutions")]
    private static partial void ResolutionBack(ILogger logger, string backend, DnsServerQuery query, int failures);
}
