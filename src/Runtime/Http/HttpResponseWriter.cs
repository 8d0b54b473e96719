using System.Buffers;
using System.Buffers.Text;

namespace Fastsock.Http;

/// <summary>Writes HTTP/1.1 responses into an output buffer (the connection's PipeWriter) without allocating.</summary>
/// <remarks>
/// Header names and values are validated (token / no CTLs) so a caller's data can never split a response
/// (CRLF injection); violations throw, because they are bugs in the caller, not bad input from the peer.
/// </remarks>
public static class HttpResponseWriter
{
    // Asking a PipeWriter for more than a block would make it allocate a one-off array; bigger bodies go separately.
    private const int SingleSpanLimit = 4096;

    // "HTTP/1.1 " + 3 digits + " " + CRLF: the status line of a status without a pre-encoded one.
    private const int BareStatusLineLength = 15;

    private static ReadOnlySpan<byte> ServerLine => "Server: fastsock\r\n"u8;

    private static ReadOnlySpan<byte> ContentTypePrefix => "Content-Type: "u8;

    private static ReadOnlySpan<byte> ContentLengthPrefix => "Content-Length: "u8;

    private static ReadOnlySpan<byte> ConnectionClose => "Connection: close\r\n"u8;

    private static ReadOnlySpan<byte> ConnectionKeepAlive => "Connection: keep-alive\r\n"u8;

    private static ReadOnlySpan<byte> CrLf => "\r\n"u8;

    /// <summary>The reason phrase sent for <paramref name="statusCode"/>; empty when it has none pre-encoded.</summary>
    public static ReadOnlySpan<byte> ReasonPhrase(int statusCode) => HttpStatusLines.Reason(statusCode);

    /// <summary>A complete response: status line, Server, Date, Content-Type, Content-Length, Connection when closing, body.</summary>
    /// <param name="writer">Where the response goes (a connection's output).</param>
    /// <param name="statusCode">The response status.</param>
    /// <param name="contentType">Sent when not empty.</param>
    /// <param name="body">Must be empty for 1xx, 204 and 304, which carry neither body nor Content-Length.</param>
    /// <param name="keepAlive">False adds "Connection: close"; the caller then closes after flushing.</param>
    public static void WriteResponse(IBufferWriter<byte> writer, int statusCode, ReadOnlySpan<byte> contentType, ReadOnlySpan<byte> body, bool keepAlive) =>
        WriteResponse(writer, statusCode, contentType, body, keepAlive, HttpVersion.Http11);

    /// <summary>As the other overload; for an HTTP/1.0 request kept alive it adds "Connection: keep-alive", which 1.0 clients need.</summary>
    public static void WriteResponse(
        IBufferWriter<byte> writer, int statusCode, ReadOnlySpan<byte> contentType, ReadOnlySpan<byte> body, bool keepAlive, HttpVersion requestVersion)
    {
        ArgumentNullException.ThrowIfNull(writer);
        CheckStatusCode(statusCode);
        bool bodyAllowed = statusCode >= 200 && statusCode != 204 && statusCode != 304;
        if (!bodyAllowed && !body.IsEmpty)
        {
            throw new ArgumentException($"A {statusCode} response cannot have a body; pass an empty one.", nameof(body));
        }

        if (!HttpSyntax.IsValidFieldValue(contentType))
        {
            throw new ArgumentException("The content type contains control characters; pass a plain media type.", nameof(contentType));
        }

        ReadOnlySpan<byte> connection = !keepAlive ? ConnectionClose
            : requestVersion == HttpVersion.Http10 ? ConnectionKeepAlive : default;
        int headerLength = BareStatusLineLength + 40 // the longest pre-encoded status line is 46 bytes
            + ServerLine.Length + HttpDateCache.LineLength
            + (contentType.IsEmpty ? 0 : ContentTypePrefix.Length + contentType.Length + 2)
            + (bodyAllowed ? ContentLengthPrefix.Length + 20 + 2 : 0)
            + connection.Length + 2;
        int total = headerLength + body.Length;
        Span<byte> span = writer.GetSpan(total <= SingleSpanLimit ? total : headerLength);

        int position = PutStatusLine(span, statusCode);
        Put(span, ref position, ServerLine);
        Put(span, ref position, HttpDateCache.Line);
        if (!contentType.IsEmpty)
        {
            Put(span, ref position, ContentTypePrefix);
            Put(span, ref position, contentType);
            Put(span, ref position, CrLf);
        }

        if (bodyAllowed)
        {
            Put(span, ref position, ContentLengthPrefix);
            Utf8Formatter.TryFormat(body.Length, span[position..], out int digits);
            position += digits;
            Put(span, ref position, CrLf);
        }

        Put(span, ref position, connection);
        Put(span, ref position, CrLf);

        if (span.Length - position >= body.Length)
        {
            Put(span, ref position, body);
            writer.Advance(position);
        }
        else
        {
            writer.Advance(position);
            writer.Write(body);
        }
    }

    /// <summary>An error response whose body is the reason phrase as text/plain; by default it closes the connection.</summary>
    public static void WriteError(IBufferWriter<byte> writer, int statusCode, bool keepAlive = false) =>
        WriteResponse(writer, statusCode, "text/plain"u8, HttpStatusLines.Reason(statusCode), keepAlive);

    /// <summary>"HTTP/1.1 100 Continue" and the empty line, for a request with <see cref="HttpRequestHead.ExpectContinue"/>.</summary>
    public static void WriteContinue(IBufferWriter<byte> writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write("HTTP/1.1 100 Continue\r\n\r\n"u8);
    }

    /// <summary>"HTTP/1.1 NNN Reason\r\n"; statuses without a known reason get an empty one.</summary>
    public static void WriteStatusLine(IBufferWriter<byte> writer, int statusCode)
    {
        ArgumentNullException.ThrowIfNull(writer);
        CheckStatusCode(statusCode);
        Span<byte> span = writer.GetSpan(BareStatusLineLength + 40);
        writer.Advance(PutStatusLine(span, statusCode));
    }

    /// <summary>"name: value\r\n"; the name must be a token and the value free of control characters.</summary>
    public static void WriteHeader(IBufferWriter<byte> writer, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (!HttpSyntax.IsToken(name))
        {
            throw new ArgumentException("A header name must be a non-empty token (RFC 9110 §5.1).", nameof(name));
        }

        if (!HttpSyntax.IsValidFieldValue(value))
        {
            throw new ArgumentException("A header value must not contain CR, LF or other control characters.", nameof(value));
        }

        Span<byte> span = writer.GetSpan(name.Length + value.Length + 4);
        int position = 0;
        Put(span, ref position, name);
        Put(span, ref position, ": "u8);
        Put(span, ref position, value);
        Put(span, ref position, CrLf);
        writer.Advance(position);
    }

    /// <summary>"Date: &lt;now, IMF-fixdate&gt;\r\n", cached per second.</summary>
    public static void WriteDate(IBufferWriter<byte> writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(HttpDateCache.Line);
    }

    /// <summary>"Server: fastsock\r\n".</summary>
    public static void WriteServer(IBufferWriter<byte> writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(ServerLine);
    }

    /// <summary>"Content-Length: N\r\n".</summary>
    public static void WriteContentLength(IBufferWriter<byte> writer, long length)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Span<byte> span = writer.GetSpan(ContentLengthPrefix.Length + 20 + 2);
        int position = 0;
        Put(span, ref position, ContentLengthPrefix);
        Utf8Formatter.TryFormat(length, span[position..], out int digits);
        position += digits;
        Put(span, ref position, CrLf);
        writer.Advance(position);
    }

    /// <summary>"Connection: close\r\n".</summary>
    public static void WriteConnectionClose(IBufferWriter<byte> writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(ConnectionClose);
    }

    /// <summary>The empty line that ends the header section.</summary>
    public static void WriteEndOfHeaders(IBufferWriter<byte> writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(CrLf);
    }

    private static int PutStatusLine(Span<byte> span, int statusCode)
    {
        ReadOnlySpan<byte> line = HttpStatusLines.Get(statusCode);
        int position = 0;
        if (!line.IsEmpty)
        {
            Put(span, ref position, line);
            return position;
        }

        // status-line = HTTP-version SP status-code SP [ reason-phrase ] CRLF (RFC 9112 §4): the reason may be empty.
        Put(span, ref position, "HTTP/1.1 "u8);
        span[position++] = (byte)('0' + (statusCode / 100));
        span[position++] = (byte)('0' + (statusCode / 10 % 10));
        span[position++] = (byte)('0' + (statusCode % 10));
        Put(span, ref position, " \r\n"u8);
        return position;
    }

    private static void Put(Span<byte> span, ref int position, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(span[position..]);
        position += bytes.Length;
    }

    private static void CheckStatusCode(int statusCode)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(statusCode, 100);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(statusCode, 999);
    }
}
