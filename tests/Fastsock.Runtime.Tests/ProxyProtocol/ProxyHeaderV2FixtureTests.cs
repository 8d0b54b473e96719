using System.Buffers;
using System.Net;
using System.Runtime.Versioning;
using Fastsock.Http.ProxyProtocol;

namespace Fastsock.Tests.ProxyProtocol;

/// <summary>
/// Whole v2 headers written out byte by byte from haproxy's proxy-protocol.txt (section 2.2), so neither the parser
/// nor the writer is checked against the other or against a helper that shares their mistakes.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class ProxyHeaderV2FixtureTests
{
    // TCP over IPv6 from [2001:db8::5]:4321 to [2001:db8:0:0:1::1]:443. Length 36: two 16-byte addresses, two ports.
    private static readonly byte[] Tcp6 =
    [
        0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, // \r\n\r\n\0\r\nQUIT\n
        0x21, // version 2, PROXY
        0x21, // AF_INET6, STREAM
        0x00, 0x24, // 36
        0x20, 0x01, 0x0D, 0xB8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, // 2001:db8::5
        0x20, 0x01, 0x0D, 0xB8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, // 2001:db8::1:0:0:1
        0x10, 0xE1, // 4321
        0x01, 0xBB, // 443
    ];

    [Fact]
    public void Tcp_over_ipv6_spec_bytes_parse_to_the_endpoints_and_consume_52_bytes()
    {
        byte[] input = [.. Tcp6, (byte)'G', (byte)'E', (byte)'T'];

        Assert.Equal(ProxyParseStatus.Complete, ProxyHeaderParser.TryParse(new ReadOnlySequence<byte>(input), out ProxyHeader header, out SequencePosition consumed));
        Assert.Equal((2, ProxyCommand.Proxy, ProxyAddressFamily.InterNetworkV6, ProxyTransport.Stream), (header.Version, header.Command, header.Family, header.Transport));
        Assert.Equal(IPEndPoint.Parse("[2001:db8::5]:4321"), header.Source);
        Assert.Equal(IPEndPoint.Parse("[2001:db8::1:0:0:1]:443"), header.Destination);
        Assert.Equal(16 + 36, header.Length);
        Assert.Equal(16 + 36, consumed.GetInteger());
    }

    [Fact]
    public void Tcp_over_ipv6_is_written_as_the_spec_bytes()
    {
        ArrayBufferWriter<byte> writer = new();
        ProxyHeaderWriter.WriteV2(writer, IPEndPoint.Parse("[2001:db8::5]:4321"), IPEndPoint.Parse("[2001:db8::1:0:0:1]:443"));
        Assert.Equal(Tcp6, writer.WrittenSpan.ToArray());
    }

    [Fact]
    public void Unix_stream_spec_bytes_with_real_paths_parse_as_unix_without_ip_endpoints_and_consume_232_bytes()
    {
        // AF_UNIX, STREAM: two 108-byte sun_path fields, NUL padded. Length 216.
        byte[] block = new byte[216];
        "/run/client.sock"u8.CopyTo(block);
        "/run/haproxy.sock"u8.CopyTo(block.AsSpan(108));
        byte[] input =
        [
            0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
            0x21, // version 2, PROXY
            0x31, // AF_UNIX, STREAM
            0x00, 0xD8, // 216
            .. block,
            (byte)'P', (byte)'I', (byte)'N', (byte)'G',
        ];

        Assert.Equal(ProxyParseStatus.Complete, ProxyHeaderParser.TryParse(new ReadOnlySequence<byte>(input), out ProxyHeader header, out SequencePosition consumed));
        Assert.Equal((2, ProxyCommand.Proxy, ProxyAddressFamily.Unix, ProxyTransport.Stream), (header.Version, header.Command, header.Family, header.Transport));
        Assert.False(header.HasAddresses);
        Assert.Null(header.Source);
        Assert.Equal(232, header.Length);
        Assert.Equal(232, consumed.GetInteger());
    }

    [Fact]
    public void Unix_stream_spec_bytes_announcing_one_byte_less_than_two_paths_are_rejected()
    {
        byte[] input = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x21, 0x31, 0x00, 0xD7, .. new byte[215]];
        Assert.Equal(ProxyParseStatus.Error, ProxyHeaderParser.TryParse(new ReadOnlySequence<byte>(input), out ProxyHeader header, out _));
        Assert.NotNull(header.Error);
    }
}
