using Fastsock.Locality;
using Fastsock.Transport;

namespace Fastsock.Hosting;

/// <summary>Server settings. Every value is checked at start; a bad one stops the start with a message naming it.</summary>
public sealed class FastsockServerOptions
{
    /// <summary>CPUs to run one worker each on. Default: every CPU in the process's affinity mask.</summary>
    public CpuSet? Cores { get; set; }

    /// <summary>How connections are spread over workers. Default <see cref="ListenerSteering.Cpu"/>.</summary>
    public ListenerSteering Steering { get; set; } = ListenerSteering.Cpu;

    /// <summary>Accept backlog per listener (the kernel caps it at net.core.somaxconn). Default 4096.</summary>
    public int ListenBacklog { get; set; } = 4096;

    /// <summary>How long a graceful shutdown waits for connections to finish before aborting them. Default 10 s.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Idle connection objects each worker keeps for reuse. Default 4096.</summary>
    public int PooledConnectionsPerWorker { get; set; } = 4096;

    /// <summary>Accepted connections: input and output buffer limits, TCP_NODELAY, idle timeout.</summary>
    public ConnectionOptions Connection { get; } = new();

    /// <summary>Outbound connections: source-port strategy, port range, connect timeout (see <see cref="FastsockConnector"/>).</summary>
    public OutboundOptions Outbound { get; } = new();

    /// <summary>Handing listening sockets to a successor process, taking them from one, or from systemd.</summary>
    public ListenerHandoverOptions Handover { get; } = new();

    /// <summary>TCP friends: loopback connections in a cgroup exchange data by BPF socket redirect (see <see cref="TcpFriendsOptions"/>).</summary>
    public TcpFriendsOptions TcpFriends { get; } = new();

    internal CpuSet ResolveCores()
    {
        var cores = Cores ?? CpuSet.Allowed();
        if (cores.Count == 0)
        {
            throw new ArgumentException("Cores is empty: give at least one CPU (e.g. --cores 0) or 'all'.");
        }

        cores.EnsureAllowed();
        return cores;
    }

    internal void Validate()
    {
        if (ListenBacklog < 1)
        {
            throw new ArgumentException($"ListenBacklog {ListenBacklog} must be at least 1.");
        }

        if (ShutdownTimeout < TimeSpan.Zero)
        {
            throw new ArgumentException(
                $"ShutdownTimeout {ShutdownTimeout} is negative; give how long a stop waits for open connections before aborting them (e.g. 00:00:10), or zero to abort them at once.");
        }

        if (PooledConnectionsPerWorker < 0)
        {
            throw new ArgumentException($"PooledConnectionsPerWorker {PooledConnectionsPerWorker} must not be negative.");
        }

        Connection.Validate();
        Outbound.Validate();
        Handover.Validate();
    }
}
