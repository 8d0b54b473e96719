using System.Buffers;
using System.Runtime.Versioning;
using Fastsock.Http;

namespace Fastsock.Tests.Http;

/// <summary>A pipe may cut a head anywhere; the result must not depend on where.</summary>
[SupportedOSPlatform("linux")]
public sealed class HttpRequestParserSplitTests
{
    public static TheoryData<string> Requests => new()
    {
        "GET /plaintext HTTP/1.1\r\nHost: localhost:8080\r\nAccept: text/plain,text/html;q=0.9\r\nConnection: keep-alive\r\n\r\n",
        "\r\nPOST /api/items?id=7&x=y HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\nExpect: 100-continue\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "GET / HTTP/1.0\r\nConnection: keep-alive\r\nX-Empty:\r\nX-Obs: \u00e9t\u00e9\r\n\r\nGET /next HTTP/1.1\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nBad Name: 1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nX: 1\r\n folded\r\n\r\n",
        "GET / HTTP/2.0\r\nHost: h\r\n\r\n",
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public void Request_split_at_every_byte_boundary_parses_like_the_contiguous_one(string request)
    {
        byte[] bytes = Sequences.Bytes(request);
        ParsedRequest expected = ParsedRequest.Parse(new ReadOnlySequence<byte>(bytes));

        for (int cut = 1; cut < bytes.Length; cut++)
        {
            Assert.Equal(expected, ParsedRequest.Parse(Sequences.Split(bytes, cut)));
        }
    }

    [Theory]
    [MemberData(nameof(Requests))]
    public void Request_split_into_three_pieces_anywhere_parses_like_the_contiguous_one(string request)
    {
        byte[] bytes = Sequences.Bytes(request);
        ParsedRequest expected = ParsedRequest.Parse(new ReadOnlySequence<byte>(bytes));

        for (int first = 1; first < bytes.Length - 1; first += 3)
        {
            for (int second = first + 1; second < bytes.Length; second += 5)
            {
                Assert.Equal(expected, ParsedRequest.Parse(Sequences.Split(bytes, first, second)));
            }
        }
    }

    [Theory]
    [MemberData(nameof(Requests))]
    public void Request_delivered_one_byte_per_segment_parses_like_the_contiguous_one(string request)
    {
        byte[] bytes = Sequences.Bytes(request);

        Assert.Equal(ParsedRequest.Parse(new ReadOnlySequence<byte>(bytes)), ParsedRequest.Parse(Sequences.OneBytePerSegment(bytes)));
    }

    [Fact]
    public void Incomplete_head_split_over_segments_needs_more_data_at_every_length()
    {
        byte[] bytes = Sequences.Bytes("GET /a HTTP/1.1\r\nHost: h\r\nX-Long: 0123456789\r\n\r\n");

        for (int length = 1; length < bytes.Length; length++)
        {
            ReadOnlySequence<byte> prefix = Sequences.OneBytePerSegment(bytes[..length]);
            Assert.Equal(HttpParseStatus.NeedMoreData, ParsedRequest.Parse(prefix).Status);
        }
    }

    [Fact]
    public void Spans_of_a_split_head_point_into_the_scratch_and_stay_valid_after_the_segments_change()
    {
        byte[] bytes = Sequences.Bytes("GET /split/path?q=1 HTTP/1.1\r\nHost: h\r\n\r\n");
        ReadOnlySequence<byte> input = Sequences.Split(bytes, 8, 20);
        HttpRequestParser parser = new();
        byte[] scratch = new byte[parser.Limits.MaxHeadLength];

        Assert.Equal(HttpParseStatus.Complete, parser.TryParse(input, scratch, out HttpRequestHead head));
        foreach (ReadOnlyMemory<byte> segment in input)
        {
            System.Runtime.InteropServices.MemoryMarshal.AsMemory(segment).Span.Clear();
        }

        Assert.Equal("/split/path", Sequences.Text(head.Path));
        Assert.Equal("q=1", Sequences.Text(head.Query));
        Assert.Equal(bytes.Length, input.Slice(input.Start, head.Consumed).Length);
    }
}
