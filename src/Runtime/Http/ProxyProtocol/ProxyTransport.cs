namespace Fastsock.Http.ProxyProtocol;

/// <summary>The transport protocol of the relayed connection.</summary>
public enum ProxyTransport : byte
{
    /// <summary>Not given (the <c>UNKNOWN</c> v1 line, a LOCAL v2 header, or the unspecified family).</summary>
    Unspecified = 0,

    /// <summary>SOCK_STREAM: TCP, or a UNIX stream socket.</summary>
    Stream = 1,

    /// <summary>SOCK_DGRAM: UDP, or a UNIX datagram socket (v2 only).</summary>
    Datagram = 2,
}
