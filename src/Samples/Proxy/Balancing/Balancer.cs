using Fastsock.Samples.Proxy.Config;

namespace Fastsock.Samples.Proxy.Balancing;

/// <summary>
/// Picks a server for a new connection or request. Each worker has its own balancer per backend, so picking takes
/// no lock and touches no other core's memory; the price is that leastconn and random see only their own worker's
/// connections (with connections spread evenly over workers that is close to the global picture).
/// </summary>
/// <remarks>
/// A balancer is built for one server set (<see cref="ServerSet"/>); when the set changes the worker builds a new one
/// at its next exchange. The connection counts live in the worker's <see cref="ServerLoad"/>, indexed by
/// <see cref="ServerState.Index"/>, so sessions still holding the old balancer count into the same place.
/// </remarks>
internal abstract class Balancer
{
    /// <summary>Servers a backend can hold at once: an exclusion mask has one bit per server.</summary>
    public const int MaxServers = 64;

    protected Balancer(IReadOnlyList<ServerState> servers, ServerLoad load)
    {
        Servers = [.. servers];
        Active = load.Active;
    }

    /// <summary>The servers to pick from, in the order of the config.</summary>
    protected ServerState[] Servers { get; }

    /// <summary>Connections this worker has open to each server, by <see cref="ServerState.Index"/>.</summary>
    protected int[] Active { get; }

    /// <summary>The server set this balancer was built for (its worker compares it with the backend's current one).</summary>
    public ServerSet? Set { get; init; }

    public static Balancer Create(BalanceAlgorithm algorithm, IReadOnlyList<ServerState> servers, int seed) =>
        Create(algorithm, servers, new ServerLoad(), seed);

    public static Balancer Create(BalanceAlgorithm algorithm, IReadOnlyList<ServerState> servers, ServerLoad load, int seed, ServerSet? set = null) => algorithm switch
    {
        BalanceAlgorithm.RoundRobin => new RoundRobinBalancer(servers, load) { Set = set },
        BalanceAlgorithm.LeastConn => new LeastConnBalancer(servers, load) { Set = set },
        BalanceAlgorithm.Source => new SourceBalancer(servers, load) { Set = set },
        BalanceAlgorithm.Random => new RandomBalancer(servers, load, seed) { Set = set },
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

    /// <summary>UP, in rotation (admin state ready), not excluded, with a weight: one read of each flag, no lock.</summary>
    protected static bool Usable(ServerState server, ulong excluded) =>
        server.IsUp && server.AdminState == ServerAdminState.Ready && (excluded & Bit(server)) == 0 && server.Weight > 0;
}
