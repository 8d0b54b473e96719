using System.Buffers;
using System.IO.Pipelines;
using System.Numerics;
using System.Text;
using Fastsock.Transport;

namespace Fastsock.Http.Server;

/// <summary>
/// One request and its response on an <see cref="HttpServerLoop"/> connection. Instances are kept per worker thread
/// (<see cref="HttpExchangePool"/>): a connection takes one when a request arrives and gives it back when it waits for
/// the next, so an idle keep-alive connection holds none and nothing is allocated per request.
/// </summary>
/// <remarks>
/// The request's spans (<see cref="Path"/>, <see cref="Host"/>, header values...) are valid until
/// <see cref="IHttpApplication.ProcessRequestAsync"/> completes (the exchange itself serves another request after
/// that, so do not keep it); the head is copied aside before the body is read past
/// it, so they survive <see cref="ReadBodyAsync"/>. The response is written with <see cref="WriteResponse"/> (whole) or
/// <see cref="StartResponse"/>, <see cref="WriteHeader"/>, <see cref="WriteBody"/> (in parts); the loop adds the
/// Connection field the keep-alive decision needs and drops the body of a HEAD response.
/// </remarks>
public sealed partial class HttpExchange
{
    private static ReadOnlySpan<byte> Root => "/"u8;

    private HttpServerConnection _owner = null!; // set by Attach while a connection holds this exchange
    private PipeWriter _output = null!;
    private ReadOnlyMemory<byte> _head;
    private byte[]? _headCopy;
    private bool _headPinned;
    private int _methodStart;
    private int _methodLength;
    private int _targetStart;
    private int _targetLength;
    private int _pathStart;
    private int _pathLength; // 0: an absolute-form target with an empty path, served as "/"
    private int _queryStart; // -1: no '?'
    private int _queryLength;
    private int _hostStart; // -1: no Host field and no authority in the target
    private int _hostLength;
    private int _fieldsStart;
    private RequestMethod _method;
    private HttpVersion _version;
    private bool _requestKeepAlive;
    private long _contentLength;
    private bool _isChunked;
    private bool _expectContinue;

    internal HttpExchange()
    {
    }

    /// <summary>Gives the exchange to <paramref name="owner"/> for its next requests.</summary>
    internal void Attach(HttpServerConnection owner, PipeWriter output)
    {
        _owner = owner;
        _output = output;
    }

    /// <summary>Drops the connection's references before the exchange goes back to its pool.</summary>
    internal void Detach()
    {
        _owner = null!;
        _output = null!;
        _head = default;
        _headPinned = false;
    }

    /// <summary>The connection the request arrived on.</summary>
    public Connection Connection => _owner.Connection;

    /// <summary>The request method; <see cref="RequestMethod.Custom"/> for a token the parser does not know.</summary>
    public RequestMethod Method => _method;

    /// <summary>The method token as sent (for <see cref="RequestMethod.Custom"/>).</summary>
    public ReadOnlySpan<byte> MethodBytes => _head.Span.Slice(_methodStart, _methodLength);

    /// <summary>The request target exactly as sent, in whichever form.</summary>
    public ReadOnlySpan<byte> Target => _head.Span.Slice(_targetStart, _targetLength);

    /// <summary>
    /// The path without the query. For an absolute-form target (<c>http://host/a?b</c>) it is <c>/a</c>, as the
    /// origin-form would have it; an empty absolute path is <c>/</c>.
    /// </summary>
    public ReadOnlySpan<byte> Path => _pathLength == 0 ? Root : _head.Span.Slice(_pathStart, _pathLength);

    /// <summary>What follows the first '?', without it; empty when there is none.</summary>
    public ReadOnlySpan<byte> Query => _queryStart < 0 ? default : _head.Span.Slice(_queryStart, _queryLength);

    /// <summary>Whether the target has a '?' (an empty <see cref="Query"/> may still be present).</summary>
    public bool HasQuery => _queryStart >= 0;

    /// <summary>
    /// The host the request is for: the authority of an absolute-form target (RFC 9112 §3.2.2 says it wins over the
    /// Host field), else the Host field's value; empty when there is neither (HTTP/1.0 without Host).
    /// </summary>
    public ReadOnlySpan<byte> Host => _hostStart < 0 ? default : _head.Span.Slice(_hostStart, _hostLength);

    /// <summary>The HTTP version of the request.</summary>
    public HttpVersion Version => _version;

    /// <summary>The announced body length, or -1 when there is none or it is chunked.</summary>
    public long ContentLength => _contentLength;

    /// <summary>Whether the request body is sent with chunked transfer coding.</summary>
    public bool IsChunked => _isChunked;

    /// <summary>Whether the request has a body to read with <see cref="ReadBodyAsync"/>.</summary>
    public bool HasBody => _isChunked || _contentLength > 0;

    /// <summary>The value of the first field called <paramref name="name"/> (case-insensitive), OWS trimmed.</summary>
    /// <remarks>A linear scan of the head: cheap for the few fields of a usual request, not meant for many lookups.</remarks>
    public bool TryGetHeader(ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        var fields = _head.Span[_fieldsStart..];
        while (true)
        {
            int lf = fields.IndexOf(HttpSyntax.Lf);
            if (lf <= 1)
            {
                value = default;
                return false; // the empty line: end of the head
            }

            var line = fields[..(lf - 1)];
            int colon = line.IndexOf((byte)':');
            if (colon == name.Length && Ascii.EqualsIgnoreCase(line[..colon], name))
            {
                HttpSyntax.TrimOws(line, colon + 1, out int start, out int end);
                value = line[start..end];
                return true;
            }

            fields = fields[(lf + 1)..];
        }
    }

    /// <summary>
    /// Reads the next piece of the request body; an empty sequence means the body has ended (or there is none).
    /// The first call sends <c>100 Continue</c> when the client asked for it. The data is valid until the next call
    /// or the end of the request.
    /// </summary>
    /// <exception cref="BadHttpRequestException">The body is malformed or the client closed the connection inside it.</exception>
    /// <exception cref="InvalidOperationException">The response was started before the client was told to send the body.</exception>
    public ValueTask<ReadOnlySequence<byte>> ReadBodyAsync() => _owner.ReadBodyAsync();

    internal bool ExpectContinue => _expectContinue;

    /// <summary>Takes the request from a parsed head; false when its target or Host is unusable (400).</summary>
    internal bool Start(ref HttpRequestHead head, in HostFieldSink host, in ReadOnlySequence<byte> buffer, byte[] scratch)
    {
        ReadOnlyMemory<byte> first = buffer.First;
        bool inScratch = head.HeadLength > first.Length; // the parser copied a head spanning segments to the scratch
        _head = inScratch ? scratch.AsMemory(0, head.HeadLength) : first[..head.HeadLength];
        _headPinned = false;
        var data = _head.Span;
        data.Overlaps(head.MethodBytes, out _methodStart);
        _methodLength = head.MethodBytes.Length;
        data.Overlaps(head.Target, out _targetStart);
        _targetLength = head.Target.Length;
        _fieldsStart = _targetStart + _targetLength + data[(_targetStart + _targetLength)..].IndexOf(HttpSyntax.Lf) + 1;
        _method = head.Method;
        _version = head.Version;
        _requestKeepAlive = head.KeepAlive;
        _contentLength = head.ContentLength;
        _isChunked = head.IsChunked;
        _expectContinue = head.ExpectContinue && head.HasBody;
        _hostStart = host.Seen ? host.ValueOffset : -1;
        _hostLength = host.ValueLength;
        if (host.Seen && !RequestTarget.IsValidHost(data.Slice(host.ValueOffset, host.ValueLength)))
        {
            return false;
        }

        if (!SplitTarget(head.Target))
        {
            return false;
        }

        if (inScratch)
        {
            PinHead(); // the scratch is the worker's: another connection may parse into it while this request waits
        }

        ResetResponse();
        return true;
    }

    /// <summary>Copies the head into this connection's own buffer, before the input is advanced past it.</summary>
    internal void PinHead()
    {
        if (_headPinned)
        {
            return;
        }

        if (_headCopy is null || _headCopy.Length < _head.Length)
        {
            _headCopy = new byte[Math.Max(512, (int)BitOperations.RoundUpToPowerOf2((uint)_head.Length))];
        }

        _head.Span.CopyTo(_headCopy);
        _head = _headCopy.AsMemory(0, _head.Length);
        _headPinned = true;
    }

    /// <summary>Sets the path, query and (for absolute-form) host offsets from the target.</summary>
    private bool SplitTarget(ReadOnlySpan<byte> target)
    {
        int restStart = 0;
        if (target[0] != '/' && _method != RequestMethod.Connect && !(target.Length == 1 && target[0] == '*'))
        {
            if (!RequestTarget.TrySplitAbsolute(target, out int authorityStart, out int authorityLength, out restStart))
            {
                return false;
            }

            _hostStart = _targetStart + authorityStart;
            _hostLength = authorityLength;
        }

        var rest = target[restStart..];
        int query = rest.IndexOf((byte)'?');
        _pathStart = _targetStart + restStart;
        _pathLength = query < 0 ? rest.Length : query;
        _queryStart = query < 0 ? -1 : _pathStart + query + 1;
        _queryLength = query < 0 ? 0 : rest.Length - query - 1;
        return true;
    }
}
