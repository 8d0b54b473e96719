using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using Fastsock.Http.ProxyProtocol;

namespace Fastsock.Http.Proxying;

/// <summary>
/// A header sink that forwards a message's fields to the next hop without the hop-by-hop ones (RFC 9110 §7.6.1),
/// and, for requests, adds the client to X-Forwarded-For and sets X-Forwarded-Proto when absent.
/// </summary>
/// <remarks>
/// <para>
/// A field named in Connection may come before the Connection field itself, so forwarding takes two parses of the
/// same head with this one sink: the first collects (Connection options, X-Forwarded-* fields), <see cref="BeginWriting"/>
/// switches modes, the second writes. The parsers are deterministic and call a sink only for a complete head.
/// </para>
/// <code>
/// var fields = HttpHeaderForwarder.ForRequest(output, clientAddress);
/// parser.TryParse(input, scratch, ref fields, out head);     // collect
/// if (!fields.BeginWriting()) → answer fields.Error.StatusCode
/// HttpForwardingWriter.WriteRequestLine(output, head.MethodBytes, head.Target);
/// parser.TryParse(input, scratch, ref fields, out head);     // write
/// fields.WriteAddedFields();
/// framing (Content-Length or chunked) and HttpResponseWriter.WriteEndOfHeaders(output)
/// </code>
/// <para>
/// Multiple X-Forwarded-For lines are forwarded as they are and the client is appended to the last one, which is the
/// same list (RFC 9110 §5.3). Names listed in Connection are removed even if they are X-Forwarded-For or -Proto; fresh ones
/// are then added. At most 16 distinct Connection options (256 bytes) are accepted; more is an error, 400 for a request
/// and 502 for a response. The field names keep the case they were received in.
/// </para>
/// </remarks>
public struct HttpHeaderForwarder : IHttpHeaderSink
{
    private const int MaxClientAddressLength = 40;

    private readonly IBufferWriter<byte> _output;
    private readonly bool _isRequest;
    private ConnectionOptionNames _connectionOptions;
    private ClientAddressText _client;
    private int _clientLength;
    private int _forwardedForCount;
    private int _forwardedForSeen;
    private bool _hasForwardedProto;
    private bool _writing;
    private HttpParseError? _error;

    private HttpHeaderForwarder(IBufferWriter<byte> output, bool isRequest)
    {
        ArgumentNullException.ThrowIfNull(output);
        _output = output;
        _isRequest = isRequest;
    }

    /// <summary>Why the collected fields cannot be forwarded; null when they can.</summary>
    public readonly HttpParseError? Error => _error;

    /// <summary>A forwarder for a request from the client at <paramref name="clientAddress"/> (4 or 16 bytes, network order).</summary>
    /// <remarks>Takes <see cref="ProxyHeader.SourceAddress"/> or a socket's address bytes directly; IPv4-mapped IPv6 is written as IPv4.</remarks>
    public static HttpHeaderForwarder ForRequest(IBufferWriter<byte> output, ReadOnlySpan<byte> clientAddress)
    {
        if (clientAddress.Length is not (4 or 16))
        {
            throw new ArgumentException($"A client address has 4 or 16 bytes, not {clientAddress.Length}.", nameof(clientAddress));
        }

        HttpHeaderForwarder forwarder = new(output, isRequest: true);
        forwarder._clientLength = FormatClient(clientAddress, forwarder._client);
        return forwarder;
    }

    /// <summary>The client as X-Forwarded-For writes it: IPv4 dotted, IPv6 canonical, IPv4-mapped IPv6 as IPv4.</summary>
    internal static int FormatClient(ReadOnlySpan<byte> clientAddress, Span<byte> text)
    {
        bool mapped = clientAddress.Length == 16 && clientAddress[..10].IndexOfAnyExcept((byte)0) < 0
            && clientAddress[10] == 0xFF && clientAddress[11] == 0xFF;
        return clientAddress.Length == 4 ? ProxyAddressText.FormatIPv4(clientAddress, text)
            : mapped ? ProxyAddressText.FormatIPv4(clientAddress[12..], text)
            : ProxyAddressText.FormatIPv6(clientAddress, text);
    }

    /// <summary>A forwarder for a request from <paramref name="client"/>; allocation-free like the span overload.</summary>
    public static HttpHeaderForwarder ForRequest(IBufferWriter<byte> output, IPAddress client)
    {
        ArgumentNullException.ThrowIfNull(client);
        Span<byte> bytes = stackalloc byte[16];
        client.TryWriteBytes(bytes, out int written);
        return ForRequest(output, bytes[..written]);
    }

    /// <summary>A forwarder for a backend's response: removes hop-by-hop fields, adds nothing.</summary>
    public static HttpHeaderForwarder ForResponse(IBufferWriter<byte> output) => new(output, isRequest: false);

    /// <inheritdoc/>
    public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        if (_writing)
        {
            Write(name, value);
        }
        else
        {
            Collect(name, value);
        }
    }

    /// <summary>Ends the collecting parse; false (with <see cref="Error"/>) when the message cannot be forwarded.</summary>
    public bool BeginWriting()
    {
        if (_error is not null)
        {
            return false;
        }

        if (_connectionOptions.Contains("X-Forwarded-For"u8))
        {
            _forwardedForCount = 0;
        }

        _hasForwardedProto &= !_connectionOptions.Contains("X-Forwarded-Proto"u8);
        _writing = true;
        _forwardedForSeen = 0;
        return true;
    }

    /// <summary>After the writing parse: X-Forwarded-For when the request had none, X-Forwarded-Proto: http when absent.</summary>
    public readonly void WriteAddedFields()
    {
        if (!_writing)
        {
            throw new InvalidOperationException("Call BeginWriting and parse the head a second time before adding fields.");
        }

        if (!_isRequest)
        {
            return;
        }

        if (_forwardedForCount == 0)
        {
            WriteLine("X-Forwarded-For"u8, default, ClientAddress);
        }

        if (!_hasForwardedProto)
        {
            _output.Write("X-Forwarded-Proto: http\r\n"u8);
        }
    }

    [UnscopedRef]
    private readonly ReadOnlySpan<byte> ClientAddress => ((ReadOnlySpan<byte>)_client)[.._clientLength];

    private void Collect(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        if (name.Length == 10 && Ascii.EqualsIgnoreCase(name, "Connection"u8))
        {
            HttpParseError? error = _connectionOptions.AddListed(value, _isRequest);
            _error ??= error;
        }
        else if (_isRequest && IsForwardedFor(name))
        {
            _forwardedForCount++;
        }
        else if (_isRequest && name.Length == 17 && Ascii.EqualsIgnoreCase(name, "X-Forwarded-Proto"u8))
        {
            _hasForwardedProto = true;
        }
    }

    private void Write(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        if (HopByHopFields.Contains(name) || (_connectionOptions.Count != 0 && _connectionOptions.Contains(name)))
        {
            return;
        }

        if (_isRequest && IsForwardedFor(name) && ++_forwardedForSeen == _forwardedForCount)
        {
            WriteLine(name, value, ClientAddress);
            return;
        }

        WriteLine(name, value, default);
    }

    /// <summary>"name: value[, appended]\r\n"; the parser has already validated name and value.</summary>
    private readonly void WriteLine(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, ReadOnlySpan<byte> appended)
    {
        bool separate = !value.IsEmpty && !appended.IsEmpty;
        int length = name.Length + 2 + value.Length + (separate ? 2 : 0) + appended.Length + 2;
        Span<byte> span = _output.GetSpan(length);
        name.CopyTo(span);
        int position = name.Length;
        span[position++] = (byte)':';
        span[position++] = (byte)' ';
        value.CopyTo(span[position..]);
        position += value.Length;
        if (separate)
        {
            span[position++] = (byte)',';
            span[position++] = (byte)' ';
        }

        appended.CopyTo(span[position..]);
        position += appended.Length;
        span[position++] = HttpSyntax.Cr;
        span[position++] = HttpSyntax.Lf;
        _output.Advance(position);
    }

    private static bool IsForwardedFor(ReadOnlySpan<byte> name) =>
        name.Length == 15 && Ascii.EqualsIgnoreCase(name, "X-Forwarded-For"u8);

    [InlineArray(MaxClientAddressLength)]
    private struct ClientAddressText
    {
        private byte _element;
    }
}
