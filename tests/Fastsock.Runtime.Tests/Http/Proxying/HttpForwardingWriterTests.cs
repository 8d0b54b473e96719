using System.Buffers;
using System.Runtime.Versioning;
using Fastsock.Http.Proxying;

namespace Fastsock.Tests.Http.Proxying;

[SupportedOSPlatform("linux")]
public sealed class HttpForwardingWriterTests
{
    [Fact]
    public void Request_line_is_always_http_1_1()
    {
        ArrayBufferWriter<byte> writer = new();
        HttpForwardingWriter.WriteRequestLine(writer, "PROPFIND"u8, "/dav/x?depth=1"u8);
        HttpForwardingWriter.WriteChunked(writer);
        HttpForwardingWriter.WriteConnectionClose(writer);
        HttpForwardingWriter.WriteContentLength(writer, 0);
        HttpForwardingWriter.WriteEndOfHeaders(writer);

        Assert.Equal(
            "PROPFIND /dav/x?depth=1 HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
            Sequences.Text(writer.WrittenSpan));
    }

    [Theory]
    [InlineData("GET", "")]
    [InlineData("GET", "/a b")]
    [InlineData("GET", "/a\r\nX: 1")]
    [InlineData("GE T", "/")]
    [InlineData("", "/")]
    public void Request_line_that_could_split_the_message_is_refused(string method, string target)
    {
        ArrayBufferWriter<byte> writer = new();

        Assert.Throws<ArgumentException>(() => HttpForwardingWriter.WriteRequestLine(writer, Sequences.Bytes(method), Sequences.Bytes(target)));
        Assert.Equal(0, writer.WrittenCount);
    }
}
