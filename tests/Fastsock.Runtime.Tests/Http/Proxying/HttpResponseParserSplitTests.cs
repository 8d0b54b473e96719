using System.Buffers;
using System.Runtime.Versioning;
using Fastsock.Http;

namespace Fastsock.Tests.Http.Proxying;

/// <summary>A backend's response may arrive cut anywhere; the result must not depend on where.</summary>
[SupportedOSPlatform("linux")]
public sealed class HttpResponseParserSplitTests
{
    public static TheoryData<string> Responses => new()
    {
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nConnection: keep-alive\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "HTTP/1.0 404 Not Found\r\nX-Empty:\r\nX-Obs: \u00e9t\u00e9\r\n\r\nbody until close",
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
        "HTTP/1.1 200\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "HTTP/1.1 200 OK\r\nBad Name: 1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX: 1\r\n folded\r\n\r\n",
        "HTTP/2.0 200 OK\r\n\r\n",
    };

    [Theory]
    [MemberData(nameof(Responses))]
    public void Response_split_at_every_byte_boundary_parses_like_the_contiguous_one(string response)
    {
        byte[] bytes = Sequences.Bytes(response);
        ParsedResponse expected = ParsedResponse.Parse(new ReadOnlySequence<byte>(bytes));

        for (int cut = 1; cut < bytes.Length; cut++)
        {
            Assert.Equal(expected, ParsedResponse.Parse(Sequences.Split(bytes, cut)));
        }

        Assert.Equal(expected, ParsedResponse.Parse(Sequences.OneBytePerSegment(bytes)));
    }

    [Theory]
    [MemberData(nameof(Responses))]
    public void Response_split_into_three_pieces_anywhere_parses_like_the_contiguous_one(string response)
    {
        byte[] bytes = Sequences.Bytes(response);
        ParsedResponse expected = ParsedResponse.Parse(new ReadOnlySequence<byte>(bytes));

        for (int first = 1; first < bytes.Length - 1; first += 3)
        {
            for (int second = first + 1; second < bytes.Length; second += 5)
            {
                Assert.Equal(expected, ParsedResponse.Parse(Sequences.Split(bytes, first, second)));
            }
        }
    }

    [Fact]
    public void Incomplete_head_split_over_segments_needs_more_data_at_every_length()
    {
        byte[] bytes = Sequences.Bytes("HTTP/1.1 200 OK\r\nContent-Length: 10\r\nX-Long: 0123456789\r\n\r\n");

        for (int length = 1; length < bytes.Length; length++)
        {
            Assert.Equal(HttpParseStatus.NeedMoreData, ParsedResponse.Parse(Sequences.OneBytePerSegment(bytes[..length])).Status);
        }
    }
}
