using System.Buffers;
using System.Net;
using System.Runtime.Versioning;
using Fastsock.Http;
using Fastsock.Http.Proxying;

namespace Fastsock.Runtime.Tests.Http.Proxying;

/// <summary>Runs the two-pass forwarding of a whole head the way a proxy does, and returns what reached the next hop.</summary>
[SupportedOSPlatform("linux")]
internal static class Forwarding
{
    /// <summary>The request as the backend would receive it, or "error NNN reason".</summary>
    public static string Request(string request, string client = "192.0.2.1") => Request(Sequences.Contiguous(request), client);

    public static string Request(ReadOnlySequence<byte> input, string client = "192.0.2.1")
    {
        HttpRequestParser parser = new();
        byte[] scratch = new byte[parser.Limits.MaxHeadLength];
        ArrayBufferWriter<byte> output = new();
        HttpHeaderForwarder fields = HttpHeaderForwarder.ForRequest(output, IPAddress.Parse(client));

        Assert.Equal(HttpParseStatus.Complete, parser.TryParse(input, scratch, ref fields, out HttpRequestHead head));
        if (!fields.BeginWriting())
        {
            return $"error {fields.Error!.StatusCode} {fields.Error.Reason}";
        }

        HttpForwardingWriter.WriteRequestLine(output, head.MethodBytes, head.Target);
        Assert.Equal(HttpParseStatus.Complete, parser.TryParse(input, scratch, ref fields, out head));
        fields.WriteAddedFields();
        if (head.IsChunked)
        {
            HttpForwardingWriter.WriteChunked(output);
        }
        else if (head.ContentLength >= 0)
        {
            HttpForwardingWriter.WriteContentLength(output, head.ContentLength);
        }

        HttpForwardingWriter.WriteEndOfHeaders(output);
        return Sequences.Text(output.WrittenSpan);
    }

    /// <summary>The response's header fields as they would be forwarded to the client (no status line, no framing).</summary>
    public static string ResponseFields(string response)
    {
        ReadOnlySequence<byte> input = Sequences.Contiguous(response);
        HttpResponseParser parser = new();
        byte[] scratch = new byte[parser.Limits.MaxHeadLength];
        ArrayBufferWriter<byte> output = new();
        HttpHeaderForwarder fields = HttpHeaderForwarder.ForResponse(output);

        Assert.Equal(HttpParseStatus.Complete, parser.TryParse(input, scratch, RequestMethod.Get, ref fields, out _));
        if (!fields.BeginWriting())
        {
            return $"error {fields.Error!.StatusCode} {fields.Error.Reason}";
        }

        Assert.Equal(HttpParseStatus.Complete, parser.TryParse(input, scratch, RequestMethod.Get, ref fields, out _));
        fields.WriteAddedFields();
        return Sequences.Text(output.WrittenSpan);
    }
}
