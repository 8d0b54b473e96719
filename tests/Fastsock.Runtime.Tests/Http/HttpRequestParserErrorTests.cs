using System.Runtime.Versioning;
using Fastsock.Http;

namespace Fastsock.Tests.Http;

[SupportedOSPlatform("linux")]
public sealed class HttpRequestParserErrorTests
{
    [Theory]
    [InlineData("GET  / HTTP/1.1")]
    [InlineData(" GET / HTTP/1.1")]
    [InlineData("GET / HTTP/1.1 ")]
    [InlineData("GET /")]
    [InlineData("GET")]
    [InlineData("G(T / HTTP/1.1")]
    [InlineData("GET\t/ HTTP/1.1")]
    [InlineData("GET /a\u0001b HTTP/1.1")]
    [InlineData("GET /caf\u00e9 HTTP/1.1")]
    [InlineData("GET /a\u007f HTTP/1.1")]
    [InlineData("GET a/b HTTP/1.1")]
    [InlineData("GET * HTTP/1.1")]
    [InlineData("CONNECT /x HTTP/1.1")]
    [InlineData("GET / http/1.1")]
    [InlineData("GET / HTTP/1.1x")]
    [InlineData("GET / HTTP/1")]
    [InlineData("GET / HTTP/11.1")]
    public void Malformed_request_line_is_rejected_with_400(string requestLine) =>
        AssertRejected($"{requestLine}\r\nHost: h\r\n\r\n", 400);

    [Theory]
    [InlineData("HTTP/2.0")]
    [InlineData("HTTP/1.2")]
    [InlineData("HTTP/0.9")]
    [InlineData("HTTP/3.0")]
    public void Well_formed_but_unsupported_version_is_rejected_with_505(string version) =>
        AssertRejected($"GET / {version}\r\nHost: h\r\n\r\n", 505);

    [Theory]
    [InlineData("Host : h")]
    [InlineData("Host\t: h")]
    [InlineData(": empty-name")]
    [InlineData("No-Colon")]
    [InlineData("Bad(Name): x")]
    [InlineData("X-A: a\u0000b")]
    [InlineData("X-A: a\u007fb")]
    [InlineData("X-A: a\u001bb")]
    [InlineData("X-A: a\rb")]
    public void Malformed_header_field_is_rejected_with_400(string field) =>
        AssertRejected($"GET / HTTP/1.1\r\nHost: h\r\n{field}\r\n\r\n", 400);

    [Fact]
    public void Obsolete_line_folding_is_rejected_with_400() =>
        AssertRejected("GET / HTTP/1.1\r\nHost: h\r\nX-A: one\r\n two\r\n\r\n", 400);

    [Fact]
    public void Obsolete_line_folding_with_tab_is_rejected_with_400() =>
        AssertRejected("GET / HTTP/1.1\r\nHost: h\r\nX-A: one\r\n\ttwo\r\n\r\n", 400);

    [Theory]
    [InlineData("GET / HTTP/1.1\nHost: h\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: h\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: h\r\n\n\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: h\r\n\rX: y\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\rHost: h\r\n\r\n")]
    public void Bare_line_feed_or_carriage_return_is_rejected_with_400(string request) => AssertRejected(request, 400);

    [Theory]
    [InlineData("GET / HTTP/1.1\nHost: h\n\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: h\n")]
    [InlineData("GET /\n")]
    public void Bare_line_feed_is_rejected_at_once_even_before_the_head_is_complete(string request) =>
        AssertRejected(request, 400);

    [Fact]
    public void Http11_request_without_host_is_rejected_with_400() =>
        AssertRejected("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400);

    [Fact]
    public void Request_with_two_host_fields_is_rejected_with_400() =>
        AssertRejected("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400);

    [Fact]
    public void Request_with_both_content_length_and_transfer_encoding_is_rejected_with_400() =>
        AssertRejected("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400);

    [Fact]
    public void Request_with_transfer_encoding_before_content_length_is_rejected_with_400() =>
        AssertRejected("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\ncontent-length: 5\r\n\r\n", 400);

    [Fact]
    public void Duplicate_content_length_with_different_values_is_rejected_with_400() =>
        AssertRejected("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400);

    [Fact]
    public void Duplicate_content_length_with_the_same_value_is_accepted_as_one()
    {
        ParsedRequest r = ParsedRequest.Parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n");

        Assert.Equal(HttpParseStatus.Complete, r.Status);
        Assert.Equal(5, r.ContentLength);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("+1")]
    [InlineData("1a")]
    [InlineData("0x10")]
    [InlineData("")]
    [InlineData("1 2")]
    [InlineData("5, 5")]
    [InlineData("1.0")]
    [InlineData("9223372036854775808")]
    [InlineData("99999999999999999999999")]
    public void Invalid_content_length_is_rejected_with_400(string value) =>
        AssertRejected($"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: {value}\r\n\r\n", 400);

    [Theory]
    [InlineData("gzip")]
    [InlineData("chunked, gzip")]
    [InlineData("chunked, chunked")]
    [InlineData("chunked;ext=1")]
    [InlineData("")]
    [InlineData(" , ")]
    public void Transfer_encoding_not_ending_in_chunked_is_rejected_with_400(string value) =>
        AssertRejected($"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: {value}\r\n\r\n", 400);

    [Fact]
    public void Chunked_in_an_earlier_transfer_encoding_field_than_another_coding_is_rejected_with_400() =>
        AssertRejected("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", 400);

    [Fact]
    public void Transfer_encoding_in_an_http10_request_is_rejected_with_400() =>
        AssertRejected("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400);

    [Fact]
    public void Request_line_longer_than_the_limit_is_rejected_with_414()
    {
        HttpParserLimits limits = new() { MaxRequestLineLength = 64 };
        string target = "/" + new string('a', 64);

        Assert.Equal(414, ParsedRequest.Parse($"GET {target} HTTP/1.1\r\nHost: h\r\n\r\n", limits).ErrorStatus);
        Assert.Equal(414, ParsedRequest.Parse($"GET {target}", limits).ErrorStatus);
    }

    [Fact]
    public void Request_line_exactly_at_the_limit_is_accepted()
    {
        const string Line = "GET /abc HTTP/1.1\r\n";
        HttpParserLimits limits = new() { MaxRequestLineLength = Line.Length };

        Assert.Equal(HttpParseStatus.Complete, ParsedRequest.Parse(Line + "Host: h\r\n\r\n", limits).Status);
        Assert.Equal(414, ParsedRequest.Parse("GET /abcd HTTP/1.1\r\nHost: h\r\n\r\n", limits).ErrorStatus);
    }

    [Fact]
    public void Header_section_larger_than_the_limit_is_rejected_with_431()
    {
        HttpParserLimits limits = new() { MaxHeaderBytes = 100 };
        string big = "X-Big: " + new string('v', 100) + "\r\n";

        Assert.Equal(431, ParsedRequest.Parse($"GET / HTTP/1.1\r\nHost: h\r\n{big}\r\n", limits).ErrorStatus);
        Assert.Equal(431, ParsedRequest.Parse($"GET / HTTP/1.1\r\nHost: h\r\n{big}", limits).ErrorStatus);
        Assert.Equal(431, ParsedRequest.Parse($"GET / HTTP/1.1\r\nHost: h\r\nX-Big: {new string('v', 200)}", limits).ErrorStatus);
    }

    [Fact]
    public void Header_section_exactly_at_the_byte_limit_is_accepted()
    {
        const string Fields = "Host: h\r\n\r\n";
        HttpParserLimits limits = new() { MaxHeaderBytes = Fields.Length };

        Assert.Equal(HttpParseStatus.Complete, ParsedRequest.Parse("GET / HTTP/1.1\r\n" + Fields, limits).Status);
        Assert.Equal(431, ParsedRequest.Parse("GET / HTTP/1.1\r\nHost: hh\r\n\r\n", limits).ErrorStatus);
    }

    [Fact]
    public void More_header_fields_than_the_limit_are_rejected_with_431()
    {
        HttpParserLimits limits = new() { MaxHeaderCount = 3 };

        Assert.Equal(HttpParseStatus.Complete, ParsedRequest.Parse("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n", limits).Status);
        Assert.Equal(431, ParsedRequest.Parse("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits).ErrorStatus);
    }

    [Fact]
    public void Default_limits_reject_an_oversized_head_that_never_ends()
    {
        string endless = "GET / HTTP/1.1\r\nHost: h\r\n" + string.Concat(Enumerable.Repeat("X-Pad: 0123456789abcdef\r\n", 2000));

        Assert.Equal(431, ParsedRequest.Parse(endless).ErrorStatus);
        Assert.Equal(431, ParsedRequest.Parse(Sequences.Split(Sequences.Bytes(endless), 100, 20000)).ErrorStatus);
    }

    [Fact]
    public void Endless_empty_lines_before_the_request_line_are_rejected_with_414()
    {
        HttpParserLimits limits = new() { MaxRequestLineLength = 64 };

        Assert.Equal(414, ParsedRequest.Parse(string.Concat(Enumerable.Repeat("\r\n", 40)), limits).ErrorStatus);
    }

    [Fact]
    public void Error_carries_a_constant_reason_and_no_request_data()
    {
        HttpRequestParser parser = new();
        HttpParseStatus status = parser.TryParse(
            Sequences.Contiguous("GET / HTTP/1.1\r\n\r\n"), new byte[parser.Limits.MaxHeadLength], out HttpRequestHead head);

        Assert.Equal(HttpParseStatus.Error, status);
        Assert.Equal(400, head.Error!.StatusCode);
        Assert.False(string.IsNullOrEmpty(head.Error.Reason));
        Assert.True(head.Target.IsEmpty);
    }

    private static void AssertRejected(string request, int status)
    {
        ParsedRequest r = ParsedRequest.Parse(request);

        Assert.Equal(HttpParseStatus.Error, r.Status);
        Assert.Equal(status, r.ErrorStatus);
    }
}
