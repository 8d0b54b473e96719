namespace Fastsock.Http.ProxyProtocol;

/// <summary>The transport protocol of the relayed connection.</summary>
public enum ProxyTransport : byte
{
    Unspecified = 0,

    /// <summary>SOCK_STREAM: TCP, or a UNIX stream socket.</summary>
    Stream = 1,

    /// <summary>SOCK_DGRAM: UDP, or a UNIX datagram socket (v2 only).</summary>
    Datagram = 2,
}
