using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Runtime.CompilerServices;

namespace Fastsock.Http.ProxyProtocol;

/// <summary>A parsed PROXY protocol header (v1 or v2): who the relayed client is and whom it connected to.</summary>
/// <remarks>
/// Addresses and ports are kept inline as raw bytes, so parsing allocates nothing; <see cref="Source"/> and
/// <see cref="Destination"/> build an <see cref="IPEndPoint"/> only when asked. When <see cref="HasAddresses"/> is
/// false (LOCAL, v1 UNKNOWN, v2 AF_UNSPEC or AF_UNIX) the spec says to use the connection's real endpoints.
/// </remarks>
public readonly struct ProxyHeader
{
    private readonly AddressBytes _source;
    private readonly AddressBytes _destination;

    internal ProxyHeader(int version, ProxyCommand command, ProxyAddressFamily family, ProxyTransport transport, int length)
    {
        Version = version;
        Command = command;
        Family = family;
        Transport = transport;
        Length = length;
    }

    internal ProxyHeader(
        int version, ProxyAddressFamily family, ProxyTransport transport, int length,
        ReadOnlySpan<byte> source, ReadOnlySpan<byte> destination, ushort sourcePort, ushort destinationPort)
        : this(version, ProxyCommand.Proxy, family, transport, length)
    {
        source.CopyTo(_source);
        destination.CopyTo(_destination);
        SourcePort = sourcePort;
        DestinationPort = destinationPort;
    }

    internal ProxyHeader(ProxyParseError error) => Error = error;

    /// <summary>1 for the text format, 2 for the binary one; 0 when the parse did not complete.</summary>
    public int Version { get; }

    /// <summary>Whether the connection is relayed for a client (<see cref="ProxyCommand.Proxy"/>) or opened by the proxy itself (health checks).</summary>
    public ProxyCommand Command { get; }

    /// <summary>The family of the addresses carried; unspecified when none are.</summary>
    public ProxyAddressFamily Family { get; }

    /// <summary>The protocol of the relayed connection (stream or datagram).</summary>
    public ProxyTransport Transport { get; }

    /// <summary>Bytes the header took on the wire, CRLF or TLVs included.</summary>
    public int Length { get; }

    /// <summary>Why the parse failed; null unless the status was <see cref="ProxyParseStatus.Error"/>.</summary>
    public ProxyParseError? Error { get; }

    /// <summary>Whether the header carries IP endpoints the receiver should use instead of the real ones.</summary>
    public bool HasAddresses =>
        Command == ProxyCommand.Proxy && Family is ProxyAddressFamily.InterNetwork or ProxyAddressFamily.InterNetworkV6;

    /// <summary>The client's port; 0 without <see cref="HasAddresses"/>.</summary>
    public ushort SourcePort { get; }

    /// <summary>The port the client connected to on the proxy; 0 without <see cref="HasAddresses"/>.</summary>
    public ushort DestinationPort { get; }

    /// <summary>The client's address in network order: 4 or 16 bytes, empty without <see cref="HasAddresses"/>.</summary>
    [UnscopedRef]
    public ReadOnlySpan<byte> SourceAddress => ((ReadOnlySpan<byte>)_source)[..AddressLength];

    /// <summary>The address the client connected to, in network order: 4 or 16 bytes, empty without <see cref="HasAddresses"/>.</summary>
    [UnscopedRef]
    public ReadOnlySpan<byte> DestinationAddress => ((ReadOnlySpan<byte>)_destination)[..AddressLength];

    /// <summary>The client's endpoint, built (allocated) on each call; null without <see cref="HasAddresses"/>.</summary>
    public IPEndPoint? Source => HasAddresses ? new IPEndPoint(new IPAddress(SourceAddress), SourcePort) : null;

    /// <summary>The endpoint the client connected to, built (allocated) on each call; null without <see cref="HasAddresses"/>.</summary>
    public IPEndPoint? Destination => HasAddresses ? new IPEndPoint(new IPAddress(DestinationAddress), DestinationPort) : null;

    private int AddressLength => !HasAddresses ? 0 : Family == ProxyAddressFamily.InterNetwork ? 4 : 16;

    /// <inheritdoc/>
    public override string ToString() => Error is not null ? $"Error: {Error.Reason}"
        : HasAddresses ? $"PROXY v{Version} {Transport} {Source} -> {Destination}"
        : $"PROXY v{Version} {Command} {Family}";

    [InlineArray(16)]
    private struct AddressBytes
    {
        private byte _element;
    }
}
