using System.Buffers;
using System.Net;
using System.Runtime.Versioning;
using Fastsock.Http;
using Fastsock.Http.Proxying;

namespace Fastsock.Tests.Http.Proxying;

/// <summary>Runs the forwarding of a whole head the way a proxy does, and returns what reached the next hop.</summary>
[SupportedOSPlatform("linux")]
internal static class Forwarding
{
    /// <summary>The request as the backend would receive it, or "error NNN reason".</summary>
    public static string Request(string request, string client = "192.0.2.1") => Request(Sequences.Contiguous(request), client);

    /// <summary>The request forwarded by <see cref="HttpRequestHeadForwarder"/> (step 1 of <see cref="HttpExchangeForwarder"/>).</summary>
    public static string Request(ReadOnlySequence<byte> input, string client = "192.0.2.1") => RequestInOnePass(input, client);

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

    /// <summary>
    /// The response's header fields as they would be forwarded to the client (no status line, no framing), by
    /// <see cref="HttpResponseHeadForwarder"/>, or "error NNN reason".
    /// </summary>
    public static string ResponseFields(string response)
    {
        string onePass = ResponseInOnePass(response);
        return onePass.StartsWith("error", StringComparison.Ordinal) ? onePass : onePass[(onePass.IndexOf('\n', StringComparison.Ordinal) + 1)..];
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
}
