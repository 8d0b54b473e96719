namespace Fastsock.Samples.Proxy.Balancing;

/// <summary>
/// One worker's open connections per server of one backend, by <see cref="ServerState.Index"/>. It outlives the
/// balancers built for successive server sets, so a session that began before a reload still counts down where the
/// new balancer looks. Written by its worker only.
/// </summary>
internal sealed class ServerLoad
{
    public int[] Active { get; } = new int[Balancer.MaxServers];
}
