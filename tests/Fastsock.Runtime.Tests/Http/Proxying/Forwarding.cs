using System.Buffers;
using System.Net;
using System.Runtime.Versioning;
using Fastsock.Http;
using Fastsock.Http.Proxying;

namespace Fastsock.Runtime.Tests.Http.Proxying;

/// <summary>Runs the forwarding of a whole head the way a proxy does, and returns what reached the next hop.</summary>
[SupportedOSPlatform("linux")]
internal static class Forwarding
{
    /// <summary>The request as the backend would receive it, or "error NNN reason".</summary>
    public static string Request(string request, string client = "192.0.2.1") => Request(Sequences.Contiguous(request), client);

    /// <summary>
    /// The request forwarded by the one-parse <see cref="HttpRequestHeadForwarder"/> (what the proxy uses), checked against
    /// the two-pass <see cref="HttpHeaderForwarder"/>: both must write the same bytes.
    /// </summary>
    public static string Request(ReadOnlySequence<byte> input, string client = "192.0.2.1")
    {
        string twoPass = RequestInTwoPasses(input, client);
        string onePass = RequestInOnePass(input, client);
        Assert.Equal(twoPass, onePass);
        return onePass;
    }

    /// <summary>The one-parse forwarding, through a forwarder reused as a connection reuses it.</summary>
    public static string RequestInOnePass(ReadOnlySequence<byte> input, string client = "192.0.2.1", HttpRequestHeadForwarder? forwarder = null)
    {
        HttpRequestParser parser = new();
        byte[] scratch = new byte[parser.Limits.MaxHeadLength];
        ArrayBufferWriter<byte> output = new();
        forwarder ??= new HttpRequestHeadForwarder(IPAddress.Parse(client));
        HttpParseStatus status = forwarder.TryParse(parser, input, scratch, out HttpRequestHead head);
        if (status == HttpParseStatus.Error)
        {
            return $"error {head.Error!.StatusCode} {head.Error.Reason}";
        }

        Assert.Equal(HttpParseStatus.Complete, status);
        Array.Fill(scratch, (byte)'!'); // the write must not depend on what the parse left in the scratch
        forwarder.Write(input, scratch, output);
        return Sequences.Text(output.WrittenSpan);
    }

    private static string RequestInTwoPasses(ReadOnlySequence<byte> input, string client)
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

    /// <summary>
    /// The response's header fields as they would be forwarded to the client (no status line, no framing), by the
    /// one-parse <see cref="HttpResponseHeadForwarder"/> (what the proxy uses), checked against the two-pass sink.
    /// </summary>
    public static string ResponseFields(string response)
    {
        string twoPass = ResponseFieldsInTwoPasses(response);
        string onePass = ResponseInOnePass(response);
        if (!onePass.StartsWith("error", StringComparison.Ordinal))
        {
            onePass = onePass[(onePass.IndexOf('\n', StringComparison.Ordinal) + 1)..];
        }

        Assert.Equal(twoPass, onePass);
        return onePass;
    }

    /// <summary>The status line and fields the one-parse forwarder writes, or "error NNN reason".</summary>
    public static string ResponseInOnePass(string response, HttpResponseHeadForwarder? forwarder = null)
    {
        ReadOnlySequence<byte> input = Sequences.Contiguous(response);
        HttpResponseParser parser = new();
        byte[] scratch = new byte[parser.Limits.MaxHeadLength];
        ArrayBufferWriter<byte> output = new();
        forwarder ??= new HttpResponseHeadForwarder();
        Assert.Equal(HttpParseStatus.Complete, forwarder.TryParse(parser, input, scratch, RequestMethod.Get, out _));
        if (forwarder.Error is not null)
        {
            return $"error {forwarder.Error.StatusCode} {forwarder.Error.Reason}";
        }

        forwarder.WriteStatusAndFields(input, scratch, output);
        return Sequences.Text(output.WrittenSpan);
    }

    private static string ResponseFieldsInTwoPasses(string response)
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
