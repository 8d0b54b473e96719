namespace Fastsock.Transport;

/// <summary>
/// TCP friends counters of one worker's CPU, counted by the BPF programs per CPU: they include every process of the
/// cgroup that ran on that CPU, not only this server.
/// </summary>
public sealed class TcpFriendsStats
{
    internal TcpFriendsStats(int worker, int cpu, long friends, long bytesRedirected, long messagesRedirected)
    {
        Worker = worker;
        Cpu = cpu;
        Friends = friends;
        BytesRedirected = bytesRedirected;
        MessagesRedirected = messagesRedirected;
    }

    /// <summary>The worker's index.</summary>
    public int Worker { get; }

    /// <summary>The CPU the worker is pinned to.</summary>
    public int Cpu { get; }

    /// <summary>Sockets established on this CPU that joined the friends map (each friend pair counts two).</summary>
    public long Friends { get; }

    /// <summary>Bytes sent on this CPU that went straight into the peer's receive queue.</summary>
    public long BytesRedirected { get; }

    /// <summary>Sends on this CPU that were redirected.</summary>
    public long MessagesRedirected { get; }
}
