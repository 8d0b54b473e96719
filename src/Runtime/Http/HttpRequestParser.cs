using System.Buffers;

namespace Fastsock.Http;

/// <summary>
/// A strict RFC 9112 parser for request heads (request line and header fields up to the empty line).
/// Stateless apart from its limits: one instance can serve every connection of a worker.
/// </summary>
/// <remarks>
/// <para>
/// The parse first looks for the CRLF CRLF that ends the head, then walks it line by line, so the sink sees
/// fields only of a complete head and an incomplete one costs a vectorised search, not a half-parse to undo.
/// An incomplete head is still scanned for errors and limits so a broken client is answered at once rather than
/// waiting for a timeout. A partial head is re-scanned on the next call; with the pipe's examined position set to
/// the end, that happens once per read, bounded by <see cref="HttpParserLimits.MaxHeadLength"/>.
/// </para>
/// <para>
/// Statuses: 414 for a request line over its limit, 431 for header fields over their byte or count limits,
/// 505 for a well-formed version other than 1.0 and 1.1 (including 1.2+ and 2.0), 400 for everything else.
/// The request target must be visible ASCII (0x21-0x7E); raw UTF-8 in paths is rejected.
/// </para>
/// </remarks>
internal sealed partial class HttpRequestParser
{
    private readonly HttpParserLimits _limits;

    public HttpRequestParser()
        : this(HttpParserLimits.Default)
    {
    }

    public HttpRequestParser(HttpParserLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        _limits = limits;
    }

    public HttpParserLimits Limits => _limits;

    /// <summary>Parses one head, ignoring its header fields beyond the framing summary.</summary>
    public HttpParseStatus TryParse(in ReadOnlySequence<byte> buffer, Span<byte> scratch, out HttpRequestHead head)
    {
        NoopHttpHeaderSink sink = default;
        return TryParse(buffer, scratch, ref sink, out head);
    }

    /// <summary>Parses the head at the start of <paramref name="buffer"/>, delivering each field to <paramref name="sink"/>.</summary>
    /// <param name="buffer">Unconsumed input; the head must start at its beginning.</param>
    /// <param name="scratch">
    /// At least <see cref="HttpParserLimits.MaxHeadLength"/> bytes, used only when the head spans segments:
    /// it is copied there so that every span of the result is contiguous. Keep it untouched while using the result.
    /// </param>
    /// <param name="sink">Receives the fields; called only once the whole head has arrived.</param>
    /// <param name="head">On <see cref="HttpParseStatus.Complete"/>, the request; on error, <see cref="HttpRequestHead.Error"/>.</param>
    public HttpParseStatus TryParse<TSink>(in ReadOnlySequence<byte> buffer, Span<byte> scratch, scoped ref TSink sink, out HttpRequestHead head)
        where TSink : struct, IHttpHeaderSink
    {
        HeaderSinkAdapter<TSink> lines = new(sink);
        HttpParseStatus status = TryParseFieldLines(buffer, scratch, ref lines, out head);
        sink = lines.Sink;
        return status;
    }

    /// <summary>
    /// Parses the head at the start of <paramref name="buffer"/> like <see cref="TryParse{TSink}"/>, telling
    /// <paramref name="sink"/> where each field line sits in the head.
    /// </summary>
    /// <remarks>
    /// The offsets count from the start of <paramref name="buffer"/>: the head's bytes are <c>buffer.Slice(0, head.HeadLength)</c>
    /// whether the parse read them from the first segment or from <paramref name="scratch"/>.
    /// </remarks>
    public HttpParseStatus TryParseFieldLines<TSink>(in ReadOnlySequence<byte> buffer, Span<byte> scratch, scoped ref TSink sink, out HttpRequestHead head)
        where TSink : struct, IHttpFieldLineSink
    {
        int maxHead = _limits.MaxHeadLength;
        if (scratch.Length < maxHead)
        {
            throw new ArgumentException(
                $"The scratch buffer has {scratch.Length} bytes but the limits need {maxHead}; size it with HttpParserLimits.MaxHeadLength.",
                nameof(scratch));
        }

        // Fast path: the whole head sits in the first segment, the usual case for a pipe fed by one read.
        ReadOnlySpan<byte> data = buffer.FirstSpan;
        int start = SkipEmptyLines(data);
        int headLength = FindHeadEnd(data, start, maxHead);
        if (headLength < 0 && !buffer.IsSingleSegment)
        {
            int length = (int)Math.Min(buffer.Length, maxHead);
            buffer.Slice(0, length).CopyTo(scratch);
            data = scratch[..length];
            start = SkipEmptyLines(data);
            headLength = FindHeadEnd(data, start, maxHead);
        }

        if (headLength < 0)
        {
            // Incomplete: look for errors and limits in what is there, with no sink to mislead.
            NoopHttpHeaderSink noop = default;
            return Parse(data[..Math.Min(data.Length, maxHead)], start, complete: false, ref noop, out head);
        }

        HttpParseStatus status = Parse(data[..headLength], start, complete: true, ref sink, out head);
        if (status == HttpParseStatus.Complete)
        {
            head._headLength = headLength;
            head._consumed = buffer.GetPosition(headLength);
        }

        return status;
    }

    /// <summary>RFC 9112 §2.2: ignore CRLFs before the request line (left over after a body by some clients).</summary>
    private int SkipEmptyLines(ReadOnlySpan<byte> data)
    {
        int limit = Math.Min(data.Length - 1, _limits.MaxRequestLineLength);
        int start = 0;
        while (start < limit && data[start] == HttpSyntax.Cr && data[start + 1] == HttpSyntax.Lf)
        {
            start += 2;
        }

        return start;
    }

    /// <summary>Length of the head ending in the first CRLF CRLF within the limits, or -1.</summary>
    private static int FindHeadEnd(ReadOnlySpan<byte> data, int start, int maxHead)
    {
        if (start >= maxHead)
        {
            return -1;
        }

        // The request line ends in CRLF and is followed by at least the empty line, so CRLF CRLF always ends a head.
        ReadOnlySpan<byte> window = data[start..Math.Min(data.Length, maxHead)];
        int end = window.IndexOf("\r\n\r\n"u8);
        return end < 0 ? -1 : start + end + 4;
    }

}
