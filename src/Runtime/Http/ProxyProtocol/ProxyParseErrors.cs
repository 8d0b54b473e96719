namespace Fastsock.Http.ProxyProtocol;

/// <summary>The catalogue of rejections; one instance each so errors cost nothing at run time.</summary>
internal static class ProxyParseErrors
{
    public static readonly ProxyParseError NotProxyProtocol = new("Not a PROXY protocol header");

    // Version 1 (text).
    public static readonly ProxyParseError LineTooLong = new("PROXY v1 line without CRLF in its first 107 bytes");
    public static readonly ProxyParseError BareLineBreak = new("PROXY v1 line with a CR or LF not forming CRLF");
    public static readonly ProxyParseError UnknownProtocol = new("PROXY v1 protocol is not TCP4, TCP6 or UNKNOWN");
    public static readonly ProxyParseError InvalidFields = new("PROXY v1 line without exactly four fields separated by single spaces");
    public static readonly ProxyParseError InvalidAddress = new("PROXY v1 address is not in the canonical form of its family");
    public static readonly ProxyParseError InvalidPort = new("PROXY v1 port is not a decimal in 0-65535 without leading zeros");

    // Version 2 (binary).
    public static readonly ProxyParseError UnsupportedVersion = new("PROXY v2 signature followed by a version other than 2");
    public static readonly ProxyParseError UnknownCommand = new("PROXY v2 command is neither LOCAL nor PROXY");
    public static readonly ProxyParseError UnknownFamily = new("PROXY v2 address family or transport protocol is unassigned");
    public static readonly ProxyParseError AddressBlockTooShort = new("PROXY v2 length is shorter than the addresses of its family");
    public static readonly ProxyParseError InvalidTlv = new("PROXY v2 TLV runs past the end of the header");
}
