using System.Buffers;
using System.Net;
using System.Runtime.Versioning;
using Fastsock.Http.ProxyProtocol;
using Fastsock.Tests.Http;

namespace Fastsock.Tests.ProxyProtocol;

/// <summary>What the writer produces, the parser reads back as the same endpoints.</summary>
[SupportedOSPlatform("linux")]
public sealed class ProxyHeaderRoundTripTests
{
    public static TheoryData<string, string> EndpointPairs => new()
    {
        { "192.168.0.1:56324", "192.168.0.11:443" },
        { "0.0.0.0:0", "255.255.255.255:65535" },
        { "[2001:db8::1]:1234", "[2001:db8:0:0:1:0:0:1]:80" },
        { "[::]:1", "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535" },
        { "[::1]:9", "[1::]:9" },
        { "[fe80::1:0:0:0]:5", "[0:0:1::1]:6" },
        { "[::ffff:10.0.0.1]:7", "[2001:db8::7]:8" },
    };

    [Theory]
    [MemberData(nameof(EndpointPairs))]
    public void Version_1_round_trips_the_endpoints(string source, string destination) =>
        AssertRoundTrip(ProxyHeaderWriter.WriteV1, 1, source, destination);

    [Theory]
    [MemberData(nameof(EndpointPairs))]
    public void Version_2_round_trips_the_endpoints(string source, string destination) =>
        AssertRoundTrip(ProxyHeaderWriter.WriteV2, 2, source, destination);

    [Theory]
    [InlineData("192.168.0.1:56324", "192.168.0.11:443", "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n")]
    [InlineData("[2001:db8:0:0:1:0:0:1]:1", "[2001:0:0:1::]:2", "PROXY TCP6 2001:db8::1:0:0:1 2001:0:0:1:: 1 2\r\n")]
    [InlineData("[0:0:1:0:0:0:0:0]:1", "[::ffff:1.2.3.4]:2", "PROXY TCP6 0:0:1:: ::ffff:102:304 1 2\r\n")]
    [InlineData("[fe80::1%2]:1", "[::]:0", "PROXY TCP6 fe80::1 :: 1 0\r\n")]
    [InlineData("10.0.0.1:1", "[2001:db8::2]:2", "PROXY TCP6 ::ffff:a00:1 2001:db8::2 1 2\r\n")]
    public void Version_1_writes_canonical_text(string source, string destination, string expected)
    {
        ArrayBufferWriter<byte> writer = new();
        ProxyHeaderWriter.WriteV1(writer, IPEndPoint.Parse(source), IPEndPoint.Parse(destination));
        Assert.Equal(expected, Sequences.Text(writer.WrittenSpan));
    }

    [Fact]
    public void Version_2_writes_the_spec_layout_for_tcp_over_ipv4()
    {
        ArrayBufferWriter<byte> writer = new();
        ProxyHeaderWriter.WriteV2(writer, IPEndPoint.Parse("192.0.2.1:1000"), IPEndPoint.Parse("198.51.100.2:443"));
        Assert.Equal(ProxyV2Bytes.Header(0x21, 0x11, ProxyV2Bytes.Inet4Block), writer.WrittenSpan.ToArray());
    }

    [Fact]
    public void Mixed_families_are_sent_as_ipv6_with_the_ipv4_address_mapped()
    {
        ArrayBufferWriter<byte> writer = new();
        ProxyHeaderWriter.WriteV2(writer, IPEndPoint.Parse("10.0.0.1:1"), IPEndPoint.Parse("[::1]:2"));

        Assert.Equal(ProxyParseStatus.Complete, ProxyHeaderParser.TryParse(new ReadOnlySequence<byte>(writer.WrittenMemory), out ProxyHeader header, out _));
        Assert.Equal(ProxyAddressFamily.InterNetworkV6, header.Family);
        Assert.Equal(IPEndPoint.Parse("[::ffff:10.0.0.1]:1"), header.Source);
    }

    [Fact]
    public void Local_and_unknown_headers_parse_back_as_headers_without_addresses()
    {
        ArrayBufferWriter<byte> writer = new();
        ProxyHeaderWriter.WriteV2Local(writer);
        Assert.Equal(ProxyV2Bytes.Header(0x20, 0x00), writer.WrittenSpan.ToArray());
        Assert.Equal(ProxyParseStatus.Complete, ProxyHeaderParser.TryParse(new ReadOnlySequence<byte>(writer.WrittenMemory), out ProxyHeader local, out _));
        Assert.Equal(ProxyCommand.Local, local.Command);

        writer.ResetWrittenCount();
        ProxyHeaderWriter.WriteV1Unknown(writer);
        Assert.Equal(ProxyParseStatus.Complete, ProxyHeaderParser.TryParse(new ReadOnlySequence<byte>(writer.WrittenMemory), out ProxyHeader unknown, out _));
        Assert.Equal((1, ProxyAddressFamily.Unspecified, 15), (unknown.Version, unknown.Family, unknown.Length));
    }

    [Fact]
    public void Missing_endpoint_is_refused_before_anything_is_written()
    {
        ArrayBufferWriter<byte> writer = new();
        IPEndPoint other = IPEndPoint.Parse("[::1]:1");
        Assert.Throws<ArgumentNullException>(() => ProxyHeaderWriter.WriteV1(writer, null!, other));
        Assert.Throws<ArgumentNullException>(() => ProxyHeaderWriter.WriteV2(writer, other, null!));
        Assert.Equal(0, writer.WrittenCount);
    }

    private static void AssertRoundTrip(Action<IBufferWriter<byte>, IPEndPoint, IPEndPoint> write, int version, string source, string destination)
    {
        IPEndPoint expectedSource = IPEndPoint.Parse(source);
        IPEndPoint expectedDestination = IPEndPoint.Parse(destination);
        ArrayBufferWriter<byte> writer = new();
        write(writer, expectedSource, expectedDestination);
        writer.Write("payload"u8);
        ReadOnlySequence<byte> input = new(writer.WrittenMemory);

        Assert.Equal(ProxyParseStatus.Complete, ProxyHeaderParser.TryParse(input, out ProxyHeader header, out SequencePosition consumed));
        Assert.Equal(version, header.Version);
        Assert.Equal(expectedSource, header.Source);
        Assert.Equal(expectedDestination, header.Destination);
        Assert.Equal(ProxyTransport.Stream, header.Transport);
        Assert.Equal("payload", Sequences.Text(input.Slice(consumed).ToArray()));
    }
}
