using System.Buffers;
using System.Net;
using System.Runtime.Versioning;
using Fastsock.Http.ProxyProtocol;
using Fastsock.Tests.Http;
using Fastsock.Tests.Support;
using static Fastsock.Tests.ProxyProtocol.ProxyV2Bytes;

namespace Fastsock.Tests.ProxyProtocol;

/// <summary>A PROXY header is parsed and written once per connection: neither may allocate.</summary>
/// <remarks>Warm-up and up to three windows, as in <see cref="HttpAllocationTests"/>: tiering can allocate once, a leak allocates every time.</remarks>
[SupportedOSPlatform("linux")]
public sealed class ProxyProtocolAllocationTests
{
    private const int Iterations = 10_000;
    private const int WarmUp = 5_000;

    [Fact]
    public void Parsing_v1_and_v2_headers_split_over_segments_allocates_nothing()
    {
        ReadOnlySequence<byte> v1 = Sequences.Split(Sequences.Bytes("PROXY TCP6 2001:db8::1 ::ffff:192.0.2.7 65535 0\r\nGET"), 9, 30);
        ReadOnlySequence<byte> v1Ipv4 = new(Sequences.Bytes("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"));
        ReadOnlySequence<byte> v2 = Sequences.Split(Header(0x21, 0x11, [.. Inet4Block, .. Tlv(0x02, new byte[40]), .. Tlv(0x04, [])]), 5, 14, 30, 50);
        ReadOnlySequence<byte> local = new(Header(0x20, 0x00));
        int ports = 0;

        long Measure(int iterations)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < iterations; i++)
            {
                if (ProxyHeaderParser.TryParse(v1, out ProxyHeader a, out _) != ProxyParseStatus.Complete
                    || ProxyHeaderParser.TryParse(v1Ipv4, out ProxyHeader b, out _) != ProxyParseStatus.Complete
                    || ProxyHeaderParser.TryParse(v2, out ProxyHeader c, out _) != ProxyParseStatus.Complete
                    || ProxyHeaderParser.TryParse(local, out ProxyHeader d, out _) != ProxyParseStatus.Complete)
                {
                    Assert.Fail($"Unexpected parse result at iteration {i}");
                    return 0;
                }

                ports += a.SourcePort + b.DestinationPort + c.SourcePort + d.SourcePort + a.SourceAddress.Length;
            }

            return GC.GetAllocatedBytesForCurrentThread() - before;
        }

        SteadyStateAllocation.AssertNothingPerIteration(Measure, WarmUp, Iterations);
        Assert.NotEqual(0, ports);
    }

    [Fact]
    public void Writing_headers_allocates_nothing()
    {
        ArrayBufferWriter<byte> writer = new(4096);
        IPEndPoint v4 = IPEndPoint.Parse("192.168.0.1:56324");
        IPEndPoint v6 = IPEndPoint.Parse("[2001:db8::1]:443");

        long Measure(int iterations)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < iterations; i++)
            {
                writer.ResetWrittenCount();
                ProxyHeaderWriter.WriteV1(writer, v4, v4);
                ProxyHeaderWriter.WriteV1(writer, v6, v4);
                ProxyHeaderWriter.WriteV2(writer, v4, v4);
                ProxyHeaderWriter.WriteV2(writer, v6, v6);
                ProxyHeaderWriter.WriteV2Local(writer);
                ProxyHeaderWriter.WriteV1Unknown(writer);
            }

            return GC.GetAllocatedBytesForCurrentThread() - before;
        }

        SteadyStateAllocation.AssertNothingPerIteration(Measure, WarmUp, Iterations);
        Assert.True(writer.WrittenCount > 200);
    }
}
