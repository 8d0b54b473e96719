namespace Fastsock.Http;

/// <summary>Size limits that bound the work and memory one request head can cost.</summary>
/// <remarks>
/// A request line over its limit is answered with 414 (URI Too Long: the target is what makes lines long);
/// a header section over its byte or count limit with 431. Leading empty lines, which RFC 9112 §2.2 lets a
/// server ignore, count toward the request line.
/// </remarks>
public sealed class HttpParserLimits
{
    private readonly int _maxRequestLineLength = 8 * 1024;
    private readonly int _maxHeaderBytes = 32 * 1024;
    private readonly int _maxHeaderCount = 100;
    private readonly int _maxChunkSizeLineLength = 4 * 1024;

    /// <summary>The defaults: 8 KiB request line, 32 KiB of header fields, 100 fields, 4 KiB chunk-size line.</summary>
    public static HttpParserLimits Default { get; } = new();

    /// <summary>Longest request line, CRLF included.</summary>
    public int MaxRequestLineLength
    {
        get => _maxRequestLineLength;
        init => _maxRequestLineLength = Positive(value);
    }

    /// <summary>Most bytes of field lines after the request line, CRLFs and the final empty line included.</summary>
    public int MaxHeaderBytes
    {
        get => _maxHeaderBytes;
        init => _maxHeaderBytes = Positive(value);
    }

    /// <summary>Most header (or trailer) field lines.</summary>
    public int MaxHeaderCount
    {
        get => _maxHeaderCount;
        init => _maxHeaderCount = Positive(value);
    }

    /// <summary>Longest chunk-size line of a chunked body, extensions and CRLF included.</summary>
    public int MaxChunkSizeLineLength
    {
        get => _maxChunkSizeLineLength;
        init => _maxChunkSizeLineLength = Positive(value);
    }

    /// <summary>The longest possible head; the size of the scratch buffer <see cref="HttpRequestParser"/> needs.</summary>
    public int MaxHeadLength => checked(_maxRequestLineLength + _maxHeaderBytes);

    private static int Positive(int value)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
        // Keeps MaxHeadLength well inside int and a scratch buffer a sane size.
        ArgumentOutOfRangeException.ThrowIfGreaterThan(value, 1 << 24);
        return value;
    }
}
