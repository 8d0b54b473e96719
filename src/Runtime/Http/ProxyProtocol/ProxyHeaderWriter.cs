using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Fastsock.Http.ProxyProtocol;

/// <summary>Writes PROXY protocol headers for a backend connection, without allocating.</summary>
/// <remarks>
/// When the two endpoints differ in family, the IPv4 one is sent as an IPv4-mapped IPv6 address (::ffff:a.b.c.d)
/// and the header is an IPv6 one, as HAProxy does. Scope ids are not part of the protocol and are dropped.
/// </remarks>
public static class ProxyHeaderWriter
{
    /// <summary>The longest v2 header this writer produces: fixed part and two IPv6 addresses with ports.</summary>
    private const int MaxV2Length = ProxyHeaderParser.V2FixedLength + 36;

    /// <summary>"PROXY TCP4 src dst sport dport\r\n" (or TCP6).</summary>
    public static void WriteV1(IBufferWriter<byte> writer, IPEndPoint source, IPEndPoint destination)
    {
        ArgumentNullException.ThrowIfNull(writer);
        Span<byte> addresses = stackalloc byte[32];
        int size = GetAddresses(source, destination, addresses);

        Span<byte> span = writer.GetSpan(ProxyHeaderParser.MaxV1Length);
        int position = Put(span, 0, size == 4 ? "PROXY TCP4 "u8 : "PROXY TCP6 "u8);
        position += Format(addresses[..size], span[position..]);
        span[position++] = (byte)' ';
        position += Format(addresses[size..(2 * size)], span[position..]);
        span[position++] = (byte)' ';
        position += ProxyAddressText.FormatDecimal(source.Port, span[position..]);
        span[position++] = (byte)' ';
        position += ProxyAddressText.FormatDecimal(destination.Port, span[position..]);
        position = Put(span, position, "\r\n"u8);
        writer.Advance(position);
    }

    /// <summary>"PROXY UNKNOWN\r\n": the receiver is to use the connection's real endpoints.</summary>
    public static void WriteV1Unknown(IBufferWriter<byte> writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write("PROXY UNKNOWN\r\n"u8);
    }

    /// <summary>A v2 PROXY command for a TCP connection from <paramref name="source"/> to <paramref name="destination"/>, without TLVs.</summary>
    public static void WriteV2(IBufferWriter<byte> writer, IPEndPoint source, IPEndPoint destination)
    {
        ArgumentNullException.ThrowIfNull(writer);
        Span<byte> addresses = stackalloc byte[32];
        int size = GetAddresses(source, destination, addresses);
        int blockLength = (2 * size) + 4;

        Span<byte> span = writer.GetSpan(MaxV2Length);
        int position = Put(span, 0, ProxyHeaderParser.V2Signature);
        span[position++] = 0x21; // version 2, PROXY
        span[position++] = size == 4 ? (byte)0x11 : (byte)0x21; // AF_INET or AF_INET6, STREAM
        BinaryPrimitives.WriteUInt16BigEndian(span[position..], (ushort)blockLength);
        position += 2;
        position = Put(span, position, addresses[..(2 * size)]);
        BinaryPrimitives.WriteUInt16BigEndian(span[position..], (ushort)source.Port);
        BinaryPrimitives.WriteUInt16BigEndian(span[(position + 2)..], (ushort)destination.Port);
        writer.Advance(position + 4);
    }

    /// <summary>A v2 LOCAL command (health checks): no addresses, the receiver uses the real endpoints.</summary>
    public static void WriteV2Local(IBufferWriter<byte> writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        Span<byte> span = writer.GetSpan(ProxyHeaderParser.V2FixedLength);
        int position = Put(span, 0, ProxyHeaderParser.V2Signature);
        span[position++] = 0x20; // version 2, LOCAL
        span[position++] = 0x00; // AF_UNSPEC, UNSPEC
        span[position++] = 0;
        span[position++] = 0;
        writer.Advance(position);
    }

    /// <summary>Source then destination address into <paramref name="addresses"/>; returns the size of one (4 or 16).</summary>
    private static int GetAddresses(IPEndPoint source, IPEndPoint destination, Span<byte> addresses)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(destination);
        bool v6 = IsV6(source.Address, nameof(source)) | IsV6(destination.Address, nameof(destination));
        int size = v6 ? 16 : 4;
        Write(source.Address, addresses[..size]);
        Write(destination.Address, addresses[size..(2 * size)]);
        return size;
    }

    private static bool IsV6(IPAddress address, string parameter) => address.AddressFamily switch
    {
        AddressFamily.InterNetwork => false,
        AddressFamily.InterNetworkV6 => true,
        _ => throw new ArgumentException($"The PROXY protocol carries IPv4 and IPv6 endpoints only, not {address.AddressFamily}.", parameter),
    };

    private static void Write(IPAddress address, Span<byte> destination)
    {
        if (destination.Length == 16 && address.AddressFamily == AddressFamily.InterNetwork)
        {
            destination[..10].Clear();
            destination[10] = 0xFF;
            destination[11] = 0xFF;
            destination = destination[12..];
        }

        address.TryWriteBytes(destination, out _);
    }

    private static int Format(ReadOnlySpan<byte> address, Span<byte> text) =>
        address.Length == 4 ? ProxyAddressText.FormatIPv4(address, text) : ProxyAddressText.FormatIPv6(address, text);

    private static int Put(Span<byte> span, int position, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(span[position..]);
        return position + bytes.Length;
    }
}
