namespace Fastsock.Http.ProxyProtocol;

/// <summary>The address family of the relayed connection.</summary>
public enum ProxyAddressFamily : byte
{
    /// <summary>Unknown, unsupported or not given (v1 UNKNOWN, v2 AF_UNSPEC, LOCAL): use the real endpoints.</summary>
    Unspecified = 0,

    /// <summary>IPv4 (v1 TCP4).</summary>
    InterNetwork = 1,

    /// <summary>IPv6 (v1 TCP6).</summary>
    InterNetworkV6 = 2,

    /// <summary>v2 AF_UNIX; the socket paths are validated for length but not kept.</summary>
    Unix = 3,
}
