using System.Buffers;

namespace Fastsock.Http;

/// <summary>
/// Decodes a chunked request body (RFC 9112 §7.1) incrementally, returning the data as slices of the input,
/// never copying it. One instance per connection; call <see cref="Reset"/> before each chunked body.
/// </summary>
/// <remarks>
/// Framing bytes are consumed one at a time through a state machine, so input may be split anywhere and nothing
/// is re-scanned. Chunk sizes are strict hex with no sign, space or overflow; extensions are checked for control
/// characters and skipped; trailer fields follow the header rules and are skipped. Every malformation is 400,
/// except a trailer section over <see cref="HttpParserLimits.MaxHeaderBytes"/> or the field count, which is 431.
/// </remarks>
internal sealed class ChunkedBodyDecoder
{
    private readonly HttpParserLimits _limits;
    private ChunkedDecoderState _state;
    private long _chunkRemaining;
    private int _lineLength;
    private int _trailerBytes;
    private int _trailerCount;
    private long _bodyLength;
    private HttpParseError? _error;

    public ChunkedBodyDecoder()
        : this(HttpParserLimits.Default)
    {
    }

    public ChunkedBodyDecoder(HttpParserLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        _limits = limits;
    }

    /// <summary>Body bytes decoded so far, for enforcing a maximum body size (413) in the caller.</summary>
    public long BodyLength => _bodyLength;

    public bool IsComplete => _state == ChunkedDecoderState.Complete;

    /// <summary>Why decoding failed; null unless <see cref="Decode"/> returned <see cref="ChunkedBodyStatus.Error"/>.</summary>
    public HttpParseError? Error => _error;

    /// <summary>Prepares for a new body.</summary>
    public void Reset()
    {
        _state = ChunkedDecoderState.SizeStart;
        _chunkRemaining = 0;
        _lineLength = 0;
        _trailerBytes = 0;
        _trailerCount = 0;
        _bodyLength = 0;
        _error = null;
    }

    /// <summary>Consumes framing from the start of <paramref name="input"/> until it finds data, the end, or an error.</summary>
    /// <param name="input">The unconsumed input, starting where the previous call's <paramref name="consumed"/> ended.</param>
    /// <param name="data">On <see cref="ChunkedBodyStatus.Data"/>, body bytes (a slice of <paramref name="input"/>).</param>
    /// <param name="consumed">How far the input was used; bytes before it never need to be seen again.</param>
    public ChunkedBodyStatus Decode(in ReadOnlySequence<byte> input, out ReadOnlySequence<byte> data, out SequencePosition consumed)
    {
        data = default;
        if (_state is ChunkedDecoderState.Complete or ChunkedDecoderState.Failed)
        {
            consumed = input.Start;
            return _state == ChunkedDecoderState.Complete ? ChunkedBodyStatus.Complete : ChunkedBodyStatus.Error;
        }

        long offset = 0;
        foreach (ReadOnlyMemory<byte> segment in input)
        {
            ReadOnlySpan<byte> span = segment.Span;
            for (int i = 0; i < span.Length; i++)
            {
                if (_state == ChunkedDecoderState.Data)
                {
                    long take = Math.Min(_chunkRemaining, input.Length - (offset + i));
                    data = input.Slice(offset + i, take);
                    consumed = data.End;
                    _chunkRemaining -= take;
                    _bodyLength += take;
                    if (_chunkRemaining == 0)
                    {
                        _state = ChunkedDecoderState.DataCr;
                    }

                    return ChunkedBodyStatus.Data;
                }

                HttpParseError? error = Step(span[i]);
                if (error is not null)
                {
                    _error = error;
                    _state = ChunkedDecoderState.Failed;
                    consumed = input.GetPosition(offset + i);
                    return ChunkedBodyStatus.Error;
                }

                if (_state == ChunkedDecoderState.Complete)
                {
                    consumed = input.GetPosition(offset + i + 1);
                    return ChunkedBodyStatus.Complete;
                }
            }

            offset += span.Length;
        }

        consumed = input.End;
        return ChunkedBodyStatus.NeedMoreData;
    }

    /// <summary>Advances the framing state machine by one byte.</summary>
    private HttpParseError? Step(byte b)
    {
        switch (_state)
        {
            case ChunkedDecoderState.SizeStart:
            case ChunkedDecoderState.SizeDigits:
            case ChunkedDecoderState.SizeWhitespace:
            case ChunkedDecoderState.Extension:
            case ChunkedDecoderState.SizeLf:
                return ++_lineLength > _limits.MaxChunkSizeLineLength ? HttpParseErrors.ChunkSizeLineTooLong : StepSizeLine(b);
            case ChunkedDecoderState.DataCr:
                _state = ChunkedDecoderState.DataLf;
                return b == HttpSyntax.Cr ? null : HttpParseErrors.InvalidChunkTerminator;
            case ChunkedDecoderState.DataLf:
                _state = ChunkedDecoderState.SizeStart;
                _lineLength = 0;
                return b == HttpSyntax.Lf ? null : HttpParseErrors.InvalidChunkTerminator;
            default:
                return ++_trailerBytes > _limits.MaxHeaderBytes ? HttpParseErrors.TrailersTooLarge : StepTrailer(b);
        }
    }

    /// <summary>chunk-size [ chunk-ext ] CRLF, where chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ).</summary>
    private HttpParseError? StepSizeLine(byte b)
    {
        switch (_state)
        {
            case ChunkedDecoderState.SizeStart:
                int first = HexValue(b);
                if (first < 0)
                {
                    return HttpParseErrors.InvalidChunkSize;
                }

                _chunkRemaining = first;
                _state = ChunkedDecoderState.SizeDigits;
                return null;
            case ChunkedDecoderState.SizeDigits:
                int digit = HexValue(b);
                if (digit >= 0)
                {
                    if (_chunkRemaining > long.MaxValue >> 4)
                    {
                        return HttpParseErrors.ChunkSizeTooLarge;
                    }

                    _chunkRemaining = (_chunkRemaining << 4) | (uint)digit;
                    return null;
                }

                return AfterSize(b);
            case ChunkedDecoderState.SizeWhitespace:
                return HttpSyntax.IsWhitespace(b) ? null : b == ';' ? Enter(ChunkedDecoderState.Extension) : HttpParseErrors.InvalidChunkExtension;
            case ChunkedDecoderState.Extension:
                // Extensions are skipped, but a CTL in them would let a lenient peer see a different line end.
                return b == HttpSyntax.Cr ? Enter(ChunkedDecoderState.SizeLf)
                    : b == HttpSyntax.Tab || (b >= 0x20 && b != 0x7F) ? null : HttpParseErrors.InvalidChunkExtension;
            default: // SizeLf
                if (b != HttpSyntax.Lf)
                {
                    return HttpParseErrors.InvalidChunkSize;
                }

                _state = _chunkRemaining == 0 ? ChunkedDecoderState.TrailerStart : ChunkedDecoderState.Data;
                return null;
        }
    }

    private HttpParseError? AfterSize(byte b) => b switch
    {
        HttpSyntax.Cr => Enter(ChunkedDecoderState.SizeLf),
        (byte)';' => Enter(ChunkedDecoderState.Extension),
        HttpSyntax.Space or HttpSyntax.Tab => Enter(ChunkedDecoderState.SizeWhitespace),
        _ => HttpParseErrors.InvalidChunkSize,
    };

    /// <summary>trailer-section = *( field-line CRLF ) CRLF, checked like header fields and discarded.</summary>
    private HttpParseError? StepTrailer(byte b)
    {
        switch (_state)
        {
            case ChunkedDecoderState.TrailerStart:
                if (b == HttpSyntax.Cr)
                {
                    return Enter(ChunkedDecoderState.EndLf);
                }

                if (++_trailerCount > _limits.MaxHeaderCount)
                {
                    return HttpParseErrors.TrailersTooLarge;
                }

                // Also rejects obs-fold (a line starting with whitespace) and an empty field name.
                return HttpSyntax.Token.Contains(b) ? Enter(ChunkedDecoderState.TrailerName) : HttpParseErrors.InvalidTrailer;
            case ChunkedDecoderState.TrailerName:
                return HttpSyntax.Token.Contains(b) ? null : b == ':' ? Enter(ChunkedDecoderState.TrailerValue) : HttpParseErrors.InvalidTrailer;
            case ChunkedDecoderState.TrailerValue:
                return b == HttpSyntax.Cr ? Enter(ChunkedDecoderState.TrailerLf)
                    : HttpSyntax.InvalidFieldValue.Contains(b) ? HttpParseErrors.InvalidTrailer : null;
            case ChunkedDecoderState.TrailerLf:
                return b == HttpSyntax.Lf ? Enter(ChunkedDecoderState.TrailerStart) : HttpParseErrors.InvalidTrailer;
            default: // EndLf
                return b == HttpSyntax.Lf ? Enter(ChunkedDecoderState.Complete) : HttpParseErrors.InvalidTrailer;
        }
    }

    private HttpParseError? Enter(ChunkedDecoderState state)
    {
        _state = state;
        return null;
    }

    private static int HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };
}
