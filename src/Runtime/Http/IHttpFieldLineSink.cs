namespace Fastsock.Http;

/// <summary>Receives header field lines with their place in the head, so a caller can keep offsets instead of spans.</summary>
/// <remarks>
/// For callers that parse a head once and use its fields later (after an await, from a buffer they still hold), such as
/// a proxy that validates a request, picks a backend, then writes the forwarded head: the offsets stay valid as long as
/// the head's bytes do, while spans would not survive the await. Implement it on a struct and pass it by <c>ref</c>, as
/// with <see cref="IHttpHeaderSink"/>.
/// </remarks>
internal interface IHttpFieldLineSink
{
    /// <summary>One field line of a complete head.</summary>
    /// <param name="line">The line without its CRLF; the name is <c>line[..nameLength]</c>, followed by ':'.</param>
    /// <param name="lineOffset">Where the line starts, counted from the head's first byte (as <see cref="HttpRequestHead.HeadLength"/> is).</param>
    /// <param name="nameLength">Length of the field name, a validated token.</param>
    /// <param name="valueStart">Where the value (OWS trimmed) starts within <paramref name="line"/>.</param>
    /// <param name="valueLength">Length of the value.</param>
    void OnFieldLine(ReadOnlySpan<byte> line, int lineOffset, int nameLength, int valueStart, int valueLength);
}
