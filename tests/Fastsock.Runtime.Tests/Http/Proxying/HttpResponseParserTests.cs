using System.Runtime.Versioning;
using Fastsock.Http;
using Fastsock.Http.Proxying;

namespace Fastsock.Tests.Http.Proxying;

[SupportedOSPlatform("linux")]
public sealed class HttpResponseParserTests
{
    [Fact]
    public void Response_with_content_length_gives_status_fields_framing_and_the_body_start()
    {
        const string head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nX-Obs: \u00e9t\u00e9 \r\n\r\n";
        ParsedResponse response = ParsedResponse.Parse(head + "hello");

        Assert.Equal(HttpParseStatus.Complete, response.Status);
        Assert.Equal((200, "OK", HttpVersion.Http11), (response.StatusCode, response.Reason, response.Version));
        Assert.Equal((HttpBodyFraming.ContentLength, 5L, true, true), (response.Framing, response.ContentLength, response.HasBody, response.KeepAlive));
        Assert.Equal("Content-Type=text/plain|Content-Length=5|X-Obs=\u00e9t\u00e9|", response.Headers);
        Assert.Equal((3, (long)head.Length), (response.HeaderCount, response.Consumed));
    }

    [Theory]
    [InlineData("HTTP/1.1 200 \r\n\r\n", "")]
    [InlineData("HTTP/1.1 200\r\n\r\n", "")]
    [InlineData("HTTP/1.1 404 Not  Found\t!\r\n\r\n", "Not  Found\t!")]
    [InlineData("HTTP/1.1 599 \u00c9chec\r\n\r\n", "\u00c9chec")]
    public void Reason_phrase_may_be_empty_missing_or_contain_spaces_tabs_and_obs_text(string response, string reason) =>
        Assert.Equal(reason, ParsedResponse.Parse(response).Reason);

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", HttpBodyFraming.Chunked, true)]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: Chunked\r\n\r\n", HttpBodyFraming.Chunked, true)]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", HttpBodyFraming.CloseDelimited, false)]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", HttpBodyFraming.CloseDelimited, false)]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n", HttpBodyFraming.CloseDelimited, false)]
    [InlineData("HTTP/1.0 200 OK\r\n\r\n", HttpBodyFraming.CloseDelimited, false)]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", HttpBodyFraming.ContentLength, true)]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 7\r\nContent-Length: 7\r\n\r\n", HttpBodyFraming.ContentLength, true)]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 7\r\nConnection: close\r\n\r\n", HttpBodyFraming.ContentLength, false)]
    [InlineData("HTTP/1.0 200 OK\r\nContent-Length: 7\r\n\r\n", HttpBodyFraming.ContentLength, false)]
    [InlineData("HTTP/1.0 200 OK\r\nContent-Length: 7\r\nConnection: Keep-Alive\r\n\r\n", HttpBodyFraming.ContentLength, true)]
    [InlineData("HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n", HttpBodyFraming.None, true)]
    [InlineData("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", HttpBodyFraming.None, true)]
    [InlineData("HTTP/1.1 100 Continue\r\n\r\n", HttpBodyFraming.None, true)]
    [InlineData("HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n", HttpBodyFraming.None, true)]
    [InlineData("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", HttpBodyFraming.None, true)]
    // framing is an internal HttpBodyFraming, passed boxed: a public test method cannot name an internal type.
    public void Body_framing_follows_rfc_9112_section_6_3(string response, object framing, bool keepAlive)
    {
        ParsedResponse parsed = ParsedResponse.Parse(response);

        Assert.Equal(HttpParseStatus.Complete, parsed.Status);
        Assert.Equal(((HttpBodyFraming)framing, keepAlive), (parsed.Framing, parsed.KeepAlive));
    }

    [Fact]
    public void Response_to_head_has_no_body_but_keeps_its_content_length()
    {
        ParsedResponse response = ParsedResponse.Parse("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", RequestMethod.Head);

        Assert.Equal((HttpBodyFraming.None, 1234L, false), (response.Framing, response.ContentLength, response.HasBody));
    }

    [Theory]
    [InlineData("HTTP/1.1 200 Connection Established\r\n\r\n", HttpBodyFraming.None)]
    [InlineData("HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 3\r\n\r\n", HttpBodyFraming.ContentLength)]
    public void Successful_response_to_connect_has_no_body_and_others_do(string response, object framing) =>
        Assert.Equal((HttpBodyFraming)framing, ParsedResponse.Parse(response, RequestMethod.Connect).Framing);

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", "Both Content-Length and Transfer-Encoding")]
    [InlineData("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "Transfer-Encoding in an HTTP/1.0 response")]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", "repeated chunked")]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: ,\r\n\r\n", "Empty or repeated")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", "Conflicting Content-Length")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n", "Invalid Content-Length")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n", "Invalid Content-Length")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", "Invalid Content-Length")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", "Invalid Content-Length")]
    public void Framing_that_enables_response_splitting_is_a_502(string response, string reason) =>
        AssertRejected(response, reason);

    [Theory]
    [InlineData("HTTP/1.1 20 OK\r\n\r\n", "Status code")]
    [InlineData("HTTP/1.1 2000 OK\r\n\r\n", "Status code")]
    [InlineData("HTTP/1.1 099 OK\r\n\r\n", "Status code")]
    [InlineData("HTTP/1.1 600 OK\r\n\r\n", "Status code")]
    [InlineData("HTTP/1.1 2x0 OK\r\n\r\n", "Status code")]
    [InlineData("HTTP/1.1  200 OK\r\n\r\n", "Status code")]
    [InlineData("HTTP/1.1 200 O\u0001K\r\n\r\n", "reason phrase")]
    [InlineData("HTTP/1.2 200 OK\r\n\r\n", "not HTTP/1.0 or HTTP/1.1")]
    [InlineData("HTTP/2.0 200 OK\r\n\r\n", "not HTTP/1.0 or HTTP/1.1")]
    [InlineData("http/1.1 200 OK\r\n\r\n", "not HTTP/1.0 or HTTP/1.1")]
    [InlineData("ICY 200 OK\r\n\r\n", "not HTTP/1.0 or HTTP/1.1")]
    [InlineData("HTTP/1.1\r\n\r\n", "Invalid status line")]
    [InlineData("HTTP/1.10 200 OK\r\n\r\n", "Invalid status line")]
    [InlineData("\r\nHTTP/1.1 200 OK\r\n\r\n", "Invalid status line")]
    [InlineData("HTTP/1.1 200 OK\n\r\n", "not terminated by CRLF")]
    [InlineData("HTTP/1.1 200 OK\r\nA: 1\n\r\n", "not terminated by CRLF")]
    [InlineData("HTTP/1.1 200 OK\r\nA: 1\r\n folded\r\n\r\n", "line folding")]
    [InlineData("HTTP/1.1 200 OK\r\nBad Name: 1\r\n\r\n", "field name")]
    [InlineData("HTTP/1.1 200 OK\r\n: 1\r\n\r\n", "field name")]
    [InlineData("HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", "field name")]
    [InlineData("HTTP/1.1 200 OK\r\nA: 1\u007f\r\n\r\n", "field value")]
    public void Malformed_status_line_or_field_is_a_502(string response, string reason) =>
        AssertRejected(response, reason);

    [Fact]
    public void Status_line_and_fields_over_their_limits_are_a_502_even_before_the_head_ends()
    {
        HttpParserLimits limits = new() { MaxRequestLineLength = 32, MaxHeaderBytes = 64, MaxHeaderCount = 2 };

        Assert.Contains("Status line too long", ParsedResponse.Parse("HTTP/1.1 200 " + new string('x', 40), limits: limits).Error, StringComparison.Ordinal);
        Assert.Contains("too large", ParsedResponse.Parse("HTTP/1.1 200 OK\r\nA: " + new string('x', 80), limits: limits).Error, StringComparison.Ordinal);
        Assert.Contains("Too many", ParsedResponse.Parse("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits: limits).Error, StringComparison.Ordinal);
        Assert.Equal(HttpParseStatus.Complete, ParsedResponse.Parse("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\n\r\n", limits: limits).Status);
    }

    [Fact]
    public void Scratch_smaller_than_the_limits_is_refused_with_the_size_needed()
    {
        HttpResponseParser parser = new();

        ArgumentException error = Assert.Throws<ArgumentException>(() => parser.TryParse(Sequences.Contiguous("HTTP/1.1 200 OK\r\n\r\n"), new byte[10], RequestMethod.Get, out _));
        Assert.Contains("MaxHeadLength", error.Message, StringComparison.Ordinal);
    }

    private static void AssertRejected(string response, string reason)
    {
        ParsedResponse parsed = ParsedResponse.Parse(response);

        Assert.Equal(HttpParseStatus.Error, parsed.Status);
        Assert.StartsWith("502 ", parsed.Error, StringComparison.Ordinal);
        Assert.Contains(reason, parsed.Error, StringComparison.OrdinalIgnoreCase);
    }
}
