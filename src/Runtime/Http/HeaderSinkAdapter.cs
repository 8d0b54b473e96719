namespace Fastsock.Http;

/// <summary>Lets an <see cref="IHttpHeaderSink"/> take the field lines the parser reports.</summary>
/// <remarks>Holds the sink by value (copied in and out around a parse): sinks are small structs, and the copy keeps ref-safety simple.</remarks>
internal struct HeaderSinkAdapter<TSink>(TSink sink) : IHttpFieldLineSink
    where TSink : struct, IHttpHeaderSink
{
    public TSink Sink = sink;

    public void OnFieldLine(ReadOnlySpan<byte> line, int lineOffset, int nameLength, int valueStart, int valueLength) =>
        Sink.OnHeader(line[..nameLength], line.Slice(valueStart, valueLength));
}
