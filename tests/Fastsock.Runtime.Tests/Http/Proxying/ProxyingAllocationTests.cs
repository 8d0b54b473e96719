using System.Buffers;
using System.Runtime.Versioning;
using Fastsock.Http;
using Fastsock.Http.Proxying;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Http.Proxying;

/// <summary>Forwarding runs per request: the one-parse head forwarding, both ways, must not allocate.</summary>
/// <remarks>Warm-up and up to three windows, as in <see cref="HttpAllocationTests"/>: tiering can allocate once, a leak allocates every time.</remarks>
[SupportedOSPlatform("linux")]
public sealed class ProxyingAllocationTests
{
    private const int Iterations = 10_000;
    private const int WarmUp = 5_000;

    // Split across segments so the parsers' multi-segment paths are measured too.
    private static readonly ReadOnlySequence<byte> RequestWithHopFields = Sequences.Split(
        Sequences.Bytes("GET /a?b=1 HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nTE: trailers\r\n"
            + "X-Forwarded-For: 203.0.113.9\r\nAccept: */*\r\nContent-Length: 3\r\n\r\nabc"), 20, 70);

    private static readonly ReadOnlySequence<byte> ChunkedResponseWithHopFields = Sequences.Split(
        Sequences.Bytes("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: X-Backend\r\nX-Backend: 1\r\n"
            + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"), 10, 40);

    [Fact]
    public void Forwarding_a_request_head_with_one_parse_allocates_nothing()
    {
        ReadOnlySequence<byte> input = RequestWithHopFields;
        HttpRequestParser parser = new();
        byte[] scratch = new byte[parser.Limits.MaxHeadLength];
        ArrayBufferWriter<byte> output = new(4096);
        HttpRequestHeadForwarder forwarder = new([192, 0, 2, 1]);

        long Measure(int iterations)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < iterations; i++)
            {
                output.ResetWrittenCount();
                if (forwarder.TryParse(parser, input, scratch, out _) != HttpParseStatus.Complete)
                {
                    Assert.Fail($"Unexpected parse result at iteration {i}");
                }

                forwarder.Write(input, scratch, output);
            }

            return GC.GetAllocatedBytesForCurrentThread() - before;
        }

        SteadyStateAllocation.AssertNothingPerIteration(Measure, WarmUp, Iterations);
        Assert.Contains("X-Forwarded-For: 203.0.113.9, 192.0.2.1\r\n", Sequences.Text(output.WrittenSpan), StringComparison.Ordinal);
        Assert.DoesNotContain("X-Hop", Sequences.Text(output.WrittenSpan), StringComparison.Ordinal);
    }

    [Fact]
    public void Forwarding_a_response_head_with_one_parse_allocates_nothing()
    {
        ReadOnlySequence<byte> input = ChunkedResponseWithHopFields;
        HttpResponseParser parser = new();
        byte[] scratch = new byte[parser.Limits.MaxHeadLength];
        ArrayBufferWriter<byte> output = new(4096);
        HttpResponseHeadForwarder forwarder = new();

        long Measure(int iterations)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < iterations; i++)
            {
                output.ResetWrittenCount();
                if (forwarder.TryParse(parser, input, scratch, RequestMethod.Get, out HttpResponseHead head) != HttpParseStatus.Complete
                    || head.Framing != HttpBodyFraming.Chunked || forwarder.Error is not null)
                {
                    Assert.Fail($"Unexpected parse result at iteration {i}");
                }

                forwarder.WriteStatusAndFields(input, scratch, output);
            }

            return GC.GetAllocatedBytesForCurrentThread() - before;
        }

        SteadyStateAllocation.AssertNothingPerIteration(Measure, WarmUp, Iterations);
        Assert.Equal("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n", Sequences.Text(output.WrittenSpan));
    }
}
