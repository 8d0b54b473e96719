using System.Buffers;
using System.Runtime.Versioning;
using Fastsock.Http;

namespace Fastsock.Tests.Http;

[SupportedOSPlatform("linux")]
public sealed class ChunkedBodyDecoderTests
{
    private const string Body = "5\r\nhello\r\nC;name=value;flag\r\n, wide world\r\n0\r\nX-Checksum: abc\r\nX-Other:\t1 2\r\n\r\n";
    private const string Next = "GET /next HTTP/1.1\r\n";

    [Fact]
    public void Chunks_are_joined_extensions_and_trailers_skipped_and_the_next_request_left_unconsumed()
    {
        Decoded d = DecodeAll(Sequences.Contiguous(Body + Next));

        Assert.Equal(ChunkedBodyStatus.Complete, d.Status);
        Assert.Equal("hello, wide world", d.Body);
        Assert.Equal(Body.Length, d.Consumed);
    }

    [Theory]
    [InlineData("0\r\n\r\n", "")]
    [InlineData("a\r\n0123456789\r\n0\r\n\r\n", "0123456789")]
    [InlineData("A\r\n0123456789\r\n0\r\n\r\n", "0123456789")]
    [InlineData("0003\r\nabc\r\n000\r\n\r\n", "abc")]
    [InlineData("3 ;ext\r\nabc\r\n0\t; last=\"q;uoted\"\r\n\r\n", "abc")]
    [InlineData("1\r\n\u00ff\r\n0\r\n\r\n", "\u00ff")]
    public void Valid_chunked_bodies_decode_to_their_data(string body, string expected)
    {
        Decoded d = DecodeAll(Sequences.Contiguous(body));

        Assert.Equal(ChunkedBodyStatus.Complete, d.Status);
        Assert.Equal(expected, d.Body);
        Assert.Equal(body.Length, d.Consumed);
    }

    [Fact]
    public void Chunked_body_split_at_every_byte_boundary_decodes_the_same()
    {
        byte[] bytes = Sequences.Bytes(Body + Next);
        for (int cut = 1; cut < bytes.Length; cut++)
        {
            Decoded d = DecodeAll(Sequences.Split(bytes, cut));

            Assert.Equal(new Decoded(ChunkedBodyStatus.Complete, "hello, wide world", Body.Length, 0), d);
        }

        Assert.Equal("hello, wide world", DecodeAll(Sequences.OneBytePerSegment(bytes)).Body);
    }

    [Fact]
    public void Chunked_body_arriving_one_byte_per_read_decodes_the_same()
    {
        byte[] bytes = Sequences.Bytes(Body + Next);
        ChunkedBodyDecoder decoder = new();
        List<byte> body = [];
        int consumed = 0;
        ChunkedBodyStatus status = ChunkedBodyStatus.NeedMoreData;
        for (int available = 1; available <= bytes.Length && status == ChunkedBodyStatus.NeedMoreData; available++)
        {
            // Like a pipe: what was consumed is gone, the unconsumed rest comes back with one more byte.
            Decoded d = DecodeAll(new ReadOnlySequence<byte>(bytes, consumed, available - consumed), decoder, body);
            consumed += (int)d.Consumed;
            status = d.Status;
        }

        Assert.Equal(ChunkedBodyStatus.Complete, status);
        Assert.Equal("hello, wide world", Sequences.Text(body.ToArray()));
        Assert.Equal(Body.Length, consumed);
        Assert.Equal(17, decoder.BodyLength);
    }

    [Fact]
    public void Incomplete_body_needs_more_data_and_consumes_what_it_has_decoded()
    {
        Decoded d = DecodeAll(Sequences.Contiguous("5\r\nhel"));

        Assert.Equal(ChunkedBodyStatus.NeedMoreData, d.Status);
        Assert.Equal("hel", d.Body);
        Assert.Equal(6, d.Consumed);
    }

    [Theory]
    [InlineData("-5\r\nhello\r\n0\r\n\r\n")]
    [InlineData("+5\r\nhello\r\n0\r\n\r\n")]
    [InlineData(" 5\r\nhello\r\n0\r\n\r\n")]
    [InlineData("0x5\r\nhello\r\n0\r\n\r\n")]
    [InlineData("g\r\n")]
    [InlineData("\r\n")]
    [InlineData(";ext\r\n")]
    [InlineData("5 \r\nhello\r\n")]
    [InlineData("5\nhello\r\n")]
    [InlineData("5\r\rhello\r\n")]
    [InlineData("5;a\u0001b\r\nhello\r\n")]
    [InlineData("5;a\nb\r\nhello\r\n")]
    [InlineData("8000000000000000\r\n")]
    [InlineData("100000000000000000\r\n")]
    [InlineData("5\r\nhelloX\r\n")]
    [InlineData("5\r\nhello\r\r")]
    [InlineData("5\r\nhello\n0\r\n\r\n")]
    public void Malformed_chunk_framing_is_rejected_with_400(string body)
    {
        Decoded d = DecodeAll(Sequences.Contiguous(body));

        Assert.Equal(ChunkedBodyStatus.Error, d.Status);
        Assert.Equal(400, d.ErrorStatus);
    }

    [Theory]
    [InlineData("0\r\n folded: x\r\n\r\n")]
    [InlineData("0\r\nName : x\r\n\r\n")]
    [InlineData("0\r\n: x\r\n\r\n")]
    [InlineData("0\r\nNoColon\r\n\r\n")]
    [InlineData("0\r\nX: a\u0000b\r\n\r\n")]
    [InlineData("0\r\nX: a\r\r\n\r\n")]
    [InlineData("0\r\nX: a\n\r\n")]
    [InlineData("0\r\n\r\r")]
    public void Malformed_trailer_is_rejected_with_400(string body)
    {
        Decoded d = DecodeAll(Sequences.Contiguous(body));

        Assert.Equal(ChunkedBodyStatus.Error, d.Status);
        Assert.Equal(400, d.ErrorStatus);
    }

    [Fact]
    public void Largest_chunk_size_that_fits_a_long_is_accepted()
    {
        Decoded d = DecodeAll(Sequences.Contiguous("7fffffffffffffff\r\nabc"));

        Assert.Equal(ChunkedBodyStatus.NeedMoreData, d.Status);
        Assert.Equal("abc", d.Body);
    }

    [Fact]
    public void Chunk_size_line_longer_than_the_limit_is_rejected_with_400()
    {
        HttpParserLimits limits = new() { MaxChunkSizeLineLength = 16 };

        Assert.Equal(ChunkedBodyStatus.Complete, DecodeAll(Sequences.Contiguous("0;abcdefghijkl\r\n\r\n"), new(limits)).Status);
        Decoded d = DecodeAll(Sequences.Contiguous("0;abcdefghijklm\r\n\r\n"), new(limits));
        Assert.Equal(400, d.ErrorStatus);
    }

    [Fact]
    public void Trailer_section_over_the_header_limits_is_rejected_with_431()
    {
        HttpParserLimits limits = new() { MaxHeaderBytes = 32, MaxHeaderCount = 2 };

        Assert.Equal(431, DecodeAll(Sequences.Contiguous("0\r\nX: " + new string('v', 40) + "\r\n\r\n"), new(limits)).ErrorStatus);
        Assert.Equal(431, DecodeAll(Sequences.Contiguous("0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"), new(limits)).ErrorStatus);
        Assert.Equal(ChunkedBodyStatus.Complete, DecodeAll(Sequences.Contiguous("0\r\nA: 1\r\nB: 2\r\n\r\n"), new(limits)).Status);
    }

    [Fact]
    public void Decoder_stays_complete_until_reset_and_then_decodes_the_next_body()
    {
        ChunkedBodyDecoder decoder = new();
        Assert.Equal(ChunkedBodyStatus.Complete, DecodeAll(Sequences.Contiguous("1\r\na\r\n0\r\n\r\n"), decoder).Status);

        Assert.Equal(ChunkedBodyStatus.Complete, decoder.Decode(Sequences.Contiguous("1\r\nb\r\n0\r\n\r\n"), out _, out SequencePosition at));
        Assert.Equal(0, at.GetInteger());

        decoder.Reset();
        Decoded d = DecodeAll(Sequences.Contiguous("1\r\nb\r\n0\r\n\r\n"), decoder);
        Assert.Equal("b", d.Body);
        Assert.Equal(1, decoder.BodyLength);
    }

    [Fact]
    public void Decoder_stays_failed_until_reset()
    {
        ChunkedBodyDecoder decoder = new();
        Assert.Equal(ChunkedBodyStatus.Error, DecodeAll(Sequences.Contiguous("z\r\n"), decoder).Status);

        Assert.Equal(ChunkedBodyStatus.Error, DecodeAll(Sequences.Contiguous("0\r\n\r\n"), decoder).Status);
        decoder.Reset();
        Assert.Equal(ChunkedBodyStatus.Complete, DecodeAll(Sequences.Contiguous("0\r\n\r\n"), decoder).Status);
        Assert.Null(decoder.Error);
    }

    internal static Decoded DecodeAll(ReadOnlySequence<byte> input, ChunkedBodyDecoder? decoder = null, List<byte>? body = null)
    {
        decoder ??= new ChunkedBodyDecoder();
        body ??= [];
        long consumed = 0;
        while (true)
        {
            ChunkedBodyStatus status = decoder.Decode(input, out ReadOnlySequence<byte> data, out SequencePosition position);
            consumed += input.Slice(input.Start, position).Length;
            input = input.Slice(position);
            if (status != ChunkedBodyStatus.Data)
            {
                return new Decoded(status, Sequences.Text(body.ToArray()), consumed, decoder.Error?.StatusCode ?? 0);
            }

            Assert.False(data.IsEmpty);
            body.AddRange(data.ToArray());
        }
    }

    internal sealed record Decoded(ChunkedBodyStatus Status, string Body, long Consumed, int ErrorStatus);
}
