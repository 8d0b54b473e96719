using System.Buffers;
using System.Runtime.Versioning;
using System.Text;
using Fastsock.Http;
using Fastsock.Http.Proxying;

namespace Fastsock.Tests.Http.Proxying;

/// <summary>A copy of everything a response parse produced, so results of different inputs compare as values.</summary>
[SupportedOSPlatform("linux")]
internal sealed record ParsedResponse(
    HttpParseStatus Status,
    string Error,
    int StatusCode,
    string Reason,
    HttpVersion Version,
    HttpBodyFraming Framing,
    long ContentLength,
    bool HasBody,
    bool KeepAlive,
    int HeaderCount,
    long Consumed,
    string Headers)
{
    public static ParsedResponse Parse(string response, RequestMethod method = RequestMethod.Get, HttpParserLimits? limits = null) =>
        Parse(Sequences.Contiguous(response), method, limits);

    public static ParsedResponse Parse(ReadOnlySequence<byte> input, RequestMethod method = RequestMethod.Get, HttpParserLimits? limits = null)
    {
        HttpResponseParser parser = new(limits ?? HttpParserLimits.Default);
        byte[] scratch = new byte[parser.Limits.MaxHeadLength];
        ParsedRequest.RecordingSink sink = new() { Log = new StringBuilder() };
        HttpParseStatus status = parser.TryParse(input, scratch, method, ref sink, out HttpResponseHead head);
        return new ParsedResponse(
            status,
            head.Error?.ToString() ?? string.Empty,
            head.StatusCode,
            Sequences.Text(head.ReasonPhrase),
            head.Version,
            head.Framing,
            head.ContentLength,
            head.HasBody,
            head.KeepAlive,
            head.HeaderCount,
            status == HttpParseStatus.Complete ? input.Slice(input.Start, head.Consumed).Length : -1,
            sink.Log.ToString());
    }
}
