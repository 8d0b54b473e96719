namespace Fastsock.Http;

/// <summary>Why a request (or chunked body) was rejected, and the status to answer with.</summary>
/// <remarks>Every instance is a preallocated singleton with a literal reason, so reporting an error never allocates.</remarks>
public sealed class HttpParseError
{
    internal HttpParseError(int statusCode, string reason)
    {
        StatusCode = statusCode;
        Reason = reason;
    }

    /// <summary>400, 414, 431 or 505 for requests; 502 for backend responses (HttpResponseParser).</summary>
    public int StatusCode { get; }

    /// <summary>A short, constant description for logs; not meant to be sent to clients verbatim.</summary>
    public string Reason { get; }

    /// <inheritdoc/>
    public override string ToString() => $"{StatusCode} {Reason}";
}
