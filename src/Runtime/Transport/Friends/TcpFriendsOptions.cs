namespace Fastsock.Transport;

/// <summary>
/// TCP friends: loopback connections in one cgroup v2 exchange data by BPF socket redirect instead of the TCP/IP
/// stack. Needs root (or CAP_BPF and CAP_NET_ADMIN), cgroup v2 and a kernel with sockmap; without them one log line
/// says why and connections use TCP as usual.
/// </summary>
public sealed class TcpFriendsOptions
{
    /// <summary>Turns it on. Default off.</summary>
    public bool Enabled { get; set; }

    /// <summary>
    /// The cgroup v2 whose loopback connections become friends: a directory (<c>/sys/fs/cgroup/bench</c>) or a path
    /// under the cgroup2 mount (<c>/bench</c>). Default: this process's own cgroup. Every process in it is affected.
    /// </summary>
    public string? Cgroup { get; set; }
}
