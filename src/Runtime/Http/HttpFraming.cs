using System.Text;

namespace Fastsock.Http;

/// <summary>
/// Accumulates the header fields that decide message framing and connection reuse, and rejects
/// the combinations request smuggling relies on (RFC 9112 §6, §9.3; RFC 9110 §7.2, §8.6).
/// </summary>
/// <remarks>
/// Identical duplicate Content-Length fields are accepted as one value (RFC 9110 §8.6 permits it, HAProxy does
/// the same); differing values, lists ("5, 5") and anything but digits are rejected.
/// </remarks>
internal struct HttpFraming
{
    private long _contentLength;
    private bool _hasContentLength;
    private bool _hasTransferEncoding;
    private bool _lastCodingIsChunked;
    private bool _connectionClose;
    private bool _connectionKeepAlive;
    private bool _expectContinue;
    private int _hostCount;

    /// <summary>Looks at one field; returns the error if the field alone makes the request invalid.</summary>
    public HttpParseError? OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        // Dispatch on length first so the common fields that matter to nobody cost one comparison.
        switch (name.Length)
        {
            case 4 when Ascii.EqualsIgnoreCase(name, "Host"u8):
                return ++_hostCount > 1 ? HttpParseErrors.MultipleHost : null;
            case 6 when Ascii.EqualsIgnoreCase(name, "Expect"u8):
                _expectContinue |= Ascii.EqualsIgnoreCase(value, "100-continue"u8);
                return null;
            case 10 when Ascii.EqualsIgnoreCase(name, "Connection"u8):
                OnConnection(value);
                return null;
            case 14 when Ascii.EqualsIgnoreCase(name, "Content-Length"u8):
                return OnContentLength(value);
            case 17 when Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8):
                return OnTransferEncoding(value);
            default:
                return null;
        }
    }

    /// <summary>Checks the fields as a whole and writes the summary into <paramref name="head"/>.</summary>
    public readonly HttpParseError? Complete(ref HttpRequestHead head)
    {
        bool http11 = head._version == HttpVersion.Http11;
        if (http11 && _hostCount == 0)
        {
            return HttpParseErrors.MissingHost;
        }

        if (_hasTransferEncoding)
        {
            if (!http11)
            {
                // RFC 9112 §6.1: HTTP/1.0 framing with Transfer-Encoding is faulty; refuse rather than guess.
                return HttpParseErrors.TransferEncodingInHttp10;
            }

            if (_hasContentLength)
            {
                return HttpParseErrors.ContentLengthAndTransferEncoding;
            }

            if (!_lastCodingIsChunked)
            {
                // Without chunked last the body length is unknowable on a request (RFC 9112 §6.3 item 4).
                return HttpParseErrors.TransferEncodingNotChunked;
            }
        }

        head._contentLength = _hasContentLength ? _contentLength : -1;
        head._isChunked = _hasTransferEncoding;
        head._hasHost = _hostCount != 0;
        head._expectContinue = http11 && _expectContinue; // RFC 9110 §10.1.1: ignored from HTTP/1.0 clients.
        head._keepAlive = !_connectionClose && (http11 || _connectionKeepAlive);
        return null;
    }

    private void OnConnection(ReadOnlySpan<byte> value)
    {
        while (HttpSyntax.NextListElement(ref value, out ReadOnlySpan<byte> option))
        {
            if (Ascii.EqualsIgnoreCase(option, "close"u8))
            {
                _connectionClose = true;
            }
            else if (Ascii.EqualsIgnoreCase(option, "keep-alive"u8))
            {
                _connectionKeepAlive = true;
            }
        }
    }

    private HttpParseError? OnContentLength(ReadOnlySpan<byte> value)
    {
        if (!TryParseDecimal(value, out long length))
        {
            return HttpParseErrors.InvalidContentLength;
        }

        if (_hasContentLength && length != _contentLength)
        {
            return HttpParseErrors.ConflictingContentLength;
        }

        _hasContentLength = true;
        _contentLength = length;
        return null;
    }

    private HttpParseError? OnTransferEncoding(ReadOnlySpan<byte> value)
    {
        bool any = false;
        while (HttpSyntax.NextListElement(ref value, out ReadOnlySpan<byte> coding))
        {
            if (coding.IsEmpty)
            {
                continue;
            }

            if (_lastCodingIsChunked)
            {
                // chunked must be applied once and last (RFC 9112 §6.1): anything after it hides the framing.
                return HttpParseErrors.TransferEncodingNotChunked;
            }

            _lastCodingIsChunked = Ascii.EqualsIgnoreCase(coding, "chunked"u8);
            any = true;
        }

        _hasTransferEncoding = true;
        return any ? null : HttpParseErrors.TransferEncodingNotChunked;
    }

    /// <summary>1*DIGIT into a non-negative long; no sign, no whitespace, no overflow.</summary>
    internal static bool TryParseDecimal(ReadOnlySpan<byte> digits, out long value)
    {
        value = 0;
        if (digits.IsEmpty)
        {
            return false;
        }

        foreach (byte b in digits)
        {
            uint digit = (uint)(b - '0');
            if (digit > 9 || value > (long.MaxValue - digit) / 10)
            {
                return false;
            }

            value = (value * 10) + digit;
        }

        return true;
    }
}
