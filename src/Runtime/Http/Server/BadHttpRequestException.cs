namespace Fastsock.Http.Server;

/// <summary>
/// The request body was malformed (bad chunk framing, trailers over the limits) or ended before its announced length.
/// Thrown by <see cref="HttpExchange.ReadBodyAsync"/>; when the application lets it escape, the loop answers with
/// <see cref="StatusCode"/> (if no response was started) and closes the connection.
/// </summary>
public sealed class BadHttpRequestException : IOException
{
    public BadHttpRequestException()
        : this(400, "Bad request body.")
    {
    }

    public BadHttpRequestException(string message)
        : this(400, message)
    {
    }

    public BadHttpRequestException(string message, Exception innerException)
        : base(message, innerException) => StatusCode = 400;

    public BadHttpRequestException(int statusCode, string message)
        : base(message) => StatusCode = statusCode;

    /// <summary>The status to answer with: 400, or 431 for trailers over the limits.</summary>
    public int StatusCode { get; }
}
