using Fastsock.Locality;
using Fastsock.Transport;

namespace Fastsock.AspNetCore;

/// <summary>
/// How Kestrel's endpoints are served by Fastsock's workers. Kestrel's own limits and timeouts (keep-alive, request
/// headers, shutdown) still apply; these settings are the runtime's.
/// </summary>
public sealed class FastsockTransportOptions
{
    /// <summary>The defaults: every allowed CPU, CPU steering, a 4096 backlog, a 1 hour transport idle limit.</summary>
    public FastsockTransportOptions()
    {
        // Kestrel times out what HTTP needs timed; the transport's idle limit is only a net for peers that vanished
        // (a WebSocket may rightly stay quiet for minutes).
        Connection.IdleTimeout = TimeSpan.FromHours(1);
    }

    /// <summary>CPUs to run one worker each on. Default: every CPU in the process's affinity mask.</summary>
    public CpuSet? Cores { get; set; }

    /// <summary>How connections are spread over workers. Default <see cref="ListenerSteering.Cpu"/> (the CPU that took the SYN).</summary>
    public ListenerSteering Steering { get; set; } = ListenerSteering.Cpu;

    /// <summary>Accept backlog per listener (the kernel caps it at net.core.somaxconn). Default 4096.</summary>
    public int ListenBacklog { get; set; } = 4096;

    /// <summary>Idle connection objects each worker keeps for reuse. Default 4096.</summary>
    public int PooledConnectionsPerWorker { get; set; } = 4096;

    /// <summary>
    /// Per-connection buffers, TCP_NODELAY and the transport's idle limit. The limit,
    /// <see cref="ConnectionOptions.IdleTimeout"/>, is 1 hour by default here (not the runtime's 2 minutes): Kestrel's
    /// timeouts come first, and this only closes connections whose peer vanished. Set it shorter to drop those sooner,
    /// or to <see cref="Timeout.InfiniteTimeSpan"/> for no transport limit at all (Kestrel's own timeouts still apply).
    /// </summary>
    public ConnectionOptions Connection { get; } = new();

    internal CpuSet ResolveCores()
    {
        var cores = Cores ?? CpuSet.Allowed();
        if (cores.Count == 0)
        {
            throw new ArgumentException("FastsockTransportOptions.Cores is empty: give at least one CPU (e.g. CpuSet.Parse(\"0\")) or leave it null for all.");
        }

        cores.EnsureAllowed();
        return cores;
    }

    internal void Validate()
    {
        if (ListenBacklog < 1)
        {
            throw new ArgumentException($"FastsockTransportOptions.ListenBacklog {ListenBacklog} must be at least 1.");
        }

        if (PooledConnectionsPerWorker < 0)
        {
            throw new ArgumentException($"FastsockTransportOptions.PooledConnectionsPerWorker {PooledConnectionsPerWorker} must not be negative.");
        }

        Connection.Validate();
    }
}
