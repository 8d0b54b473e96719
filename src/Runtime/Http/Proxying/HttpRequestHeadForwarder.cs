using System.Buffers;
using System.Buffers.Text;
using System.Net;
using System.Text;

namespace Fastsock.Http.Proxying;

/// <summary>
/// Forwards a request head to the next hop with one parse: <see cref="TryParse"/> validates it and records where the
/// fields to keep are; <see cref="Write"/> later copies them, in one pass, into the backend's output with the
/// hop-by-hop fields (RFC 9110 §7.6.1) removed, the client appended to X-Forwarded-For and X-Forwarded-Proto added when absent.
/// An absolute-form target (<c>GET http://host/path</c>) goes on in origin-form with its authority as Host (RFC 9112 §3.2.2).
/// </summary>
/// <remarks>
/// <para>
/// One instance per client connection, reused for each request: the records are offsets into the head, not spans, so
/// they survive the awaits between the parse and the write (picking and connecting a backend) as long as the caller
/// keeps the head's bytes unconsumed. A field named in Connection may come before the Connection field: the names are
/// filtered when writing, after the only parse. The rules are written down in this folder's README.
/// </para>
/// <para>
/// Lines already in the form they are written in ("Name: value\r\n", and the request line of an HTTP/1.1 request)
/// are copied as runs of adjacent bytes, so a head without hop-by-hop fields is usually one copy plus the added fields,
/// all written with one <see cref="IBufferWriter{T}.Advance"/>.
/// </para>
/// <code>
/// switch (forwarder.TryParse(parser, input, scratch, out var head))  // once, when the head arrives
/// ...                                                                // pick and connect a backend
/// forwarder.Write(input, scratch, backendOutput, hostIfAbsent);       // the same input, still unconsumed
/// </code>
/// </remarks>
internal sealed class HttpRequestHeadForwarder
{
    // What Write may add beyond the head's own bytes (besides one byte per field and the Host fallback): ", client"
    // appended (42), "X-Forwarded-For: client\r\n" (58), "X-Forwarded-Proto: http\r\n" (25), "Host: \r\n" (8),
    // "Content-Length: <19 digits>\r\n" (37), "Connection: upgrade\r\n" (21), rounded up. The head's own final CRLF
    // covers the written one.
    private const int AddedBytesBound = 224;

    private readonly byte[] _client;
    private readonly byte[] _proto;
    private readonly ForwardedFieldLines _fields = new(isRequest: true) { RecordUpgrade = true };
    private int _lastForwardedFor;
    private bool _hasForwardedProto;
    private int _headLength;
    private int _requestLineOffset;
    private int _methodLength;
    private int _targetLength;
    private int _hostField;
    private int _originOffset;
    private int _authorityOffset;
    private int _authorityLength;
    private bool _http11;
    private bool _hasHost;
    private bool _isChunked;
    private long _contentLength;
    private bool _upgrade;

    /// <summary>A forwarder for requests from the client at <paramref name="clientAddress"/> (4 or 16 bytes, network order).</summary>
    public HttpRequestHeadForwarder(ReadOnlySpan<byte> clientAddress)
        : this(clientAddress, "http"u8)
    {
    }

    /// <summary>
    /// A forwarder for requests from the client at <paramref name="clientAddress"/>, announcing <paramref name="forwardedProto"/>
    /// (<c>http</c> or <c>https</c>) in X-Forwarded-Proto when the request has none.
    /// </summary>
    public HttpRequestHeadForwarder(ReadOnlySpan<byte> clientAddress, ReadOnlySpan<byte> forwardedProto)
    {
        if (forwardedProto.IsEmpty || forwardedProto.Length > 16 || !HttpSyntax.IsToken(forwardedProto))
        {
            throw new ArgumentException(
                $"X-Forwarded-Proto must be a scheme token of at most 16 bytes such as http or https, not '{Encoding.ASCII.GetString(forwardedProto)}'.",
                nameof(forwardedProto));
        }

        _proto = forwardedProto.ToArray();
        if (clientAddress.Length is not (4 or 16))
        {
            throw new ArgumentException($"A client address has 4 or 16 bytes, not {clientAddress.Length}.", nameof(clientAddress));
        }

        Span<byte> text = stackalloc byte[64];
        _client = text[..ForwardedForText.Format(clientAddress, text)].ToArray();
    }

    /// <summary>A forwarder for requests from <paramref name="client"/>.</summary>
    public HttpRequestHeadForwarder(IPAddress client)
        : this(AddressBytes(client))
    {
    }

    /// <summary>
    /// Whether the last parsed request names its host: a Host field (an HTTP/1.0 request may have none) or an
    /// absolute-form target, whose authority becomes the Host.
    /// </summary>
    public bool HasHost => _hasHost || _authorityOffset >= 0;

    /// <summary>
    /// Whether the last parsed request asks for a protocol upgrade that is forwarded (RFC 9110 §7.8): HTTP/1.1, an
    /// Upgrade field, "upgrade" listed in Connection, and no body. Its Upgrade field then goes on with
    /// <c>Connection: upgrade</c>; any other request loses Upgrade as a hop-by-hop field.
    /// </summary>
    /// <remarks>
    /// A request with a body is upgraded only after its body (RFC 9110 §7.8); such requests (h2c with a body, say) are
    /// rare and WebSocket handshakes have none, so they go on without Upgrade, as plain requests.
    /// </remarks>
    public bool IsUpgrade => _upgrade;

    /// <summary>
    /// Parses the head at the start of <paramref name="buffer"/> with <paramref name="parser"/> and records what
    /// <see cref="Write"/> needs. A Connection field that cannot be honoured (a non-token option, more than 16 options)
    /// makes it an <see cref="HttpParseStatus.Error"/> with a 400, like the parser's own rejections.
    /// </summary>
    public HttpParseStatus TryParse(HttpRequestParser parser, in ReadOnlySequence<byte> buffer, Span<byte> scratch, out HttpRequestHead head)
    {
        ArgumentNullException.ThrowIfNull(parser);
        _fields.Clear();
        _lastForwardedFor = -1;
        _hasForwardedProto = false;
        _hostField = -1;
        _authorityOffset = -1;
        _headLength = 0;
        _upgrade = false;

        Recorder recorder = new(this);
        HttpParseStatus status = parser.TryParseFieldLines(buffer, scratch, ref recorder, out head);
        if (status != HttpParseStatus.Complete)
        {
            return status;
        }

        if (_fields.Error is not null)
        {
            head = default;
            head._error = _fields.Error;
            return HttpParseStatus.Error;
        }

        // Listed X-Forwarded-* fields are dropped as hop-by-hop, then added afresh.
        if (_fields.IsListed("X-Forwarded-For"u8))
        {
            _lastForwardedFor = -1;
        }

        _hasForwardedProto &= !_fields.IsListed("X-Forwarded-Proto"u8);
        _originOffset = 0;
        if (AbsoluteFormTarget.Read(head.Method, head.Target, ref _authorityOffset, ref _authorityLength, ref _originOffset) is { } targetError)
        {
            head = default;
            head._error = targetError;
            return HttpParseStatus.Error;
        }

        if (_authorityOffset >= 0 && _hostField >= 0)
        {
            _fields.Remove(_hostField); // RFC 9112 §3.2.2: the target's authority replaces the Host field
        }

        _headLength = head.HeadLength;
        _requestLineOffset = head._requestLineOffset;
        _methodLength = head.MethodBytes.Length;
        _targetLength = head.Target.Length;
        _http11 = head.Version == HttpVersion.Http11;
        _hasHost = head.HasHost;
        _isChunked = head.IsChunked;
        _contentLength = head.ContentLength;
        int upgradeField = _fields.UpgradeField;
        _upgrade = upgradeField >= 0 && _fields.ListsUpgrade && _http11 && !_isChunked && _contentLength <= 0;
        if (upgradeField >= 0 && !_upgrade)
        {
            _fields.Remove(upgradeField);
        }

        return status;
    }

    /// <summary>
    /// Writes the forwarded head of the request last parsed from <paramref name="buffer"/>: request line in HTTP/1.1,
    /// the fields kept, X-Forwarded-For and -Proto, <paramref name="hostIfAbsent"/> when the request had no Host,
    /// the framing (Transfer-Encoding: chunked or Content-Length) and the empty line.
    /// </summary>
    /// <param name="buffer">The same bytes <see cref="TryParse"/> saw, still unconsumed (they may have gained more at the end).</param>
    /// <param name="scratch">As for the parser; used only when the head spans segments.</param>
    /// <param name="output">The backend connection's output.</param>
    /// <param name="hostIfAbsent">The Host value to send when the request had none; empty: localhost.</param>
    public void Write(in ReadOnlySequence<byte> buffer, Span<byte> scratch, IBufferWriter<byte> output, ReadOnlySpan<byte> hostIfAbsent = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (_headLength == 0)
        {
            throw new InvalidOperationException("Write forwards the head TryParse has just parsed completely; there is none.");
        }

        ReadOnlySpan<byte> head = buffer.FirstSpan;
        if (head.Length < _headLength)
        {
            buffer.Slice(0, _headLength).CopyTo(scratch);
            head = scratch;
        }

        head = head[.._headLength];
        int targetOffset = _requestLineOffset + _methodLength + 1;
        if (_authorityOffset >= 0)
        {
            hostIfAbsent = head.Slice(targetOffset + _authorityOffset, _authorityLength);
        }
        else if (!_hasHost && hostIfAbsent.IsEmpty)
        {
            hostIfAbsent = "localhost"u8;
        }
        else if (!_hasHost && !HttpSyntax.IsValidFieldValue(hostIfAbsent))
        {
            throw new ArgumentException("A Host value must not contain control characters (RFC 9110 §5.5).", nameof(hostIfAbsent));
        }

        Span<byte> span = output.GetSpan(_headLength + _fields.MaxGrowth + AddedBytesBound + hostIfAbsent.Length);
        int written = 0;
        int runStart = _requestLineOffset;
        int runEnd = runStart;
        int requestLineLength = _methodLength + 1 + _targetLength + 11;
        if (_http11 && _authorityOffset < 0)
        {
            runEnd += requestLineLength; // already "METHOD target HTTP/1.1\r\n"
        }
        else
        {
            // "METHOD " then the target, in origin-form when it came in absolute-form ("" and "?q" gain the "/").
            written = Copy(head.Slice(runStart, _methodLength + 1), span);
            ReadOnlySpan<byte> origin = head.Slice(targetOffset + _originOffset, _targetLength - _originOffset);
            if (origin.IsEmpty || origin[0] != (byte)'/')
            {
                span[written++] = (byte)'/';
            }

            written += Copy(origin, span[written..]);
            written += Copy(" HTTP/1.1\r\n"u8, span[written..]);
        }

        written += _fields.Write(head, span[written..], runStart, runEnd, _lastForwardedFor, _client);
        if (_lastForwardedFor < 0)
        {
            written += ForwardedFieldLines.WriteLine(span[written..], "X-Forwarded-For"u8, default, _client);
        }

        if (!_hasForwardedProto)
        {
            written += ForwardedFieldLines.WriteLine(span[written..], "X-Forwarded-Proto"u8, _proto, default);
        }

        if (!_hasHost || _authorityOffset >= 0)
        {
            // The backend is spoken to in HTTP/1.1, which requires a Host (RFC 9112 §3.2).
            written += ForwardedFieldLines.WriteLine(span[written..], "Host"u8, hostIfAbsent, default);
        }

        if (_upgrade)
        {
            written += Copy("Connection: upgrade\r\n"u8, span[written..]);
        }

        // Framing and the end of the head go in the same span: each Advance of a pipe takes its lock.
        if (_isChunked)
        {
            written += Copy("Transfer-Encoding: chunked\r\n"u8, span[written..]);
        }
        else if (_contentLength >= 0)
        {
            written += Copy("Content-Length: "u8, span[written..]);
            Utf8Formatter.TryFormat(_contentLength, span[written..], out int digits);
            written += digits;
            written += Copy("\r\n"u8, span[written..]);
        }

        written += Copy("\r\n"u8, span[written..]);
        output.Advance(written);
    }

    private static byte[] AddressBytes(IPAddress client)
    {
        ArgumentNullException.ThrowIfNull(client);
        return client.GetAddressBytes();
    }

    private static int Copy(ReadOnlySpan<byte> from, Span<byte> to) => ForwardedFieldLines.Copy(from, to);

    private void Record(ReadOnlySpan<byte> line, int lineOffset, int nameLength, int valueStart, int valueLength)
    {
        int index = _fields.Record(line, lineOffset, nameLength, valueStart, valueLength);
        if (index < 0)
        {
            return;
        }

        if (nameLength == 4 && Ascii.EqualsIgnoreCase(line[..nameLength], "Host"u8))
        {
            _hostField = index;
        }
        else if (nameLength == 15 && Ascii.EqualsIgnoreCase(line[..nameLength], "X-Forwarded-For"u8))
        {
            _lastForwardedFor = index;
        }
        else if (nameLength == 17 && Ascii.EqualsIgnoreCase(line[..nameLength], "X-Forwarded-Proto"u8))
        {
            _hasForwardedProto = true;
        }
    }

    /// <summary>The parser's view of this forwarder: a struct, so the parse is specialised for it.</summary>
    private readonly struct Recorder(HttpRequestHeadForwarder owner) : IHttpFieldLineSink
    {
        public void OnFieldLine(ReadOnlySpan<byte> line, int lineOffset, int nameLength, int valueStart, int valueLength) =>
            owner.Record(line, lineOffset, nameLength, valueStart, valueLength);
    }

}
