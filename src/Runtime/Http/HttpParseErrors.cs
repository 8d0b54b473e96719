namespace Fastsock.Http;

/// <summary>The catalogue of rejections; one instance each so errors cost nothing at run time.</summary>
internal static class HttpParseErrors
{
    // Request line.
    public static readonly HttpParseError InvalidRequestLine = new(400, "Invalid request line");
    public static readonly HttpParseError InvalidMethod = new(400, "Invalid method token");
    public static readonly HttpParseError InvalidTarget = new(400, "Invalid request target");
    public static readonly HttpParseError InvalidVersion = new(400, "Invalid HTTP version");
    public static readonly HttpParseError UnsupportedVersion = new(505, "HTTP version not supported");
    public static readonly HttpParseError RequestLineTooLong = new(414, "Request line too long");

    // Field lines.
    public static readonly HttpParseError BareLineBreak = new(400, "Line not terminated by CRLF");
    public static readonly HttpParseError ObsoleteLineFolding = new(400, "Obsolete line folding");
    public static readonly HttpParseError InvalidFieldName = new(400, "Invalid header field name");
    public static readonly HttpParseError InvalidFieldValue = new(400, "Invalid header field value");
    public static readonly HttpParseError HeadersTooLarge = new(431, "Header section too large");
    public static readonly HttpParseError TooManyHeaders = new(431, "Too many header fields");

    // Framing (request smuggling defences).
    public static readonly HttpParseError MissingHost = new(400, "HTTP/1.1 request without Host");
    public static readonly HttpParseError MultipleHost = new(400, "More than one Host field");
    public static readonly HttpParseError InvalidContentLength = new(400, "Invalid Content-Length");
    public static readonly HttpParseError ConflictingContentLength = new(400, "Conflicting Content-Length values");
    public static readonly HttpParseError ContentLengthAndTransferEncoding = new(400, "Both Content-Length and Transfer-Encoding");
    public static readonly HttpParseError TransferEncodingNotChunked = new(400, "Transfer-Encoding does not end with chunked");
    public static readonly HttpParseError TransferEncodingInHttp10 = new(400, "Transfer-Encoding in an HTTP/1.0 request");

    // Chunked body.
    public static readonly HttpParseError InvalidChunkSize = new(400, "Invalid chunk size");
    public static readonly HttpParseError ChunkSizeTooLarge = new(400, "Chunk size overflows");
    public static readonly HttpParseError ChunkSizeLineTooLong = new(400, "Chunk size line too long");
    public static readonly HttpParseError InvalidChunkExtension = new(400, "Invalid chunk extension");
    public static readonly HttpParseError InvalidChunkTerminator = new(400, "Chunk data not followed by CRLF");
    public static readonly HttpParseError InvalidTrailer = new(400, "Invalid trailer field");
    public static readonly HttpParseError TrailersTooLarge = new(431, "Trailer section too large");
}
