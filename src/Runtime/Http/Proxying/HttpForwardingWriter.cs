using System.Buffers;

namespace Fastsock.Http.Proxying;

/// <summary>Writes the parts of a forwarded message that are not copied from the received one: request line and framing.</summary>
/// <remarks>
/// Arguments are validated like <see cref="HttpResponseWriter"/>'s, so data from a peer can never split a message;
/// violations throw, because passing unvalidated bytes here is a bug in the caller.
/// </remarks>
internal static class HttpForwardingWriter
{
    /// <summary>"METHOD target HTTP/1.1\r\n": the backend is always spoken to in HTTP/1.1.</summary>
    /// <param name="writer">The backend connection's output.</param>
    /// <param name="method">The method token as received (<see cref="HttpRequestHead.MethodBytes"/>).</param>
    /// <param name="target">
    /// The request target, usually <see cref="HttpRequestHead.Target"/>; a gateway turns an absolute-form target into
    /// origin-form before calling this (RFC 9112 §3.2.2).
    /// </param>
    public static void WriteRequestLine(IBufferWriter<byte> writer, ReadOnlySpan<byte> method, ReadOnlySpan<byte> target)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (!HttpSyntax.IsToken(method))
        {
            throw new ArgumentException("A method must be a non-empty token (RFC 9110 §9.1).", nameof(method));
        }

        if (target.IsEmpty || target.ContainsAnyExceptInRange((byte)0x21, (byte)0x7E))
        {
            throw new ArgumentException("A request target must be non-empty visible ASCII (RFC 9112 §3.2).", nameof(target));
        }

        Span<byte> span = writer.GetSpan(method.Length + target.Length + 12);
        method.CopyTo(span);
        int position = method.Length;
        span[position++] = HttpSyntax.Space;
        target.CopyTo(span[position..]);
        position += target.Length;
        " HTTP/1.1\r\n"u8.CopyTo(span[position..]);
        writer.Advance(position + 11);
    }

    /// <summary>"Content-Length: N\r\n", for a body of known length (also 0, and the value of a HEAD or 304 response).</summary>
    public static void WriteContentLength(IBufferWriter<byte> writer, long length) =>
        HttpResponseWriter.WriteContentLength(writer, length);

    /// <summary>"Transfer-Encoding: chunked\r\n", for a body the proxy re-chunks or forwards chunk by chunk.</summary>
    public static void WriteChunked(IBufferWriter<byte> writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write("Transfer-Encoding: chunked\r\n"u8);
    }

    /// <summary>"Connection: close\r\n", when the proxy will not reuse the connection after this message.</summary>
    public static void WriteConnectionClose(IBufferWriter<byte> writer) => HttpResponseWriter.WriteConnectionClose(writer);

    /// <summary>The empty line that ends the header section.</summary>
    public static void WriteEndOfHeaders(IBufferWriter<byte> writer) => HttpResponseWriter.WriteEndOfHeaders(writer);
}
