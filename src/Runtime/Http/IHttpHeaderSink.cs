namespace Fastsock.Http;

/// <summary>Receives header fields as they are parsed, without allocating.</summary>
/// <remarks>
/// Implement it on a struct and pass it by <c>ref</c>: the generic parser is specialised per sink type, so the
/// call is direct and can be inlined (the idea behind Kestrel's <c>IHttpHeadersHandler</c>).
/// The spans are valid only during the call unless the caller keeps the parsed buffer (or scratch) alive.
/// When the parse ends in an error, the sink may already have seen the fields that preceded it.
/// </remarks>
internal interface IHttpHeaderSink
{
    /// <summary>One field line: <paramref name="name"/> is a validated token, <paramref name="value"/> has its OWS trimmed.</summary>
    void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value);
}
