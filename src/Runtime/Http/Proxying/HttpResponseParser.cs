using System.Buffers;

namespace Fastsock.Http.Proxying;

/// <summary>
/// A strict RFC 9112 parser for the response heads a proxy reads from its backends (status line and header fields up
/// to the empty line), in the style of <see cref="HttpRequestParser"/>. Stateless apart from its limits.
/// </summary>
/// <remarks>
/// <para>
/// Limits come from <see cref="HttpParserLimits"/>: the status line is held to <see cref="HttpParserLimits.MaxRequestLineLength"/>,
/// the fields to the same byte and count limits as a request's. Every error carries status 502, the answer a proxy gives
/// its client for a broken backend.
/// </para>
/// <para>
/// The body framing needs the request's method (a response to HEAD has none). An interim 1xx response parses as a
/// complete head without body: forward or drop it and parse again for the final response.
/// </para>
/// </remarks>
internal sealed partial class HttpResponseParser
{
    private readonly HttpParserLimits _limits;

    public HttpResponseParser()
        : this(HttpParserLimits.Default)
    {
    }

    public HttpResponseParser(HttpParserLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        _limits = limits;
    }

    public HttpParserLimits Limits => _limits;

    /// <summary>Parses one head, ignoring its header fields beyond the framing summary.</summary>
    public HttpParseStatus TryParse(in ReadOnlySequence<byte> buffer, Span<byte> scratch, RequestMethod requestMethod, out HttpResponseHead head)
    {
        NoopHttpHeaderSink sink = default;
        return TryParse(buffer, scratch, requestMethod, ref sink, out head);
    }

    /// <summary>Parses the head at the start of <paramref name="buffer"/>, delivering each field to <paramref name="sink"/>.</summary>
    /// <param name="buffer">Unconsumed input from the backend; the head must start at its beginning.</param>
    /// <param name="scratch">At least <see cref="HttpParserLimits.MaxHeadLength"/> bytes, used only when the head spans segments.</param>
    /// <param name="requestMethod">The method of the request this response answers.</param>
    /// <param name="sink">Receives the fields; called only once the whole head has arrived.</param>
    /// <param name="head">On <see cref="HttpParseStatus.Complete"/>, the response; on error, <see cref="HttpResponseHead.Error"/>.</param>
    public HttpParseStatus TryParse<TSink>(
        in ReadOnlySequence<byte> buffer, Span<byte> scratch, RequestMethod requestMethod, scoped ref TSink sink, out HttpResponseHead head)
        where TSink : struct, IHttpHeaderSink
    {
        HeaderSinkAdapter<TSink> lines = new(sink);
        HttpParseStatus status = TryParseFieldLines(buffer, scratch, requestMethod, ref lines, out head);
        sink = lines.Sink;
        return status;
    }

    /// <summary>
    /// Parses the head like <see cref="TryParse{TSink}"/>, telling <paramref name="sink"/> where each field line sits;
    /// the offsets count from the start of <paramref name="buffer"/> (the status line is at 0).
    /// </summary>
    public HttpParseStatus TryParseFieldLines<TSink>(
        in ReadOnlySequence<byte> buffer, Span<byte> scratch, RequestMethod requestMethod, scoped ref TSink sink, out HttpResponseHead head)
        where TSink : struct, IHttpFieldLineSink
    {
        int maxHead = _limits.MaxHeadLength;
        if (scratch.Length < maxHead)
        {
            throw new ArgumentException(
                $"The scratch buffer has {scratch.Length} bytes but the limits need {maxHead}; size it with HttpParserLimits.MaxHeadLength.",
                nameof(scratch));
        }

        ReadOnlySpan<byte> data = buffer.FirstSpan;
        int headLength = FindHeadEnd(data, maxHead);
        if (headLength < 0 && !buffer.IsSingleSegment)
        {
            int length = (int)Math.Min(buffer.Length, maxHead);
            buffer.Slice(0, length).CopyTo(scratch);
            data = scratch[..length];
            headLength = FindHeadEnd(data, maxHead);
        }

        if (headLength < 0)
        {
            // Incomplete: look for errors and limits in what is there, with no sink to mislead.
            NoopHttpHeaderSink noop = default;
            return Parse(data[..Math.Min(data.Length, maxHead)], complete: false, requestMethod, ref noop, out head);
        }

        HttpParseStatus status = Parse(data[..headLength], complete: true, requestMethod, ref sink, out head);
        if (status == HttpParseStatus.Complete)
        {
            head._headLength = headLength;
            head._consumed = buffer.GetPosition(headLength);
        }

        return status;
    }

    /// <summary>Length of the head ending in the first CRLF CRLF within the limits, or -1.</summary>
    private static int FindHeadEnd(ReadOnlySpan<byte> data, int maxHead)
    {
        int end = data[..Math.Min(data.Length, maxHead)].IndexOf("\r\n\r\n"u8);
        return end < 0 ? -1 : end + 4;
    }
}
