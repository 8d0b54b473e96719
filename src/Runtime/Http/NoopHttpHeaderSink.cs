namespace Fastsock.Http;

/// <summary>A sink for callers that need only the request line and the framing summary.</summary>
internal struct NoopHttpHeaderSink : IHttpHeaderSink, IHttpFieldLineSink
{
    /// <inheritdoc/>
    public readonly void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
    }

    /// <inheritdoc/>
    public readonly void OnFieldLine(ReadOnlySpan<byte> line, int lineOffset, int nameLength, int valueStart, int valueLength)
    {
    }
}
