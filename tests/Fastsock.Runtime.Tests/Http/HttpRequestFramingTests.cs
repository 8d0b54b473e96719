using System.Runtime.Versioning;
using Fastsock.Http;

namespace Fastsock.Tests.Http;

[SupportedOSPlatform("linux")]
public sealed class HttpRequestFramingTests
{
    [Theory]
    [InlineData("HTTP/1.1", null, true)]
    [InlineData("HTTP/1.1", "close", false)]
    [InlineData("HTTP/1.1", "CLOSE", false)]
    [InlineData("HTTP/1.1", "keep-alive", true)]
    [InlineData("HTTP/1.1", "Upgrade, close", false)]
    [InlineData("HTTP/1.1", "keep-alive, Close", false)]
    [InlineData("HTTP/1.1", "closed", true)]
    [InlineData("HTTP/1.0", null, false)]
    [InlineData("HTTP/1.0", "keep-alive", true)]
    [InlineData("HTTP/1.0", "Keep-Alive", true)]
    [InlineData("HTTP/1.0", " foo ,keep-alive ", true)]
    [InlineData("HTTP/1.0", "keep-alive, close", false)]
    [InlineData("HTTP/1.0", "keep-alives", false)]
    public void Keep_alive_follows_the_version_default_and_the_connection_options(string version, string? connection, bool keepAlive)
    {
        string field = connection is null ? "" : $"Connection: {connection}\r\n";
        ParsedRequest r = ParsedRequest.Parse($"GET / {version}\r\nHost: h\r\n{field}\r\n");

        Assert.Equal(HttpParseStatus.Complete, r.Status);
        Assert.Equal(keepAlive, r.KeepAlive);
    }

    [Fact]
    public void Connection_options_from_several_fields_are_combined()
    {
        ParsedRequest r = ParsedRequest.Parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\nconnection: close\r\n\r\n");

        Assert.False(r.KeepAlive);
    }

    [Theory]
    [InlineData("0", 0)]
    [InlineData("00042", 42)]
    [InlineData("9223372036854775807", long.MaxValue)]
    public void Content_length_is_parsed_as_a_decimal_count(string value, long expected)
    {
        ParsedRequest r = ParsedRequest.Parse($"POST / HTTP/1.1\r\nHost: h\r\ncontent-LENGTH: {value}\r\n\r\n");

        Assert.Equal(HttpParseStatus.Complete, r.Status);
        Assert.Equal(expected, r.ContentLength);
        Assert.False(r.IsChunked);
    }

    [Theory]
    [InlineData("chunked")]
    [InlineData("Chunked")]
    [InlineData("gzip, chunked")]
    [InlineData("gzip ,\tCHUNKED ")]
    public void Transfer_encoding_ending_in_chunked_marks_the_body_chunked(string value)
    {
        ParsedRequest r = ParsedRequest.Parse($"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: {value}\r\n\r\n");

        Assert.Equal(HttpParseStatus.Complete, r.Status);
        Assert.True(r.IsChunked);
        Assert.Equal(-1, r.ContentLength);
    }

    [Fact]
    public void Transfer_encoding_split_over_two_fields_ending_in_chunked_is_accepted()
    {
        ParsedRequest r = ParsedRequest.Parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n");

        Assert.True(r.IsChunked);
    }

    [Theory]
    [InlineData("HTTP/1.1", "100-continue", true)]
    [InlineData("HTTP/1.1", "100-Continue", true)]
    [InlineData("HTTP/1.1", "200-ok", false)]
    [InlineData("HTTP/1.0", "100-continue", false)]
    public void Expect_continue_is_honoured_only_from_http11_clients(string version, string expect, bool expected)
    {
        ParsedRequest r = ParsedRequest.Parse($"POST / {version}\r\nHost: h\r\nExpect: {expect}\r\nContent-Length: 3\r\n\r\n");

        Assert.Equal(HttpParseStatus.Complete, r.Status);
        Assert.Equal(expected, r.ExpectContinue);
    }

    [Fact]
    public void Framing_fields_are_still_delivered_to_the_sink()
    {
        ParsedRequest r = ParsedRequest.Parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nConnection: close\r\n\r\n");

        Assert.Equal("Host=h|Content-Length=3|Connection=close|", r.Headers);
    }
}
