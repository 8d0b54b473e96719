using System.Buffers;
using System.Runtime.Versioning;
using System.Text;
using Fastsock.Http;

namespace Fastsock.Tests.Http;

/// <summary>A copy of everything a parse produced, so results of different inputs can be compared as values.</summary>
[SupportedOSPlatform("linux")]
internal sealed record ParsedRequest(
    HttpParseStatus Status,
    int ErrorStatus,
    RequestMethod Method,
    string MethodBytes,
    string Target,
    string Path,
    string Query,
    HttpVersion Version,
    bool KeepAlive,
    long ContentLength,
    bool IsChunked,
    bool HasHost,
    bool ExpectContinue,
    int HeaderCount,
    long Consumed,
    string Headers)
{
    public static ParsedRequest Parse(string request, HttpParserLimits? limits = null) =>
        Parse(Sequences.Contiguous(request), limits);

    public static ParsedRequest Parse(ReadOnlySequence<byte> input, HttpParserLimits? limits = null)
    {
        HttpRequestParser parser = new(limits ?? HttpParserLimits.Default);
        byte[] scratch = new byte[parser.Limits.MaxHeadLength];
        RecordingSink sink = new() { Log = new StringBuilder() };
        HttpParseStatus status = parser.TryParse(input, scratch, ref sink, out HttpRequestHead head);
        bool complete = status == HttpParseStatus.Complete;
        return new ParsedRequest(
            status,
            head.Error?.StatusCode ?? 0,
            head.Method,
            Sequences.Text(head.MethodBytes),
            Sequences.Text(head.Target),
            Sequences.Text(head.Path),
            Sequences.Text(head.Query),
            head.Version,
            head.KeepAlive,
            head.ContentLength,
            head.IsChunked,
            head.HasHost,
            head.ExpectContinue,
            head.HeaderCount,
            complete ? input.Slice(input.Start, head.Consumed).Length : -1,
            sink.Log.ToString());
    }

    /// <summary>Records each field as "name=value|" (Latin-1) to check order and trimming.</summary>
    internal struct RecordingSink : IHttpHeaderSink
    {
        public StringBuilder Log;

        public readonly void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value) =>
            Log.Append(Sequences.Text(name)).Append('=').Append(Sequences.Text(value)).Append('|');
    }
}
