namespace Fastsock.Http;

/// <summary>Where <see cref="ChunkedBodyDecoder"/> is within the chunked framing.</summary>
internal enum ChunkedDecoderState : byte
{
    SizeStart,
    SizeDigits,
    SizeWhitespace,
    Extension,
    SizeLf,
    Data,
    DataCr,
    DataLf,
    TrailerStart,
    TrailerName,
    TrailerValue,
    TrailerLf,
    EndLf,
    Complete,
    Failed,
}
