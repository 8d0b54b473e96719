using Fastsock.Samples.Proxy.Balancing;

namespace Fastsock.Samples.Proxy.Routing;

/// <summary>What one apply did to a backend's servers: the health checker starts and stops checks from it.</summary>
internal sealed record ServerSetChange(
    ServerSet Set,
    IReadOnlyList<ServerState> Added,
    IReadOnlyList<ServerState> Removed,
    IReadOnlyList<ServerState> Kept,
    bool HealthCheckChanged)
{
    public bool IsEmpty => Added.Count == 0 && Removed.Count == 0;
}
