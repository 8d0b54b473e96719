namespace Fastsock.Samples.Proxy.Config;

/// <summary>
/// The JSON <c>resolvers</c> section (HAProxy's <c>resolvers</c>): which nameservers answer for <c>dns:</c> and
/// <c>srv:</c> server addresses, and how long to wait for them.
/// </summary>
internal sealed class ResolversConfig
{
    /// <summary><c>IP</c> or <c>IP:PORT</c> (port 53 when absent); empty or absent: the nameservers of /etc/resolv.conf.</summary>
    public List<string> Nameservers { get; set; } = [];

    /// <summary>How long to wait for one answer before asking again or the next nameserver.</summary>
    public string? Timeout { get; set; }

    /// <summary>How many more times a nameserver that did not answer is asked within one resolution.</summary>
    public int? Retries { get; set; }
}
