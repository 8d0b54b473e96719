using System.Net;

namespace Fastsock.Samples.Proxy.Config;

// The checked settings of servers found through DNS: what to ask, how often, and whom.

internal enum DnsQueryKind
{
    /// <summary><c>dns:NAME:PORT</c>: every A and AAAA record of NAME is a server on PORT.</summary>
    Address,

    /// <summary><c>srv:_service._proto.NAME</c>: every SRV target of the lowest priority is a server on the record's port.</summary>
    Service,
}

/// <summary>A DNS name whose answer is a set of servers.</summary>
internal sealed record DnsServerQuery(DnsQueryKind Kind, string Name, int Port)
{
    public const string AddressPrefix = "dns:";
    public const string ServicePrefix = "srv:";

    public static bool IsDnsAddress(string? text) =>
        text is not null && (text.StartsWith(AddressPrefix, StringComparison.Ordinal) || text.StartsWith(ServicePrefix, StringComparison.Ordinal));

    public override string ToString() => Kind == DnsQueryKind.Address ? $"{AddressPrefix}{Name}:{Port}" : $"{ServicePrefix}{Name}";
}

/// <summary>
/// A configured server whose address is a DNS name: it stands for as many servers as the name resolves to, each named
/// <c>NAME/ADDRESS:PORT</c> (stable while the address stays, so that server keeps its pooled connections and health).
/// </summary>
/// <param name="Weight">Each resolved server's weight for <c>dns:</c>; for <c>srv:</c> the records' weights are used.</param>
/// <param name="Tls">TLS to each resolved server (SNI and verification default to the DNS name); null: plaintext.</param>
internal sealed record DnsServerTemplate(string Name, DnsServerQuery Query, int Weight, ProxyHeaderMode SendProxy, TimeSpan ResolveInterval, Tls.BackendTlsSettings? Tls = null)
{
    /// <summary>
    /// The DNS name a server found by this query goes by: NAME of <c>dns:NAME:PORT</c>, and of
    /// <c>srv:_service._proto.NAME</c> (the service's name, which its certificates hold, rather than each SRV target).
    /// </summary>
    public string ServiceName => Query.Kind == DnsQueryKind.Address ? Query.Name : Query.Name.Split('.', 3)[2];

    public static readonly TimeSpan DefaultResolveInterval = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan MinResolveInterval = TimeSpan.FromMilliseconds(100);
    public static readonly TimeSpan MaxResolveInterval = TimeSpan.FromHours(1);
}

/// <param name="Nameservers">Asked in order; empty: those of /etc/resolv.conf, read when resolution starts.</param>
/// <param name="Timeout">How long one query waits for an answer.</param>
/// <param name="Retries">How many more times a silent nameserver is asked within one resolution.</param>
internal sealed record ResolverSettings(IReadOnlyList<IPEndPoint> Nameservers, TimeSpan Timeout, int Retries)
{
    public static ResolverSettings Default { get; } = new([], TimeSpan.FromSeconds(1), 1);
}
