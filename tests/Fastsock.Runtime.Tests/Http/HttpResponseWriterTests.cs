using System.Buffers;
using System.Globalization;
using System.Runtime.Versioning;
using System.Text.RegularExpressions;
using Fastsock.Http;

namespace Fastsock.Tests.Http;

[SupportedOSPlatform("linux")]
public sealed partial class HttpResponseWriterTests
{
    [Fact]
    public void Plaintext_response_is_written_byte_for_byte()
    {
        string written = Write(w => HttpResponseWriter.WriteResponse(w, 200, "text/plain"u8, "Hello, World!"u8, keepAlive: true));

        Assert.Equal(
            $"HTTP/1.1 200 OK\r\nServer: fastsock\r\n{DateLine(written)}Content-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!",
            written);
    }

    [Fact]
    public void Response_that_closes_the_connection_says_so()
    {
        string written = Write(w => HttpResponseWriter.WriteResponse(w, 404, "application/json"u8, "{}"u8, keepAlive: false));

        Assert.Equal(
            $"HTTP/1.1 404 Not Found\r\nServer: fastsock\r\n{DateLine(written)}Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}",
            written);
    }

    [Fact]
    public void Kept_alive_response_to_an_http10_client_announces_keep_alive()
    {
        string written = Write(w => HttpResponseWriter.WriteResponse(w, 200, default, "x"u8, keepAlive: true, HttpVersion.Http10));

        Assert.Equal($"HTTP/1.1 200 OK\r\nServer: fastsock\r\n{DateLine(written)}Content-Length: 1\r\nConnection: keep-alive\r\n\r\nx", written);
    }

    [Fact]
    public void No_content_response_has_neither_content_length_nor_body()
    {
        string written = Write(w => HttpResponseWriter.WriteResponse(w, 204, default, default, keepAlive: true));

        Assert.Equal($"HTTP/1.1 204 No Content\r\nServer: fastsock\r\n{DateLine(written)}\r\n", written);
        Assert.Throws<ArgumentException>(() => HttpResponseWriter.WriteResponse(new ArrayBufferWriter<byte>(), 204, default, "x"u8, true));
    }

    [Fact]
    public void Error_response_has_its_reason_as_a_text_body_and_closes()
    {
        string written = Write(w => HttpResponseWriter.WriteError(w, 431));

        Assert.Equal(
            $"HTTP/1.1 431 Request Header Fields Too Large\r\nServer: fastsock\r\n{DateLine(written)}Content-Type: text/plain\r\nContent-Length: 31\r\nConnection: close\r\n\r\nRequest Header Fields Too Large",
            written);
    }

    [Theory]
    [InlineData(200, "OK")]
    [InlineData(204, "No Content")]
    [InlineData(400, "Bad Request")]
    [InlineData(404, "Not Found")]
    [InlineData(405, "Method Not Allowed")]
    [InlineData(408, "Request Timeout")]
    [InlineData(413, "Content Too Large")]
    [InlineData(414, "URI Too Long")]
    [InlineData(431, "Request Header Fields Too Large")]
    [InlineData(500, "Internal Server Error")]
    [InlineData(501, "Not Implemented")]
    [InlineData(502, "Bad Gateway")]
    [InlineData(503, "Service Unavailable")]
    [InlineData(504, "Gateway Timeout")]
    [InlineData(505, "HTTP Version Not Supported")]
    [InlineData(299, "")]
    public void Status_line_carries_the_standard_reason_phrase(int status, string reason)
    {
        Assert.Equal($"HTTP/1.1 {status} {reason}\r\n", Write(w => HttpResponseWriter.WriteStatusLine(w, status)));
        Assert.Equal(reason, Sequences.Text(HttpResponseWriter.ReasonPhrase(status)));
    }

    [Fact]
    public void Date_header_is_an_imf_fixdate_of_the_current_second()
    {
        string line = Write(HttpResponseWriter.WriteDate);

        Match match = DatePattern().Match(line);
        Assert.True(match.Success, line);
        DateTime date = DateTime.ParseExact(match.Groups[1].Value, "r", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal);
        Assert.InRange((DateTime.UtcNow - date).TotalSeconds, -1, 2);
    }

    [Fact]
    public void Header_helpers_compose_a_custom_response()
    {
        string written = Write(w =>
        {
            HttpResponseWriter.WriteStatusLine(w, 502);
            HttpResponseWriter.WriteServer(w);
            HttpResponseWriter.WriteHeader(w, "X-Upstream"u8, "backend-1"u8);
            HttpResponseWriter.WriteContentLength(w, 1234567890123);
            HttpResponseWriter.WriteConnectionClose(w);
            HttpResponseWriter.WriteEndOfHeaders(w);
        });

        Assert.Equal(
            "HTTP/1.1 502 Bad Gateway\r\nServer: fastsock\r\nX-Upstream: backend-1\r\nContent-Length: 1234567890123\r\nConnection: close\r\n\r\n",
            written);
    }

    [Fact]
    public void Continue_interim_response_is_a_bare_status_line_and_empty_line() =>
        Assert.Equal("HTTP/1.1 100 Continue\r\n\r\n", Write(HttpResponseWriter.WriteContinue));

    [Fact]
    public void Header_injection_through_names_values_or_content_type_is_refused()
    {
        ArrayBufferWriter<byte> w = new();

        Assert.Throws<ArgumentException>(() => HttpResponseWriter.WriteHeader(w, "X-A"u8, "a\r\nSet-Cookie: x"u8));
        Assert.Throws<ArgumentException>(() => HttpResponseWriter.WriteHeader(w, "X A"u8, "a"u8));
        Assert.Throws<ArgumentException>(() => HttpResponseWriter.WriteHeader(w, ""u8, "a"u8));
        Assert.Throws<ArgumentException>(() => HttpResponseWriter.WriteResponse(w, 200, "text/plain\r\nX: y"u8, "a"u8, true));
        Assert.Throws<ArgumentOutOfRangeException>(() => HttpResponseWriter.WriteStatusLine(w, 1000));
        Assert.Equal(0, w.WrittenCount);
    }

    [Fact]
    public void Body_larger_than_one_buffer_block_is_written_whole()
    {
        byte[] body = new byte[100_000];
        Random.Shared.NextBytes(body);
        ArrayBufferWriter<byte> w = new();

        HttpResponseWriter.WriteResponse(w, 200, "application/octet-stream"u8, body, keepAlive: true);

        Assert.Contains("Content-Length: 100000\r\n", Sequences.Text(w.WrittenSpan), StringComparison.Ordinal);
        Assert.True(w.WrittenSpan[^body.Length..].SequenceEqual(body));
    }

    private static string Write(Action<IBufferWriter<byte>> write)
    {
        ArrayBufferWriter<byte> writer = new();
        write(writer);
        return Sequences.Text(writer.WrittenSpan);
    }

    /// <summary>The Date line as written, checked for shape, so the rest of a response can be compared exactly.</summary>
    private static string DateLine(string response)
    {
        Match match = DatePattern().Match(response);
        Assert.True(match.Success, response);
        return match.Value;
    }

    [GeneratedRegex(@"Date: ((?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT)\r\n")]
    private static partial Regex DatePattern();
}
