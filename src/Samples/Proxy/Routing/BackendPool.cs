using System.Collections;
using Fastsock.Samples.Proxy.Balancing;
using Fastsock.Samples.Proxy.Config;
using Fastsock.Samples.Proxy.Health;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fastsock.Samples.Proxy.Routing;

/// <summary>
/// A backend at run time: its current <see cref="ServerSet"/> and one balancer per worker, which that worker builds
/// itself, so picking a server never touches another core's state.
/// </summary>
/// <remarks>
/// <para>The set can change while the proxy runs (<see cref="Apply"/>, <see cref="ApplyServers"/>: reload, DNS):
/// the new set is published with one reference write, and each worker compares it with its balancer's at the start of
/// an exchange (one compare, no lock) and builds a new balancer when it changed.</para>
/// <para>Servers are matched by name and address: a server still there keeps its <see cref="ServerState"/> (health,
/// counters, slot, the pooled connections keyed by the slot, the runtime API's admin state and weight) and takes its new
/// settings; a changed configured weight replaces a weight the runtime API set. A removed server is retired:
/// no balancer picks it, workers close its idle connections at their next sweep, its sessions in progress finish.
/// Each server has a slot (<see cref="ServerState.Index"/>) for the set's life; a new server takes a slot never used,
/// else the slot of a retired server (its counters then carry on in the new server's row).</para>
/// </remarks>
internal sealed class BackendPool
{
    /// <summary>Servers a backend can hold at once (exclusion masks and counter rows have one place per slot).</summary>
    public const int MaxServers = Balancer.MaxServers;

    private readonly Lock _apply = new();
    private readonly Balancer?[] _balancers;
    private readonly ServerLoad?[] _loads;
    private readonly ServerState?[] _slots = new ServerState?[MaxServers];
    private readonly ServerRoute?[] _routes = new ServerRoute?[MaxServers];
    private volatile ServerSet _current;
    private int _slotsUsed;

    public BackendPool(BackendSettings settings, int workerCount, ILogger? logger = null)
    {
        _balancers = new Balancer?[workerCount];
        _loads = new ServerLoad?[workerCount];
        _current = new ServerSet(0, settings, []);
        Apply(settings);
        Health = new PassiveHealth(settings, new SlotList(this), logger ?? NullLogger.Instance);
    }

    /// <summary>After every apply that changed something, on the thread that applied (never a worker's).</summary>
    public event Action<BackendPool, ServerSetChange>? Changed;

    public string Name => _current.Settings.Name;

    /// <summary>The backend's settings as last applied.</summary>
    public BackendSettings Settings => _current.Settings;

    /// <summary>The current set (read it once and use that, it may be replaced at any time).</summary>
    public ServerSet Current => _current;

    /// <summary>The servers in rotation now.</summary>
    public IReadOnlyList<ServerState> Servers => _current.Servers;

    /// <summary>Errors seen on live traffic: counted, logged in aggregate, and marking servers DOWN.</summary>
    public PassiveHealth Health { get; }

    /// <summary>The server in slot <paramref name="index"/> now (current or retired), or null for a slot never used.</summary>
    public ServerState? ServerAt(int index) => Volatile.Read(ref _slots[index]);

    /// <summary>The server of the current set named <paramref name="name"/>, or null.</summary>
    public ServerState? Find(string name)
    {
        foreach (var server in _current.Servers)
        {
            if (server.Settings.Name == name)
            {
                return server;
            }
        }

        return null;
    }

    /// <summary>What was worked out once for <paramref name="server"/> (an array index, no lookup).</summary>
    public ServerRoute RouteOf(ServerState server)
    {
        var route = Volatile.Read(ref _routes[server.Index]);
        // A retired server whose slot went to another server: its last sessions still need their own route.
        return route is not null && route.Server == server ? route : new ServerRoute(server);
    }

    /// <summary>The balancer of <paramref name="worker"/> for the current set; call on that worker only.</summary>
    public Balancer BalancerFor(int worker)
    {
        var set = _current;
        var balancer = _balancers[worker];
        if (balancer is not null && balancer.Set == set)
        {
            return balancer;
        }

        var load = _loads[worker] ??= new ServerLoad();
        return _balancers[worker] = Balancer.Create(set.Settings.Balance, set.Servers, load, seed: worker + 1, set);
    }

    /// <summary>Replaces the servers, keeping the other settings (what DNS resolution calls). Thread-safe, off the workers.</summary>
    public ServerSetChange ApplyServers(IReadOnlyList<ServerSettings> servers) =>
        Apply(Settings with { Servers = servers });

    /// <summary>
    /// Makes <paramref name="settings"/> current: servers matched by name and address keep their state and take their
    /// new settings, new ones get a slot, missing ones are retired. Thread-safe, off the workers; applies run one at a
    /// time. Throws <see cref="InvalidOperationException"/> (changing nothing) when the servers would not fit.
    /// </summary>
    public ServerSetChange Apply(BackendSettings settings)
    {
        ServerSetChange change;
        lock (_apply)
        {
            var previous = _current;
            var kept = new List<ServerState>();
            var added = new List<ServerState>();
            var matched = new ServerState?[settings.Servers.Count];
            for (int i = 0; i < settings.Servers.Count; i++)
            {
                matched[i] = Match(previous.Servers, settings.Servers[i]);
            }

            var removed = previous.Servers.Where(s => Array.IndexOf(matched, s) < 0).ToList();
            int newOnes = matched.Count(m => m is null);
            int free = (MaxServers - _slotsUsed) + _slots.Take(_slotsUsed).Count(s => s!.IsRetired) + removed.Count;
            if (newOnes > free)
            {
                throw new InvalidOperationException(
                    $"backend '{settings.Name}': {settings.Servers.Count} servers do not fit in {MaxServers} slots; use fewer servers");
            }

            foreach (var server in removed)
            {
                server.IsRetired = true;
            }

            var servers = new ServerState[settings.Servers.Count];
            for (int i = 0; i < servers.Length; i++)
            {
                var wanted = settings.Servers[i];
                if (matched[i] is { } existing)
                {
                    bool newRoute = existing.Settings.LocalFastPath != wanted.LocalFastPath;
                    existing.Configure(wanted); // keeps a weight the runtime API set, unless the configured one changed
                    if (newRoute)
                    {
                        Volatile.Write(ref _routes[existing.Index], new ServerRoute(existing));
                    }

                    servers[i] = existing;
                    kept.Add(existing);
                }
                else
                {
                    var server = new ServerState(wanted, TakeSlot());
                    Volatile.Write(ref _routes[server.Index], new ServerRoute(server));
                    Volatile.Write(ref _slots[server.Index], server);
                    if (server.Index == _slotsUsed)
                    {
                        Volatile.Write(ref _slotsUsed, server.Index + 1); // after the slot is filled: see SlotList
                    }
                    servers[i] = server;
                    added.Add(server);
                }
            }

            var set = new ServerSet(previous.Version + 1, settings, servers);
            _current = set;
            change = new ServerSetChange(set, added, removed, kept, previous.Settings.HealthCheck != settings.HealthCheck);
        }

        Changed?.Invoke(this, change);
        return change;
    }

    private static ServerState? Match(ServerState[] servers, ServerSettings wanted)
    {
        foreach (var server in servers)
        {
            // A changed tls block is another server: connections made under the old settings are not reused.
            if (server.Settings.Name == wanted.Name && server.Settings.Address == wanted.Address && Equals(server.Settings.Tls, wanted.Tls))
            {
                return server;
            }
        }

        return null;
    }

    /// <summary>A slot never used, else the slot of a retired server (the caller checked that one is free).</summary>
    private int TakeSlot()
    {
        if (_slotsUsed < MaxServers)
        {
            return _slotsUsed;
        }

        for (int i = 0; i < MaxServers; i++)
        {
            if (_slots[i]!.IsRetired)
            {
                return i;
            }
        }

        throw new InvalidOperationException("no free server slot");
    }

    /// <summary>Every slot used so far (current and retired servers), for passive health's periodic flush.</summary>
    /// <remarks>Slots fill from 0 up and are never emptied, so an index below the count read first is always there.</remarks>
    private sealed class SlotList(BackendPool pool) : IReadOnlyList<ServerState>
    {
        public int Count => Volatile.Read(ref pool._slotsUsed);

        public ServerState this[int index] => pool.ServerAt(index)!;

        public IEnumerator<ServerState> GetEnumerator()
        {
            int count = Count;
            for (int i = 0; i < count; i++)
            {
                yield return this[i];
            }
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
