namespace Fastsock.Http.Server;

/// <summary>
/// The request body was malformed (bad chunk framing, trailers over the limits) or ended before its announced length.
/// Thrown by <see cref="HttpExchange.ReadBodyAsync"/>; when the application lets it escape, the loop answers with
/// <see cref="StatusCode"/> (if no response was started) and closes the connection.
/// </summary>
public sealed class BadHttpRequestException : IOException
{
    /// <summary>A malformed request body, answered with 400.</summary>
    public BadHttpRequestException()
        : this(400, "Bad request body.")
    {
    }

    /// <summary>A malformed request body, answered with 400; <paramref name="message"/> says what was wrong.</summary>
    public BadHttpRequestException(string message)
        : this(400, message)
    {
    }

    /// <summary>A malformed request body, answered with 400, caused by <paramref name="innerException"/>.</summary>
    public BadHttpRequestException(string message, Exception innerException)
        : base(message, innerException) => StatusCode = 400;

    /// <summary>A bad request answered with <paramref name="statusCode"/> (400 or 431); <paramref name="message"/> says what was wrong.</summary>
    public BadHttpRequestException(int statusCode, string message)
        : base(message) => StatusCode = statusCode;

    /// <summary>The status to answer with: 400, or 431 for trailers over the limits.</summary>
    public int StatusCode { get; }
}
