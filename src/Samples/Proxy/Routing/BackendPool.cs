using Fastsock.Samples.Proxy.Balancing;
using Fastsock.Samples.Proxy.Config;
using Fastsock.Samples.Proxy.Health;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fastsock.Samples.Proxy.Routing;

/// <summary>
/// A backend at run time: its servers (state shared read-mostly with the health checker) and one balancer per
/// worker, created by that worker on first use, so picking a server never touches another core's state.
/// </summary>
internal sealed class BackendPool
{
    private readonly Balancer?[] _balancers;
    private readonly ServerRoute[] _routes;

    public BackendPool(BackendSettings settings, int workerCount, ILogger? logger = null)
    {
        Settings = settings;
        Servers = [.. settings.Servers.Select((s, i) => new ServerState(s, i))];
        Health = new PassiveHealth(settings, Servers, logger ?? NullLogger.Instance);
        _balancers = new Balancer?[workerCount];
        _routes = [.. settings.Servers.Select(s => new ServerRoute(s))];
    }

    public BackendSettings Settings { get; }

    public IReadOnlyList<ServerState> Servers { get; }

    /// <summary>Errors seen on live traffic: counted, logged in aggregate, and marking servers DOWN.</summary>
    public PassiveHealth Health { get; }

    /// <summary>What was worked out once for <paramref name="server"/> (an array index, no lookup).</summary>
    public ServerRoute RouteOf(ServerState server) => _routes[server.Index];

    public Balancer BalancerFor(int worker) =>
        _balancers[worker] ??= Balancer.Create(Settings.Balance, Servers, seed: worker + 1);
}
