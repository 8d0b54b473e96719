using System.Buffers;
using System.Runtime.Versioning;
using Fastsock.Http;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Http;

/// <summary>The codec sits on the per-request path, which must not allocate in steady state.</summary>
/// <remarks>
/// The runtime itself allocates a few bytes, once, when it moves a hot loop to optimised code (on-stack replacement,
/// seen at ~2,500 iterations). So each test warms up past that and measures up to three windows of 10,000 requests:
/// a per-request allocation shows up in every window, a one-off runtime event in at most one.
/// </remarks>
[SupportedOSPlatform("linux")]
public sealed class HttpAllocationTests
{
    private const int Iterations = 10_000;
    private const int WarmUp = 5_000;

    private static readonly byte[] Request = Sequences.Bytes(
        "GET /plaintext?x=1 HTTP/1.1\r\nHost: localhost:8080\r\nAccept: text/plain,text/html;q=0.9\r\n"
        + "User-Agent: wrk\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n");

    [Fact]
    public void Parsing_the_same_request_repeatedly_allocates_nothing() =>
        AssertParsingAllocatesNothing(new ReadOnlySequence<byte>(Request));

    [Fact]
    public void Parsing_a_request_split_over_segments_allocates_nothing() =>
        AssertParsingAllocatesNothing(Sequences.Split(Request, 10, 50, 90));

    [Fact]
    public void Decoding_a_chunked_body_allocates_nothing()
    {
        ReadOnlySequence<byte> input = Sequences.Split(Sequences.Bytes("5\r\nhello\r\n6;e=1\r\n world\r\n0\r\nT: v\r\n\r\n"), 7, 20);
        ChunkedBodyDecoder decoder = new();
        long decoded = 0;

        long Measure(int iterations)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < iterations; i++)
            {
                decoder.Reset();
                ReadOnlySequence<byte> rest = input;
                ChunkedBodyStatus status;
                while ((status = decoder.Decode(rest, out ReadOnlySequence<byte> data, out SequencePosition consumed)) == ChunkedBodyStatus.Data)
                {
                    decoded += data.Length;
                    rest = rest.Slice(consumed);
                }

                if (status != ChunkedBodyStatus.Complete)
                {
                    Assert.Fail($"Unexpected decode result at iteration {i}: {status}");
                }
            }

            return GC.GetAllocatedBytesForCurrentThread() - before;
        }

        SteadyStateAllocation.AssertNothingPerIteration(Measure, WarmUp, Iterations);
        Assert.Equal(0, decoded % 11);
    }

    [Fact]
    public void Writing_responses_allocates_nothing()
    {
        ArrayBufferWriter<byte> writer = new(4096);

        long Measure(int iterations)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < iterations; i++)
            {
                writer.ResetWrittenCount();
                HttpResponseWriter.WriteResponse(writer, 200, "text/plain"u8, "Hello, World!"u8, keepAlive: true);
                HttpResponseWriter.WriteError(writer, 400);
                HttpResponseWriter.WriteStatusLine(writer, 204);
                HttpResponseWriter.WriteDate(writer);
                HttpResponseWriter.WriteContentLength(writer, i);
                HttpResponseWriter.WriteHeader(writer, "X-A"u8, "b"u8);
                HttpResponseWriter.WriteEndOfHeaders(writer);
            }

            return GC.GetAllocatedBytesForCurrentThread() - before;
        }

        SteadyStateAllocation.AssertNothingPerIteration(Measure, WarmUp, Iterations);
        Assert.True(writer.WrittenCount > 200);
    }

    private static void AssertParsingAllocatesNothing(ReadOnlySequence<byte> input)
    {
        HttpRequestParser parser = new();
        byte[] scratch = new byte[parser.Limits.MaxHeadLength];
        CountingSink sink = default;

        long Measure(int iterations)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < iterations; i++)
            {
                HttpParseStatus status = parser.TryParse(input, scratch, ref sink, out HttpRequestHead head);
                if (status != HttpParseStatus.Complete || head.Path.Length != 10 || !head.KeepAlive)
                {
                    Assert.Fail($"Unexpected parse result at iteration {i}: {status}");
                }
            }

            return GC.GetAllocatedBytesForCurrentThread() - before;
        }

        SteadyStateAllocation.AssertNothingPerIteration(Measure, WarmUp, Iterations);
        Assert.Equal(0, sink.Count % 5);
        Assert.True(sink.Count >= (WarmUp + Iterations) * 5);
    }

    private struct CountingSink : IHttpHeaderSink
    {
        public int Count;

        public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value) => Count++;
    }
}
