using System.Buffers;
using System.Runtime.Versioning;
using Fastsock.Http.ProxyProtocol;
using Fastsock.Tests.Http;
using static Fastsock.Tests.ProxyProtocol.ProxyV2Bytes;

namespace Fastsock.Tests.ProxyProtocol;

/// <summary>TCP may deliver the header a byte at a time; the result must not depend on where it was cut.</summary>
[SupportedOSPlatform("linux")]
public sealed class ProxyHeaderSplitTests
{
    public static TheoryData<byte[]> Headers => new()
    {
        Sequences.Bytes("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\n"),
        Sequences.Bytes("PROXY TCP6 2001:db8::1 ::ffff:192.0.2.7 65535 0\r\nrest"),
        Sequences.Bytes("PROXY UNKNOWN whatever\r\n"),
        Sequences.Bytes("PROXY TCP4 1.2.3.04 5.6.7.8 1 2\r\n"),
        Sequences.Bytes("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"),
        With(Header(0x21, 0x11, [.. Inet4Block, .. Tlv(0x02, "example.com"u8.ToArray()), .. Tlv(0x04, [])]), 0x47, 0x45),
        With(Header(0x21, 0x21, new byte[36]), 0x01),
        With(Header(0x20, 0x00, [1, 2, 3]), 0x01),
        Header(0x21, 0x11, [.. Inet4Block, 0x01, 0x00]),
        Header(0x23, 0x11, Inet4Block),
    };

    [Theory]
    [MemberData(nameof(Headers))]
    public void Header_split_at_every_byte_boundary_parses_like_the_contiguous_one(byte[] bytes)
    {
        string expected = Describe(new ReadOnlySequence<byte>(bytes));

        for (int cut = 1; cut < bytes.Length; cut++)
        {
            Assert.Equal(expected, Describe(Sequences.Split(bytes, cut)));
        }

        Assert.Equal(expected, Describe(Sequences.OneBytePerSegment(bytes)));
    }

    [Theory]
    [MemberData(nameof(Headers))]
    public void Header_split_into_three_pieces_anywhere_parses_like_the_contiguous_one(byte[] bytes)
    {
        string expected = Describe(new ReadOnlySequence<byte>(bytes));

        for (int first = 1; first < bytes.Length - 1; first += 2)
        {
            for (int second = first + 1; second < bytes.Length; second += 3)
            {
                Assert.Equal(expected, Describe(Sequences.Split(bytes, first, second)));
            }
        }
    }

    [Theory]
    [MemberData(nameof(Headers))]
    public void Every_prefix_of_a_valid_header_delivered_byte_by_byte_needs_more_data(byte[] bytes)
    {
        ProxyParseStatus whole = ProxyHeaderParser.TryParse(new ReadOnlySequence<byte>(bytes), out ProxyHeader header, out _);
        if (whole != ProxyParseStatus.Complete)
        {
            return; // the invalid ones are covered by the comparisons above
        }

        for (int length = 1; length < header.Length; length++)
        {
            Assert.Equal(ProxyParseStatus.NeedMoreData, ProxyHeaderParser.TryParse(Sequences.OneBytePerSegment(bytes[..length]), out _, out _));
        }
    }

    private static byte[] With(byte[] header, params byte[] after) => [.. header, .. after];

    /// <summary>Everything a parse produced, as text, so results over differently cut inputs compare as values.</summary>
    private static string Describe(ReadOnlySequence<byte> input)
    {
        ProxyParseStatus status = ProxyHeaderParser.TryParse(input, out ProxyHeader header, out SequencePosition consumed);
        long consumedLength = input.Slice(input.Start, consumed).Length;
        return $"{status} {header} v{header.Version} {header.Command} {header.Family} {header.Transport} {header.Length} {consumedLength} {header.Error?.Reason}";
    }
}
