using System.Runtime.InteropServices;
using Fastsock.Hosting;
using Fastsock.Native;
using Fastsock.Samples.Proxy.Config;
using Fastsock.Samples.Proxy.Routing;
using Microsoft.Extensions.Logging;

namespace Fastsock.Samples.Proxy.Reload;

/// <summary>
/// <c>kill -HUP</c>: reads the config again, checks it fully, and applies it to the running proxy, or logs why not and
/// keeps serving the config it has. Backends take their new servers and settings (<see cref="BackendPool.Apply"/>:
/// kept servers keep their health and pooled connections), frontends are swapped for new connections, added ones
/// bind with the server's steering, removed ones stop accepting while their connections finish. What only a restart
/// can change (<see cref="RestartOnlySettings"/>) is logged and left as it runs. One reload at a time, off the workers.
/// </summary>
internal sealed partial class ConfigReload : IDisposable
{
    private readonly LiveConfig _live;
    private readonly FastsockServer _server;
    private readonly string? _path;
    private readonly string _source;
    private readonly Action<ProxyConfig> _overrides;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _oneAtATime = new(1, 1);
    private PosixSignalRegistration? _sighup;

    /// <param name="path">The config file, or null for the built-in demo (a reload then changes nothing).</param>
    /// <param name="overrides">The command line's options, applied over the file again as at start.</param>
    public ConfigReload(LiveConfig live, FastsockServer server, string? path, string source, Action<ProxyConfig> overrides, ILogger logger)
    {
        _live = live;
        _server = server;
        _path = path;
        _source = source;
        _overrides = overrides;
        _logger = logger;
    }

    /// <summary>From now on SIGHUP reloads instead of ending the process.</summary>
    public void ListenForSighup()
    {
        InheritedSignalIgnore.ClearForSighup();
        _sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, OnSighup);
    }

    private void OnSighup(PosixSignalContext context)
    {
        context.Cancel = true;
        _ = Task.Run(ReloadAsync);
    }

    /// <summary>Reads, checks and applies the config; false (and one log line) when it was not applied.</summary>
    public async Task<bool> ReloadAsync()
    {
        await _oneAtATime.WaitAsync().ConfigureAwait(false);
        try
        {
            ProxySettings next;
            try
            {
                var raw = _path is null ? DemoConfig.Raw() : ConfigLoader.LoadRaw(_path);
                _overrides(raw);
                next = ConfigValidator.Validate(raw, _source);
                LiveConfig.CheckInProcessApps(next, _source, [.. _live.Connector.InProcessApps.Keys]);
            }
            catch (ConfigException ex)
            {
                Rejected(_logger, ex.Message);
                return false;
            }

            var restartOnly = RestartOnlySettings.ChangedKeys(_live.Settings, next);
            if (restartOnly.Count > 0)
            {
                NeedsRestart(_logger, string.Join(", ", restartOnly.Select(k => $"{k.Key} (apply with {k.AppliedBy})")));
            }

            try
            {
                var kept = RestartOnlySettings.KeepRunning(_live.Settings, next);
                // DNS resolution pauses while the config applies; backends keep the servers their names resolved to.
                var summary = await _live.Dns.ReloadAsync(kept, withDnsServers => ApplyAsync(kept, withDnsServers)).ConfigureAwait(false);
                Reloaded(_logger, _source, summary);
                return true;
            }
            catch (Exception ex)
            {
                // Whatever stopped it (a bind, a pool, DNS), the process keeps serving: one line, never an unobserved task.
                ApplyFailed(_logger, _source, ex.Message);
                return false;
            }
        }
        finally
        {
            _oneAtATime.Release();
        }
    }

    private async Task<string> ApplyAsync(ProxySettings next, Func<BackendSettings, BackendSettings> withDnsServers)
    {
        var done = new List<string>();
        foreach (var configured in next.Backends)
        {
            var backend = withDnsServers(configured);
            if (_live.Pools.TryGetValue(backend.Name, out var pool))
            {
                var change = pool.Apply(backend);
                done.AddRange(change.Added.Select(s => $"+server {backend.Name}/{s.Settings.Name}"));
                done.AddRange(change.Removed.Select(s => $"-server {backend.Name}/{s.Settings.Name}"));
            }
            else
            {
                pool = new BackendPool(backend, _server.Workers.Count, _logger);
                _live.Pools[backend.Name] = pool;
                _live.Health.Follow(pool);
                done.Add($"+backend {backend.Name}");
            }
        }

        _live.Connector.ConnectTimeout = next.Timeouts.Connect;
        _live.Counters.Apply(next);

        foreach (var (name, pool) in _live.Pools)
        {
            if (!next.Backends.Any(b => b.Name == name))
            {
                // Sessions of removed frontends may still use it: its servers stay as they are, unchecked.
                _live.Pools.TryRemove(name, out _);
                _live.Health.Unfollow(pool);
                done.Add($"-backend {name}");
            }
        }

        // Removed frontends and binds first: a port may move from one frontend to another.
        foreach (var frontend in _live.Frontends.ToList())
        {
            var wanted = next.Frontends.FirstOrDefault(f => f.Name == frontend.Settings.Name);
            foreach (var (bind, bound) in frontend.Bound.ToList())
            {
                if (wanted is null || !wanted.Binds.Contains(bind))
                {
                    await _server.RemoveListenerAsync(bound).ConfigureAwait(false);
                    frontend.Bound.Remove(bind);
                    StoppedAccepting(_logger, frontend.Settings.Name, bound);
                }
            }

            if (wanted is null)
            {
                _live.Remove(frontend.Settings.Name);
                done.Add($"-frontend {frontend.Settings.Name}");
            }
        }

        foreach (var settings in next.Frontends)
        {
            var live = _live.Find(settings.Name);
            var built = _live.Build(settings, next, live?.Frontend, out var handler);
            if (live is null)
            {
                live = new LiveFrontend(settings, new FrontendSlot(Tls.FrontendTls.Handler(settings, handler, _live.TlsStats, _live.TicketKeys, _live.ProxyHeadersBeforeTls)), built);
                _live.Add(live);
                done.Add($"+frontend {settings.Name}");
            }
            else
            {
                live.Settings = settings;
                live.Frontend = built;
                // TLS sits inside the slot, so a reload turns it on or off and new connections get the new certificates.
                live.Slot.Handler = Tls.FrontendTls.Handler(settings, handler, _live.TlsStats, _live.TicketKeys, _live.ProxyHeadersBeforeTls);
            }

            foreach (var bind in settings.Binds)
            {
                if (live.Bound.ContainsKey(bind))
                {
                    continue;
                }

                try
                {
                    var bound = await _server.AddListenerAsync(bind, live.Slot.HandleAsync).ConfigureAwait(false);
                    live.Bound[bind] = bound;
                    ListeningLines.Frontend(settings, bound);
                }
                catch (Exception ex) when (ex is NativeCallException or InvalidOperationException or ArgumentException)
                {
                    BindFailed(_logger, settings.Name, bind, ex.Message);
                }
            }
        }

        _live.Publish(next);
        return done.Count == 0 ? "no server or frontend added or removed" : string.Join(", ", done);
    }

    public void Dispose()
    {
        _sighup?.Dispose();
        _oneAtATime.Dispose();
    }

    [LoggerMessage(EventId = 340, Level = LogLevel.Information, Message = "Reloaded {Source}: {Summary}")]
    private static partial void Reloaded(ILogger logger, string source, string summary);

    [LoggerMessage(EventId = 341, Level = LogLevel.Error, Message = "Reload rejected, still serving the previous config: {Error}")]
    private static partial void Rejected(ILogger logger, string error);

    [LoggerMessage(EventId = 342, Level = LogLevel.Warning, Message = "Reload: {Keys} changed; the rest is applied, these keep their running values")]
    private static partial void NeedsRestart(ILogger logger, string keys);

    [LoggerMessage(EventId = 343, Level = LogLevel.Information, Message = "Frontend {Frontend} stopped accepting on {EndPoint}; its connections finish")]
    private static partial void StoppedAccepting(ILogger logger, string frontend, System.Net.IPEndPoint endPoint);

    [LoggerMessage(EventId = 345, Level = LogLevel.Error, Message = "Reload of {Source} stopped part-way: {Reason}; reload again once fixed")]
    private static partial void ApplyFailed(ILogger logger, string source, string reason);

    [LoggerMessage(EventId = 344, Level = LogLevel.Error, Message = "Reload: frontend {Frontend} could not bind {Bind}: {Reason}; free the address and reload again")]
    private static partial void BindFailed(ILogger logger, string frontend, System.Net.IPEndPoint bind, string reason);
}
