using System.Buffers;
using System.Net;
using System.Runtime.Versioning;
using Fastsock.Http.ProxyProtocol;
using Fastsock.Tests.Http;

namespace Fastsock.Tests.ProxyProtocol;

[SupportedOSPlatform("linux")]
public sealed class ProxyHeaderV1Tests
{
    [Fact]
    public void Spec_example_before_an_http_request_is_parsed_and_only_the_line_is_consumed()
    {
        const string line = "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n";
        ReadOnlySequence<byte> input = Sequences.Contiguous(line + "GET / HTTP/1.1\r\nHost: 192.168.0.11\r\n\r\n");

        Assert.Equal(ProxyParseStatus.Complete, ProxyHeaderParser.TryParse(input, out ProxyHeader header, out SequencePosition consumed));
        Assert.Equal(1, header.Version);
        Assert.Equal(ProxyCommand.Proxy, header.Command);
        Assert.Equal(ProxyAddressFamily.InterNetwork, header.Family);
        Assert.Equal(ProxyTransport.Stream, header.Transport);
        Assert.Equal(IPEndPoint.Parse("192.168.0.1:56324"), header.Source);
        Assert.Equal(IPEndPoint.Parse("192.168.0.11:443"), header.Destination);
        Assert.Equal([192, 168, 0, 1], header.SourceAddress.ToArray());
        Assert.Equal(line.Length, header.Length);
        Assert.Equal("GET /", Sequences.Text(input.Slice(consumed, 5).ToArray()));
    }

    [Theory]
    [InlineData("PROXY TCP6 2001:db8::1 ::ffff:192.0.2.7 65535 0\r\n", "[2001:db8::1]:65535", "[::ffff:192.0.2.7]:0")]
    [InlineData("PROXY TCP6 FFFF:ffff:FFFF:ffff:FFFF:ffff:FFFF:ffff :: 1 2\r\n", "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:1", "[::]:2")]
    [InlineData("PROXY TCP6 0:0:0:0:0:0:0:1 fe80::1:2:3:4 80 8080\r\n", "[::1]:80", "[fe80::1:2:3:4]:8080")]
    [InlineData("PROXY TCP6 1:: 1:2:3:4:5:6:7:: 9 10\r\n", "[1::]:9", "[1:2:3:4:5:6:7:0]:10")]
    public void Tcp6_line_gives_the_ipv6_endpoints(string line, string source, string destination)
    {
        Assert.Equal(ProxyParseStatus.Complete, ProxyHeaderParser.TryParse(Sequences.Contiguous(line), out ProxyHeader header, out _));
        Assert.Equal(ProxyAddressFamily.InterNetworkV6, header.Family);
        Assert.Equal(IPEndPoint.Parse(source), header.Source);
        Assert.Equal(IPEndPoint.Parse(destination), header.Destination);
        Assert.Equal(16, header.DestinationAddress.Length);
    }

    [Theory]
    [InlineData("PROXY UNKNOWN\r\n")]
    [InlineData("PROXY UNKNOWN 1.2.3.4 5.6.7.8 1 2\r\n")]
    [InlineData("PROXY UNKNOWN anything at all, even  double spaces\r\n")]
    public void Unknown_line_is_accepted_without_addresses_and_its_rest_is_ignored(string line)
    {
        Assert.Equal(ProxyParseStatus.Complete, ProxyHeaderParser.TryParse(Sequences.Contiguous(line + "data"), out ProxyHeader header, out _));
        Assert.Equal(ProxyAddressFamily.Unspecified, header.Family);
        Assert.False(header.HasAddresses);
        Assert.Null(header.Source);
        Assert.True(header.SourceAddress.IsEmpty);
        Assert.Equal(line.Length, header.Length);
    }

    [Fact]
    public void Worst_case_line_of_107_bytes_is_accepted_and_108_bytes_is_too_long()
    {
        string full = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
        string longest = $"PROXY UNKNOWN {full} {full} 65535 65535\r\n";
        Assert.Equal(ProxyHeaderParser.MaxV1Length, longest.Length);
        Assert.Equal(ProxyParseStatus.Complete, ProxyHeaderParser.TryParse(Sequences.Contiguous(longest), out _, out _));

        string tooLong = longest.Replace("65535\r\n", "65535 \r\n", StringComparison.Ordinal);
        Assert.Equal(ProxyParseStatus.Error, ProxyHeaderParser.TryParse(Sequences.Contiguous(tooLong), out ProxyHeader header, out _));
        Assert.Contains("107", header.Error!.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Line_without_crlf_in_107_bytes_is_rejected_without_waiting_for_more()
    {
        string line = "PROXY UNKNOWN " + new string('x', 93);
        Assert.Equal(ProxyParseStatus.Error, ProxyHeaderParser.TryParse(Sequences.Contiguous(line), out _, out _));
        Assert.Equal(ProxyParseStatus.NeedMoreData, ProxyHeaderParser.TryParse(Sequences.Contiguous(line[..^1]), out _, out _));
    }

    [Theory]
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", "CR or LF")]
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r", null)]
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX\r\n", "CR or LF")]
    [InlineData("PROXY UNKNOWN \r \r\n", "CR or LF")]
    [InlineData("PROXY TCP4 1.2.3.4\n5.6.7.8 1 2\r\n", "CR or LF")]
    [InlineData("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", "TCP4, TCP6 or UNKNOWN")]
    [InlineData("PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n", "TCP4, TCP6 or UNKNOWN")]
    [InlineData("PROXY UNKNOWNX\r\n", "TCP4, TCP6 or UNKNOWN")]
    [InlineData("PROXY \r\n", "TCP4, TCP6 or UNKNOWN")]
    [InlineData("PROXY TCP4\r\n", "four fields")]
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", "four fields")]
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", "four fields")]
    [InlineData("PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", "four fields")]
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", "four fields")]
    [InlineData("PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n", "TCP4, TCP6 or UNKNOWN")]
    [InlineData("PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n", "address")]
    [InlineData("PROXY TCP4 1.2.3.04 5.6.7.8 1 2\r\n", "address")]
    [InlineData("PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n", "address")]
    [InlineData("PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n", "address")]
    [InlineData("PROXY TCP4 1..3.4 5.6.7.8 1 2\r\n", "address")]
    [InlineData("PROXY TCP4 ::1 5.6.7.8 1 2\r\n", "address")]
    [InlineData("PROXY TCP6 1.2.3.4 ::1 1 2\r\n", "address")]
    [InlineData("PROXY TCP6 ::1::2 ::1 1 2\r\n", "address")]
    [InlineData("PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n", "address")]
    [InlineData("PROXY TCP6 1:2:3:4:5:6:7 ::1 1 2\r\n", "address")]
    [InlineData("PROXY TCP6 12345:: ::1 1 2\r\n", "address")]
    [InlineData("PROXY TCP6 [::1] ::1 1 2\r\n", "address")]
    [InlineData("PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n", "address")]
    [InlineData("PROXY TCP6 ::1: ::1 1 2\r\n", "address")]
    [InlineData("PROXY TCP6 :1 ::1 1 2\r\n", "address")]
    [InlineData("PROXY TCP6 ::g ::1 1 2\r\n", "address")]
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", "port")]
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 080 2\r\n", "port")]
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 1 -2\r\n", "port")]
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 1 +2\r\n", "port")]
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 1 99999999\r\n", "port")]
    [InlineData("PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n", "Not a PROXY")]
    [InlineData("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n", "Not a PROXY")]
    [InlineData("GET / HTTP/1.1\r\n", "Not a PROXY")]
    [InlineData("PUT / HTTP/1.1\r\n", "Not a PROXY")]
    public void Malformed_line_is_rejected_with_its_reason(string line, string? reason)
    {
        ProxyParseStatus status = ProxyHeaderParser.TryParse(Sequences.Contiguous(line), out ProxyHeader header, out SequencePosition consumed);

        if (reason is null)
        {
            Assert.Equal(ProxyParseStatus.NeedMoreData, status); // a CR that may still be followed by LF
            return;
        }

        Assert.Equal(ProxyParseStatus.Error, status);
        Assert.Contains(reason, header.Error!.Reason, StringComparison.Ordinal);
        Assert.Equal(0, consumed.GetInteger());
    }

    [Theory]
    [InlineData("P")]
    [InlineData("PROX")]
    [InlineData("PROXY ")]
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 1 2")]
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r")]
    [InlineData("")]
    public void Prefix_of_a_valid_line_needs_more_data(string prefix) =>
        Assert.Equal(ProxyParseStatus.NeedMoreData, ProxyHeaderParser.TryParse(Sequences.Contiguous(prefix), out _, out _));
}
