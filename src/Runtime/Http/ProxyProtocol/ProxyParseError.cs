namespace Fastsock.Http.ProxyProtocol;

/// <summary>Why a PROXY header was rejected.</summary>
/// <remarks>Every instance is a preallocated singleton with a literal reason, so reporting an error never allocates.</remarks>
public sealed class ProxyParseError
{
    internal ProxyParseError(string reason) => Reason = reason;

    /// <summary>A short, constant description for logs.</summary>
    public string Reason { get; }

    /// <inheritdoc/>
    public override string ToString() => Reason;
}
