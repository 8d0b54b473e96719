namespace Fastsock.Http.Proxying;

/// <summary>A parsed backend response head: the status line, the body framing and where the head ends.</summary>
/// <remarks>
/// The reason phrase points into the parsed buffer (or the caller's scratch when the head spanned segments), so it is
/// valid until the caller advances the reader past <see cref="Consumed"/> or reuses the scratch.
/// </remarks>
internal ref struct HttpResponseHead
{
    internal ReadOnlySpan<byte> _reasonPhrase;
    internal int _statusCode;
    internal HttpVersion _version;
    internal HttpBodyFraming _framing;
    internal bool _keepAlive;
    internal long _contentLength;
    internal int _headerCount;
    internal int _headLength;
    internal int _statusLineLength;
    internal SequencePosition _consumed;
    internal HttpParseError? _error;

    /// <summary>100-599.</summary>
    public readonly int StatusCode => _statusCode;

    /// <summary>The reason phrase as sent, possibly empty; clients should ignore it (RFC 9112 §4).</summary>
    public readonly ReadOnlySpan<byte> ReasonPhrase => _reasonPhrase;

    public readonly HttpVersion Version => _version;

    /// <summary>Whether this is an interim (1xx) response; the final one follows on the same connection.</summary>
    public readonly bool IsInterim => _statusCode < 200;

    /// <summary>How the body is delimited.</summary>
    public readonly HttpBodyFraming Framing => _framing;

    /// <summary>
    /// The Content-Length field's value, or -1 when absent. Reported even when <see cref="Framing"/> is
    /// <see cref="HttpBodyFraming.None"/> (a HEAD or 304 response), so a proxy can pass it on.
    /// </summary>
    public readonly long ContentLength => _contentLength;

    /// <summary>Whether a body follows the head.</summary>
    public readonly bool HasBody => _framing switch
    {
        HttpBodyFraming.ContentLength => _contentLength > 0,
        HttpBodyFraming.None => false,
        _ => true,
    };

    /// <summary>Whether the backend connection can carry another request after this response's body.</summary>
    public readonly bool KeepAlive => _keepAlive;

    /// <summary>Number of header field lines.</summary>
    public readonly int HeaderCount => _headerCount;

    /// <summary>Bytes of the head, the final CRLF included.</summary>
    public readonly int HeadLength => _headLength;

    /// <summary>The position just after the head in the parsed sequence: the start of the body.</summary>
    public readonly SequencePosition Consumed => _consumed;

    /// <summary>Why the parse failed (its status is 502); null unless the status was <see cref="HttpParseStatus.Error"/>.</summary>
    public readonly HttpParseError? Error => _error;
}
