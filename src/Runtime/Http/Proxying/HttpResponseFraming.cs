using System.Text;

namespace Fastsock.Http.Proxying;

/// <summary>
/// Accumulates the fields that delimit a response body and decide reuse of the backend connection (RFC 9112 §6.3, §9.3),
/// rejecting the combinations response splitting relies on.
/// </summary>
internal struct HttpResponseFraming
{
    private long _contentLength;
    private bool _hasContentLength;
    private bool _hasTransferEncoding;
    private bool _chunkedSeen;
    private bool _lastCodingIsChunked;
    private bool _connectionClose;
    private bool _connectionKeepAlive;

    public HttpParseError? OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        switch (name.Length)
        {
            case 10 when Ascii.EqualsIgnoreCase(name, "Connection"u8):
                while (HttpSyntax.NextListElement(ref value, out ReadOnlySpan<byte> option))
                {
                    _connectionClose |= Ascii.EqualsIgnoreCase(option, "close"u8);
                    _connectionKeepAlive |= Ascii.EqualsIgnoreCase(option, "keep-alive"u8);
                }

                return null;
            case 14 when Ascii.EqualsIgnoreCase(name, "Content-Length"u8):
                if (!HttpFraming.TryParseDecimal(value, out long length))
                {
                    return HttpResponseParseErrors.InvalidContentLength;
                }

                if (_hasContentLength && length != _contentLength)
                {
                    return HttpResponseParseErrors.ConflictingContentLength;
                }

                _hasContentLength = true;
                _contentLength = length;
                return null;
            case 17 when Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8):
                return OnTransferEncoding(value);
            default:
                return null;
        }
    }

    public readonly HttpParseError? Complete(ref HttpResponseHead head, RequestMethod requestMethod)
    {
        bool http11 = head._version == HttpVersion.Http11;
        int status = head._statusCode;
        head._contentLength = _hasContentLength ? _contentLength : -1;
        head._keepAlive = !_connectionClose && (http11 || _connectionKeepAlive);

        // RFC 9112 §6.3 items 1-2: these never have a body, whatever their fields say.
        if (status < 200 || status == 204 || status == 304 || requestMethod == RequestMethod.Head
            || (requestMethod == RequestMethod.Connect && status < 300))
        {
            head._framing = HttpBodyFraming.None;
            return null;
        }

        if (_hasTransferEncoding)
        {
            if (!http11)
            {
                // RFC 9112 §6.1: the framing of an HTTP/1.0 message with Transfer-Encoding is faulty.
                return HttpResponseParseErrors.TransferEncodingInHttp10;
            }

            if (_hasContentLength)
            {
                // §6.3 item 3 allows letting Transfer-Encoding win, but calls it an attack to handle as an error.
                return HttpResponseParseErrors.ContentLengthAndTransferEncoding;
            }

            // §6.3 item 4: a response whose last coding is not chunked runs until the connection closes.
            head._framing = _lastCodingIsChunked ? HttpBodyFraming.Chunked : HttpBodyFraming.CloseDelimited;
        }
        else
        {
            head._framing = _hasContentLength ? HttpBodyFraming.ContentLength : HttpBodyFraming.CloseDelimited;
        }

        head._keepAlive &= head._framing != HttpBodyFraming.CloseDelimited;
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

            bool chunked = Ascii.EqualsIgnoreCase(coding, "chunked"u8);
            if (chunked && _chunkedSeen)
            {
                return HttpResponseParseErrors.InvalidTransferEncoding; // chunked applied twice (RFC 9112 §6.1)
            }

            _chunkedSeen |= chunked;
            _lastCodingIsChunked = chunked;
            any = true;
        }

        _hasTransferEncoding = true;
        return any ? null : HttpResponseParseErrors.InvalidTransferEncoding;
    }
}
