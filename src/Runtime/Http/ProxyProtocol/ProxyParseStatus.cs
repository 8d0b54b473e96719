namespace Fastsock.Http.ProxyProtocol;

/// <summary>Outcome of one attempt to parse a PROXY header.</summary>
public enum ProxyParseStatus : byte
{
    /// <summary>What arrived is a valid prefix of a header; nothing was consumed. Read more and parse again.</summary>
    NeedMoreData,

    /// <summary>A whole header was parsed; the data after it belongs to the relayed connection.</summary>
    Complete,

    /// <summary>The input is not a valid PROXY header; the spec says to close the connection.</summary>
    Error,
}
