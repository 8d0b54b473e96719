namespace Fastsock.Http.ProxyProtocol;

/// <summary>What the PROXY header asks the receiver to do with the connection.</summary>
public enum ProxyCommand : byte
{
    /// <summary>v2 LOCAL: the proxy opened the connection itself (a health check); use the real endpoints.</summary>
    Local = 0,

    /// <summary>The connection is relayed on behalf of a client; the header carries its endpoints (v1 is always this).</summary>
    Proxy = 1,
}
