using System.Buffers;
using System.Net;
using System.Runtime.Versioning;
using Fastsock.Http.ProxyProtocol;
using static Fastsock.Tests.ProxyProtocol.ProxyV2Bytes;

namespace Fastsock.Tests.ProxyProtocol;

[SupportedOSPlatform("linux")]
public sealed class ProxyHeaderV2Tests
{
    [Fact]
    public void Tcp_over_ipv4_header_gives_the_endpoints_and_consumes_exactly_the_header()
    {
        byte[] bytes = [.. Header(0x21, 0x11, Inet4Block), .. "GET"u8];

        Assert.Equal(ProxyParseStatus.Complete, Parse(bytes, out ProxyHeader header, out long consumed));
        Assert.Equal(2, header.Version);
        Assert.Equal(ProxyCommand.Proxy, header.Command);
        Assert.Equal(ProxyAddressFamily.InterNetwork, header.Family);
        Assert.Equal(ProxyTransport.Stream, header.Transport);
        Assert.Equal(IPEndPoint.Parse("192.0.2.1:1000"), header.Source);
        Assert.Equal(IPEndPoint.Parse("198.51.100.2:443"), header.Destination);
        Assert.Equal(28, header.Length);
        Assert.Equal(28, consumed);
    }

    [Fact]
    public void Udp_over_ipv6_header_gives_the_endpoints_and_the_datagram_transport()
    {
        byte[] source = IPAddress.Parse("2001:db8::1").GetAddressBytes();
        byte[] destination = IPAddress.Parse("2001:db8::2").GetAddressBytes();
        byte[] bytes = Header(0x21, 0x22, [.. source, .. destination, 0xFF, 0xFF, 0x00, 0x35]);

        Assert.Equal(ProxyParseStatus.Complete, Parse(bytes, out ProxyHeader header, out long consumed));
        Assert.Equal(ProxyTransport.Datagram, header.Transport);
        Assert.Equal(IPEndPoint.Parse("[2001:db8::1]:65535"), header.Source);
        Assert.Equal(IPEndPoint.Parse("[2001:db8::2]:53"), header.Destination);
        Assert.Equal(52, consumed);
    }

    [Fact]
    public void Tlvs_after_the_addresses_are_skipped_and_counted_in_the_header()
    {
        byte[] tlvs = [.. Tlv(0x02, "example.com"u8.ToArray()), .. Tlv(0x04, []), .. Tlv(0x20, new byte[300])];
        byte[] bytes = [.. Header(0x21, 0x11, [.. Inet4Block, .. tlvs]), 0x42];

        Assert.Equal(ProxyParseStatus.Complete, Parse(bytes, out ProxyHeader header, out long consumed));
        Assert.Equal(IPEndPoint.Parse("192.0.2.1:1000"), header.Source);
        Assert.Equal(bytes.Length - 1, consumed);
    }

    [Theory]
    [InlineData(new byte[] { 0x02 })]
    [InlineData(new byte[] { 0x02, 0x00 })]
    [InlineData(new byte[] { 0x02, 0x00, 0x02, 0x41 })]
    [InlineData(new byte[] { 0x04, 0x00, 0x00, 0x02, 0x00, 0x05, 0x41 })]
    public void Tlv_running_past_the_announced_length_is_rejected(byte[] tlvs)
    {
        Assert.Equal(ProxyParseStatus.Error, Parse([.. Header(0x21, 0x11, [.. Inet4Block, .. tlvs]), 0x41, 0x41, 0x41], out ProxyHeader header, out _));
        Assert.Contains("TLV", header.Error!.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Local_command_is_accepted_without_addresses()
    {
        Assert.Equal(ProxyParseStatus.Complete, Parse(Header(0x20, 0x00), out ProxyHeader header, out long consumed));
        Assert.Equal(ProxyCommand.Local, header.Command);
        Assert.False(header.HasAddresses);
        Assert.Null(header.Source);
        Assert.Equal(16, consumed);
    }

    [Fact]
    public void Local_command_skips_whatever_block_it_announces_and_ignores_the_family()
    {
        Assert.Equal(ProxyParseStatus.Complete, Parse([.. Header(0x20, 0xFF, [1, 2, 3]), 9], out ProxyHeader header, out long consumed));
        Assert.Equal(ProxyCommand.Local, header.Command);
        Assert.Equal(ProxyAddressFamily.Unspecified, header.Family);
        Assert.Equal(19, consumed);
    }

    [Theory]
    [InlineData(0x00)]
    [InlineData(0x01)]
    [InlineData(0x10)]
    public void Proxy_command_with_an_unspecified_family_or_transport_is_accepted_without_addresses(byte familyTransport)
    {
        Assert.Equal(ProxyParseStatus.Complete, Parse(Header(0x21, familyTransport, [1, 2, 3, 4]), out ProxyHeader header, out long consumed));
        Assert.Equal(ProxyCommand.Proxy, header.Command);
        Assert.False(header.HasAddresses);
        Assert.Equal(20, consumed);
    }

    [Fact]
    public void Unix_stream_header_is_accepted_with_its_family_but_no_ip_endpoints()
    {
        Assert.Equal(ProxyParseStatus.Complete, Parse(Header(0x21, 0x31, new byte[216]), out ProxyHeader header, out long consumed));
        Assert.Equal(ProxyAddressFamily.Unix, header.Family);
        Assert.False(header.HasAddresses);
        Assert.Equal(232, consumed);
    }

    [Theory]
    [InlineData(0x11, 11)]
    [InlineData(0x21, 35)]
    [InlineData(0x31, 215)]
    [InlineData(0x12, 0)]
    public void Length_shorter_than_the_addresses_of_the_family_is_rejected(byte familyTransport, int length)
    {
        Assert.Equal(ProxyParseStatus.Error, Parse(Header(0x21, familyTransport, new byte[length]), out ProxyHeader header, out _));
        Assert.Contains("shorter than the addresses", header.Error!.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0x11, 0x11, "version other than 2")]
    [InlineData(0x31, 0x11, "version other than 2")]
    [InlineData(0x01, 0x11, "version other than 2")]
    [InlineData(0x22, 0x11, "neither LOCAL nor PROXY")]
    [InlineData(0x2F, 0x11, "neither LOCAL nor PROXY")]
    [InlineData(0x21, 0x41, "unassigned")]
    [InlineData(0x21, 0x13, "unassigned")]
    [InlineData(0x21, 0xF0, "unassigned")]
    public void Unknown_version_command_or_family_is_rejected_as_soon_as_its_byte_arrives(byte versionCommand, byte familyTransport, string reason)
    {
        byte[] bytes = Header(versionCommand, familyTransport, Inet4Block);
        int decisive = (versionCommand >> 4 != 2 || (versionCommand & 0xF) > 1) ? 13 : 14;

        Assert.Equal(ProxyParseStatus.Error, Parse(bytes[..decisive], out ProxyHeader header, out _));
        Assert.Contains(reason, header.Error!.Reason, StringComparison.Ordinal);
        Assert.Equal(ProxyParseStatus.Error, Parse(bytes, out _, out long _));
    }

    [Fact]
    public void Wrong_signature_is_rejected_at_the_first_wrong_byte()
    {
        byte[] bytes = Header(0x21, 0x11, Inet4Block);
        for (int i = 1; i < Signature.Length; i++)
        {
            byte[] broken = (byte[])bytes.Clone();
            broken[i] ^= 0x01;
            Assert.Equal(ProxyParseStatus.NeedMoreData, Parse(broken[..i], out _, out long _));
            Assert.Equal(ProxyParseStatus.Error, Parse(broken[..(i + 1)], out ProxyHeader header, out _));
            Assert.Equal("Not a PROXY protocol header", header.Error!.Reason);
        }
    }

    [Fact]
    public void Header_announcing_more_than_arrived_needs_more_data_at_every_length()
    {
        byte[] bytes = Header(0x21, 0x11, [.. Inet4Block, .. Tlv(0xE0, new byte[20])]);
        for (int length = 1; length < bytes.Length; length++)
        {
            Assert.Equal(ProxyParseStatus.NeedMoreData, ParseAt(bytes[..length], out _, out SequencePosition consumed));
            Assert.Equal(0, consumed.GetInteger());
        }
    }

    [Fact]
    public void Largest_announced_length_is_accepted()
    {
        byte[] bytes = Header(0x21, 0x11, [.. Inet4Block, .. Tlv(0xE1, new byte[ushort.MaxValue - 15])]);
        Assert.Equal(16 + ushort.MaxValue, bytes.Length);
        Assert.Equal(ProxyParseStatus.Complete, Parse(bytes, out _, out long consumed));
        Assert.Equal(bytes.Length, consumed);
    }

    private static ProxyParseStatus Parse(byte[] bytes, out ProxyHeader header, out long consumed)
    {
        ReadOnlySequence<byte> input = new(bytes);
        ProxyParseStatus status = ParseAt(bytes, out header, out SequencePosition position);
        consumed = input.Slice(input.Start, position).Length;
        return status;
    }

    private static ProxyParseStatus ParseAt(byte[] bytes, out ProxyHeader header, out SequencePosition consumed) =>
        ProxyHeaderParser.TryParse(new ReadOnlySequence<byte>(bytes), out header, out consumed);
}
