namespace Fastsock.Http;

/// <summary>A parsed request head: the request line, the framing summary and where the head ends.</summary>
/// <remarks>
/// The spans point into the parsed buffer (or into the caller's scratch when the head spanned segments),
/// so they are valid until the caller advances the reader past <see cref="Consumed"/> or reuses the scratch.
/// </remarks>
internal ref struct HttpRequestHead
{
    internal ReadOnlySpan<byte> _methodBytes;
    internal ReadOnlySpan<byte> _target;
    internal int _pathLength;
    internal bool _hasQuery;
    internal RequestMethod _method;
    internal HttpVersion _version;
    internal bool _keepAlive;
    internal bool _isChunked;
    internal bool _hasHost;
    internal bool _expectContinue;
    internal long _contentLength;
    internal int _headerCount;
    internal int _headLength;
    internal int _requestLineOffset;
    internal SequencePosition _consumed;
    internal HttpParseError? _error;

    /// <summary>The method, or <see cref="RequestMethod.Custom"/> for one not in the enum (see <see cref="MethodBytes"/>).</summary>
    public readonly RequestMethod Method => _method;

    /// <summary>The method token exactly as sent.</summary>
    public readonly ReadOnlySpan<byte> MethodBytes => _methodBytes;

    /// <summary>The request target as sent: origin-form, absolute-form, authority-form (CONNECT) or "*" (OPTIONS).</summary>
    public readonly ReadOnlySpan<byte> Target => _target;

    /// <summary>The target up to, not including, the first '?'.</summary>
    public readonly ReadOnlySpan<byte> Path => _target[.._pathLength];

    /// <summary>The target after the first '?', without it; empty when there is no query.</summary>
    public readonly ReadOnlySpan<byte> Query => _hasQuery ? _target[(_pathLength + 1)..] : default;

    /// <summary>Whether the target has a '?', which tells "/a?" from "/a".</summary>
    public readonly bool HasQuery => _hasQuery;

    public readonly HttpVersion Version => _version;

    /// <summary>Whether the connection persists after this exchange (RFC 9112 §9.3).</summary>
    public readonly bool KeepAlive => _keepAlive;

    /// <summary>The body length announced by Content-Length, or -1 when absent.</summary>
    public readonly long ContentLength => _contentLength;

    /// <summary>Whether the body uses the chunked transfer coding (then <see cref="ContentLength"/> is -1).</summary>
    public readonly bool IsChunked => _isChunked;

    /// <summary>Whether a body follows the head.</summary>
    public readonly bool HasBody => _isChunked || _contentLength > 0;

    public readonly bool HasHost => _hasHost;

    /// <summary>Whether an HTTP/1.1 client waits for "100 Continue" before sending the body.</summary>
    public readonly bool ExpectContinue => _expectContinue;

    /// <summary>Number of header field lines.</summary>
    public readonly int HeaderCount => _headerCount;

    /// <summary>Bytes of the head, leading empty lines and the final CRLF included.</summary>
    public readonly int HeadLength => _headLength;

    /// <summary>The position just after the head in the parsed sequence: the start of the body or the next request.</summary>
    public readonly SequencePosition Consumed => _consumed;

    /// <summary>Why the parse failed; null unless the status was <see cref="HttpParseStatus.Error"/>.</summary>
    public readonly HttpParseError? Error => _error;
}
