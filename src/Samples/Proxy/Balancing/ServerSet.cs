using Fastsock.Samples.Proxy.Config;

namespace Fastsock.Samples.Proxy.Balancing;

/// <summary>
/// A backend's servers and settings at one moment, immutable: a reload, the runtime API or DNS publishes a new one
/// with a single reference write, and each worker notices at the start of its next exchange (one compare) and builds
/// its own balancer for it.
/// </summary>
internal sealed class ServerSet(int version, BackendSettings settings, ServerState[] servers)
{
    /// <summary>Counts up from 1 with every change.</summary>
    public int Version { get; } = version;

    /// <summary>The backend's settings (balance, keep-alive, faults); its <c>Servers</c> are those of the last apply.</summary>
    public BackendSettings Settings { get; } = settings;

    /// <summary>The servers in rotation order (as configured).</summary>
    public ServerState[] Servers { get; } = servers;
}
