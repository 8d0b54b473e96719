using Fastsock.Samples.Proxy.Balancing;
using Fastsock.Samples.Proxy.Config;

namespace Fastsock.Samples.Proxy.Routing;

/// <summary>
/// A backend at run time: its servers (state shared read-mostly with the health checker) and one balancer per
/// worker, created by that worker on first use, so picking a server never touches another core's state.
/// </summary>
internal sealed class BackendPool
{
    private readonly Balancer?[] _balancers;

    public BackendPool(BackendSettings settings, int workerCount)
    {
        Settings = settings;
        Servers = [.. settings.Servers.Select((s, i) => new ServerState(s, i))];
        _balancers = new Balancer?[workerCount];
    }

    public BackendSettings Settings { get; }

    public IReadOnlyList<ServerState> Servers { get; }

    public Balancer BalancerFor(int worker) =>
        _balancers[worker] ??= Balancer.Create(Settings.Balance, Servers, seed: worker + 1);
}
