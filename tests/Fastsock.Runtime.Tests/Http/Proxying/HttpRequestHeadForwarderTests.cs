using System.Buffers;
using System.Net;
using System.Runtime.Versioning;
using Fastsock.Http;
using Fastsock.Http.Proxying;

namespace Fastsock.Tests.Http.Proxying;

/// <summary>The one-parse head forwarding, both ways; the shared cases run through <see cref="Forwarding.Request(string, string)"/>.</summary>
[SupportedOSPlatform("linux")]
public sealed class HttpRequestHeadForwarderTests
{
    [Fact]
    public void Lines_not_in_written_form_are_normalised_and_the_rest_copied_as_they_came()
    {
        string forwarded = Forwarding.Request(
            "\r\nGET /x HTTP/1.1\r\nHost:h\r\nA: 1\r\nB:\t2 \r\nC: 3\r\nD: \r\nE:\r\nTE: trailers\r\nF: 4\r\n\r\n");

        Assert.Equal(
            "GET /x HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: \r\nE: \r\nF: 4\r\nX-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Proto: http\r\n\r\n",
            forwarded);
    }

    [Fact]
    public void Http10_request_is_sent_in_http11_with_the_host_the_caller_gives()
    {
        HttpRequestParser parser = new();
        byte[] scratch = new byte[parser.Limits.MaxHeadLength];
        ReadOnlySequence<byte> input = Sequences.Contiguous("GET /old HTTP/1.0\r\nAccept: */*\r\n\r\n");
        HttpRequestHeadForwarder forwarder = new([10, 0, 0, 1]);
        ArrayBufferWriter<byte> output = new();

        Assert.Equal(HttpParseStatus.Complete, forwarder.TryParse(parser, input, scratch, out _));
        Assert.False(forwarder.HasHost);
        forwarder.Write(input, scratch, output, "backend:8080"u8);

        Assert.Equal(
            "GET /old HTTP/1.1\r\nAccept: */*\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Proto: http\r\nHost: backend:8080\r\n\r\n",
            Sequences.Text(output.WrittenSpan));
        Assert.Throws<ArgumentException>(() => forwarder.Write(input, scratch, new ArrayBufferWriter<byte>(), "a\r\nb"u8));
    }

    [Theory]
    [InlineData("GET http://example.com/a/b?q=1 HTTP/1.1\r\nHost: other\r\nAccept: */*\r\n\r\n", "GET /a/b?q=1 HTTP/1.1\r\nAccept: */*\r\nX-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Proto: http\r\nHost: example.com\r\n\r\n")]
    [InlineData("GET HTTP://Example.com:8080 HTTP/1.1\r\nHost: example.com:8080\r\n\r\n", "GET / HTTP/1.1\r\nX-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Proto: http\r\nHost: Example.com:8080\r\n\r\n")]
    [InlineData("OPTIONS https://h?x HTTP/1.1\r\nAccept: a\r\nHost: h\r\nVia: v\r\n\r\n", "OPTIONS /?x HTTP/1.1\r\nAccept: a\r\nVia: v\r\nX-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Proto: http\r\nHost: h\r\n\r\n")]
    [InlineData("GET http://[2001:db8::1]:81/p HTTP/1.0\r\n\r\n", "GET /p HTTP/1.1\r\nX-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Proto: http\r\nHost: [2001:db8::1]:81\r\n\r\n")]
    public void Absolute_form_target_is_forwarded_in_origin_form_with_its_authority_as_host(string request, string expected)
    {
        Assert.Equal(expected, Forwarding.Request(request));
    }

    [Theory]
    [InlineData("GET ftp://h/f HTTP/1.1\r\nHost: h\r\n\r\n", "error 400 Absolute-form target whose scheme is not http or https")]
    [InlineData("GET http://user:pw@h/ HTTP/1.1\r\nHost: h\r\n\r\n", "error 400 Absolute-form target with an empty authority, userinfo or a fragment")]
    [InlineData("GET http:///p HTTP/1.1\r\nHost: h\r\n\r\n", "error 400 Absolute-form target with an empty authority, userinfo or a fragment")]
    [InlineData("GET http://h/p#frag HTTP/1.1\r\nHost: h\r\n\r\n", "error 400 Absolute-form target with an empty authority, userinfo or a fragment")]
    public void Absolute_form_target_that_names_no_http_origin_is_a_400(string request, string expected)
    {
        Assert.Equal(expected, Forwarding.Request(request));
    }

    [Fact]
    public void Forwarded_proto_given_to_the_forwarder_is_added_when_absent()
    {
        HttpRequestHeadForwarder forwarder = new([10, 0, 0, 1], "https"u8);

        string forwarded = Forwarding.RequestInOnePass(Sequences.Contiguous("GET / HTTP/1.1\r\nHost: h\r\n\r\n"), forwarder: forwarder);

        Assert.Equal("GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Proto: https\r\n\r\n", forwarded);
        Assert.Throws<ArgumentException>(() => new HttpRequestHeadForwarder([10, 0, 0, 1], "a b"u8));
    }

    [Fact]
    public void A_reused_forwarder_forgets_the_previous_request()
    {
        HttpRequestHeadForwarder forwarder = new(IPAddress.Parse("192.0.2.1"));
        string many = string.Concat(Enumerable.Range(1, 40).Select(i => $"X-{i}: {i}\r\n"));
        Forwarding.RequestInOnePass(Sequences.Contiguous($"GET / HTTP/1.1\r\nHost: a\r\n{many}Connection: x-1\r\nX-Forwarded-For: 1.1.1.1\r\nX-Forwarded-Proto: https\r\n\r\n"), forwarder: forwarder);
        Assert.StartsWith("error 400", Forwarding.RequestInOnePass(Sequences.Contiguous("GET / HTTP/1.1\r\nHost: b\r\nConnection: x y\r\n\r\n"), forwarder: forwarder), StringComparison.Ordinal);

        string forwarded = Forwarding.RequestInOnePass(Sequences.Contiguous("GET / HTTP/1.1\r\nHost: c\r\nX-1: kept\r\n\r\n"), forwarder: forwarder);

        Assert.Equal("GET / HTTP/1.1\r\nHost: c\r\nX-1: kept\r\nX-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Proto: http\r\n\r\n", forwarded);
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nA: 1\r\nConnection: x-b\r\nX-B: 2\r\nC:3\r\n\r\n", "HTTP/1.1 200 OK\r\nA: 1\r\nC: 3\r\n")]
    [InlineData("HTTP/1.0 404 Not Found\r\nA: 1\r\n\r\n", "HTTP/1.1 404 Not Found\r\nA: 1\r\n")]
    [InlineData("HTTP/1.1 204\r\nA: 1\r\n\r\n", "HTTP/1.1 204 \r\nA: 1\r\n")]
    [InlineData("HTTP/1.1 200 \r\n\r\n", "HTTP/1.1 200 \r\n")]
    public void Response_status_line_is_sent_in_http11_with_its_reason_and_the_fields_kept(string response, string expected)
    {
        HttpResponseHeadForwarder forwarder = new();
        Forwarding.ResponseInOnePass("HTTP/1.1 500 X\r\nConnection: a, b\r\nKeep: 1\r\n\r\n", forwarder); // state from a previous response

        Assert.Equal(expected, Forwarding.ResponseInOnePass(response, forwarder));
    }

    [Fact]
    public void Writing_without_a_parsed_head_is_a_caller_bug()
    {
        HttpRequestHeadForwarder forwarder = new([127, 0, 0, 1]);

        Assert.Throws<InvalidOperationException>(() => forwarder.Write(Sequences.Contiguous("GET"), new byte[64], new ArrayBufferWriter<byte>()));
        Assert.Throws<ArgumentException>(() => new HttpRequestHeadForwarder([1, 2, 3]));
    }
}
