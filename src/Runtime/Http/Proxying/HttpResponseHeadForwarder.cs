using System.Buffers;

namespace Fastsock.Http.Proxying;

/// <summary>
/// Forwards a backend's response head to the client with one parse: <see cref="TryParse"/> validates it and records
/// where the fields to keep are, <see cref="WriteStatusAndFields"/> copies the status line and those fields in one pass,
/// without the hop-by-hop ones (RFC 9110 §7.6.1). The caller then writes the framing it chose and the end of the head.
/// </summary>
/// <remarks>
/// One instance per client connection, reused for each response. A field named in Connection may come before the
/// Connection field, so the listed names are filtered when writing, after the only parse. The rules are in this folder's README. A Connection field that cannot be honoured does not fail the
/// parse: it is reported by <see cref="Error"/> (502), for the caller to check before writing.
/// </remarks>
internal sealed class HttpResponseHeadForwarder
{
    // "HTTP/1.1 NNN " and CRLF around the reason, when the status line is not already in that form.
    private const int StatusLineBound = 15;

    private readonly ForwardedFieldLines _fields = new(isRequest: false);
    private int _headLength;
    private int _statusLineLength;
    private int _statusCode;
    private int _reasonLength;
    private bool _http11;

    /// <summary>Why the last parsed response's fields cannot be forwarded (a bad Connection field, 502); null when they can.</summary>
    public HttpParseError? Error => _fields.Error;

    /// <summary>
    /// Set for the responses to a request that asked for an upgrade: the Upgrade field of a 101 is then forwarded
    /// (of any other status it is removed as hop-by-hop, as always).
    /// </summary>
    public bool KeepUpgrade
    {
        get => _fields.RecordUpgrade;
        set => _fields.RecordUpgrade = value;
    }

    /// <summary>Whether the last parsed response is a 101 with an Upgrade field kept (<see cref="KeepUpgrade"/>).</summary>
    public bool HasUpgrade => _fields.UpgradeField >= 0;

    /// <summary>Parses the head at the start of <paramref name="buffer"/> with <paramref name="parser"/> and records what writing it needs.</summary>
    public HttpParseStatus TryParse(
        HttpResponseParser parser, in ReadOnlySequence<byte> buffer, Span<byte> scratch, RequestMethod requestMethod, out HttpResponseHead head)
    {
        ArgumentNullException.ThrowIfNull(parser);
        _fields.Clear();
        _headLength = 0;
        Recorder recorder = new(_fields);
        HttpParseStatus status = parser.TryParseFieldLines(buffer, scratch, requestMethod, ref recorder, out head);
        if (status == HttpParseStatus.Complete)
        {
            _headLength = head.HeadLength;
            _statusLineLength = head._statusLineLength;
            _statusCode = head.StatusCode;
            _reasonLength = head.ReasonPhrase.Length;
            _http11 = head.Version == HttpVersion.Http11;
            if (_fields.UpgradeField >= 0 && head.StatusCode != 101)
            {
                _fields.Remove(_fields.UpgradeField);
                _fields.ForgetUpgrade();
            }
        }

        return status;
    }

    /// <summary>
    /// Writes "HTTP/1.1 NNN reason" (the backend's reason phrase kept) and the fields to keep of the response last parsed
    /// from <paramref name="buffer"/>, which must still hold it.
    /// </summary>
    public void WriteStatusAndFields(in ReadOnlySequence<byte> buffer, Span<byte> scratch, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (_headLength == 0)
        {
            throw new InvalidOperationException("WriteStatusAndFields forwards the head TryParse has just parsed completely; there is none.");
        }

        if (_fields.Error is not null)
        {
            throw new InvalidOperationException($"The response's fields cannot be forwarded ({_fields.Error.Reason}); check Error first.");
        }

        ReadOnlySpan<byte> head = buffer.FirstSpan;
        if (head.Length < _headLength)
        {
            buffer.Slice(0, _headLength).CopyTo(scratch);
            head = scratch;
        }

        head = head[.._headLength];
        Span<byte> span = output.GetSpan(_headLength + _fields.MaxGrowth + StatusLineBound);
        int written = 0;
        int runEnd = 0;
        if (_http11 && _statusLineLength == _reasonLength + 15)
        {
            runEnd = _statusLineLength; // already "HTTP/1.1 NNN reason\r\n"
        }
        else
        {
            "HTTP/1.1 "u8.CopyTo(span);
            span[9] = (byte)('0' + (_statusCode / 100));
            span[10] = (byte)('0' + (_statusCode / 10 % 10));
            span[11] = (byte)('0' + (_statusCode % 10));
            span[12] = HttpSyntax.Space;
            written = 13 + ForwardedFieldLines.Copy(head.Slice(13, _reasonLength), span[13..]);
            span[written++] = HttpSyntax.Cr;
            span[written++] = HttpSyntax.Lf;
        }

        written += _fields.Write(head, span[written..], 0, runEnd, -1, default);
        output.Advance(written);
    }

    /// <summary>The parser's view of the record: a struct, so the parse is specialised for it.</summary>
    private readonly struct Recorder(ForwardedFieldLines fields) : IHttpFieldLineSink
    {
        public void OnFieldLine(ReadOnlySpan<byte> line, int lineOffset, int nameLength, int valueStart, int valueLength) =>
            fields.Record(line, lineOffset, nameLength, valueStart, valueLength);
    }
}
