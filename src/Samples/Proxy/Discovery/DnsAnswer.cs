using System.Net;

namespace Fastsock.Samples.Proxy.Discovery;

/// <summary>One server a DNS name resolved to: where it listens and its weight, from an SRV record (1 to 256), or 0 from an A/AAAA record (the configured weight applies).</summary>
internal readonly record struct ResolvedServer(IPEndPoint EndPoint, int Weight);

/// <summary>
/// What one resolution gave: the servers (possibly none, when the name has no record: the name says there is nothing to
/// send to), or why there was no answer (timeout, SERVFAIL, REFUSED): then the last good answer stays in force.
/// </summary>
internal sealed class DnsAnswer
{
    private DnsAnswer(IReadOnlyList<ResolvedServer>? servers, string? failure)
    {
        Servers = servers ?? [];
        Failure = failure;
    }

    public IReadOnlyList<ResolvedServer> Servers { get; }

    /// <summary>Null when the nameserver answered.</summary>
    public string? Failure { get; }

    public bool Answered => Failure is null;

    public static DnsAnswer Of(List<ResolvedServer> servers)
    {
        // One order for the same set, whatever order the nameserver rotates its records in: a change is a real change.
        servers.Sort(static (a, b) => Compare(a.EndPoint, b.EndPoint));
        for (int i = servers.Count - 1; i > 0; i--)
        {
            if (servers[i].EndPoint.Equals(servers[i - 1].EndPoint))
            {
                servers.RemoveAt(i);
            }
        }

        return new DnsAnswer(servers, null);
    }

    public static DnsAnswer Failed(string reason) => new(null, reason);

    private static int Compare(IPEndPoint a, IPEndPoint b)
    {
        int family = a.AddressFamily.CompareTo(b.AddressFamily);
        if (family != 0)
        {
            return family;
        }

        var left = a.Address.GetAddressBytes();
        var right = b.Address.GetAddressBytes();
        int bytes = left.AsSpan().SequenceCompareTo(right);
        return bytes != 0 ? bytes : a.Port.CompareTo(b.Port);
    }
}
