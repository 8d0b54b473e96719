using Fastsock.Samples.Proxy.Config;

namespace Fastsock.Samples.Proxy.Balancing;

/// <summary>
/// Picks a server for a new connection or request. Each worker has its own balancer per backend, so picking takes
/// no lock and touches no other core's memory; the price is that leastconn and random see only their own worker's
/// connections (with connections spread evenly over workers that is close to the global picture).
/// </summary>
internal abstract class Balancer
{
    protected Balancer(IReadOnlyList<ServerState> servers)
    {
        Servers = servers;
        Active = new int[servers.Count];
    }

    protected IReadOnlyList<ServerState> Servers { get; }

    /// <summary>Connections this worker has open to each server.</summary>
    protected int[] Active { get; }

    public static Balancer Create(BalanceAlgorithm algorithm, IReadOnlyList<ServerState> servers, int seed) => algorithm switch
    {
        BalanceAlgorithm.RoundRobin => new RoundRobinBalancer(servers),
        BalanceAlgorithm.LeastConn => new LeastConnBalancer(servers),
        BalanceAlgorithm.Source => new SourceBalancer(servers),
        BalanceAlgorithm.Random => new RandomBalancer(servers, seed),
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, "unknown balance algorithm"),
    };

    /// <summary>The server to use, or null when every server with a weight is down (the caller answers 503).</summary>
    /// <param name="sourceHash">A hash of the client's address, used by <see cref="BalanceAlgorithm.Source"/>.</param>
    public ServerState? Pick(ulong sourceHash) => Pick(sourceHash, excluded: 0);

    /// <summary>
    /// The server to use among those not in <paramref name="excluded"/> (a bit per server index, see <see cref="Bit"/>):
    /// a redispatch after a failed attempt leaves out the servers that already failed this request.
    /// </summary>
    public abstract ServerState? Pick(ulong sourceHash, ulong excluded);

    /// <summary>The bit of <paramref name="server"/> in an exclusion mask; servers past the 64th cannot be excluded.</summary>
    public static ulong Bit(ServerState server) => server.Index < 64 ? 1UL << server.Index : 0;

    public void OnOpened(ServerState server) => Active[server.Index]++;

    public void OnClosed(ServerState server) => Active[server.Index]--;

    protected static bool Usable(ServerState server, ulong excluded) => server.IsUp && (excluded & Bit(server)) == 0 && server.Weight > 0;
}
