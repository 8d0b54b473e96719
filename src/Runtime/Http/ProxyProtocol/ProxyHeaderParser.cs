using System.Buffers;
using System.Buffers.Binary;

namespace Fastsock.Http.ProxyProtocol;

/// <summary>
/// Parses the PROXY protocol header (haproxy's proxy-protocol.txt, versions 1 and 2) at the start of a connection,
/// telling the versions apart by their first bytes. Stateless and allocation-free.
/// </summary>
/// <remarks>
/// A prefix of a header is <see cref="ProxyParseStatus.NeedMoreData"/> only while it can still become a valid one:
/// a wrong signature, version, command or family is reported as soon as its byte arrives, as the spec recommends.
/// The spec also says a receiver must be configured to expect the header, never guess: call this only on listeners
/// that trust their peers to send it.
/// </remarks>
public static partial class ProxyHeaderParser
{
    /// <summary>The longest v1 line, CRLF included ("PROXY UNKNOWN" with two full IPv6 addresses and ports).</summary>
    public const int MaxV1Length = 107;

    /// <summary>The fixed part of a v2 header: signature, version and command, family and transport, length.</summary>
    internal const int V2FixedLength = 16;

    /// <summary>\r\n\r\n\0\r\nQUIT\n: starts every v2 header.</summary>
    internal static ReadOnlySpan<byte> V2Signature => [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    /// <summary>Parses the header at the start of <paramref name="buffer"/>.</summary>
    /// <param name="buffer">The first bytes received on the connection.</param>
    /// <param name="header">On <see cref="ProxyParseStatus.Complete"/> the header; on error, <see cref="ProxyHeader.Error"/>.</param>
    /// <param name="consumed">Just after the header on completion; otherwise the start of <paramref name="buffer"/>.</param>
    public static ProxyParseStatus TryParse(in ReadOnlySequence<byte> buffer, out ProxyHeader header, out SequencePosition consumed)
    {
        consumed = buffer.Start;
        header = default;
        if (buffer.IsEmpty)
        {
            return ProxyParseStatus.NeedMoreData;
        }

        Span<byte> first = stackalloc byte[1];
        buffer.Slice(0, 1).CopyTo(first);
        ProxyParseStatus status = first[0] switch
        {
            (byte)'P' => ParseV1(buffer, out header),
            0x0D => ParseV2(buffer, out header),
            _ => Fail(ProxyParseErrors.NotProxyProtocol, out header),
        };

        if (status == ProxyParseStatus.Complete)
        {
            consumed = buffer.GetPosition(header.Length);
        }

        return status;
    }

    private static ProxyParseStatus ParseV2(in ReadOnlySequence<byte> buffer, out ProxyHeader header)
    {
        Span<byte> head = stackalloc byte[V2FixedLength];
        int available = (int)Math.Min(buffer.Length, V2FixedLength);
        buffer.Slice(0, available).CopyTo(head);

        int signature = Math.Min(available, V2Signature.Length);
        if (!head[..signature].SequenceEqual(V2Signature[..signature]))
        {
            return Fail(ProxyParseErrors.NotProxyProtocol, out header);
        }

        if (available > 12)
        {
            if (head[12] >> 4 != 2)
            {
                return Fail(ProxyParseErrors.UnsupportedVersion, out header);
            }

            if ((head[12] & 0xF) > 1)
            {
                return Fail(ProxyParseErrors.UnknownCommand, out header);
            }
        }

        bool local = (head[12] & 0xF) == 0;
        int family = head[13] >> 4;
        int transport = head[13] & 0xF;

        // LOCAL discards the protocol block "including the family which is ignored", so only PROXY checks it.
        if (available > 13 && !local && (family > 3 || transport > 2))
        {
            return Fail(ProxyParseErrors.UnknownFamily, out header);
        }

        if (available < V2FixedLength)
        {
            header = default;
            return ProxyParseStatus.NeedMoreData;
        }

        int length = BinaryPrimitives.ReadUInt16BigEndian(head[14..]);
        int total = V2FixedLength + length;
        if (buffer.Length < total)
        {
            header = default;
            return ProxyParseStatus.NeedMoreData;
        }

        if (local || family == 0 || transport == 0)
        {
            // The receiver must skip the announced length whatever it holds, and ignore any addresses.
            header = new ProxyHeader(2, local ? ProxyCommand.Local : ProxyCommand.Proxy, ProxyAddressFamily.Unspecified, ProxyTransport.Unspecified, total);
            return ProxyParseStatus.Complete;
        }

        int addressLength = family switch { 1 => 12, 2 => 36, _ => 216 };
        if (length < addressLength)
        {
            return Fail(ProxyParseErrors.AddressBlockTooShort, out header);
        }

        if (!TlvsFit(buffer.Slice(V2FixedLength + addressLength, length - addressLength)))
        {
            return Fail(ProxyParseErrors.InvalidTlv, out header);
        }

        if (family == 3)
        {
            header = new ProxyHeader(2, ProxyCommand.Proxy, ProxyAddressFamily.Unix, (ProxyTransport)transport, total);
            return ProxyParseStatus.Complete;
        }

        Span<byte> addresses = stackalloc byte[36];
        addresses = addresses[..addressLength];
        buffer.Slice(V2FixedLength, addressLength).CopyTo(addresses);
        int size = family == 1 ? 4 : 16;
        header = new ProxyHeader(
            2, (ProxyAddressFamily)family, (ProxyTransport)transport, total,
            addresses[..size], addresses[size..(2 * size)],
            BinaryPrimitives.ReadUInt16BigEndian(addresses[(2 * size)..]),
            BinaryPrimitives.ReadUInt16BigEndian(addresses[((2 * size) + 2)..]));
        return ProxyParseStatus.Complete;
    }

    /// <summary>Walks the type-length-value vectors after the addresses: each must fit in what the header announced.</summary>
    private static bool TlvsFit(ReadOnlySequence<byte> tlvs)
    {
        SequenceReader<byte> reader = new(tlvs);
        while (!reader.End)
        {
            if (reader.Remaining < 3)
            {
                return false;
            }

            reader.Advance(1);
            reader.TryReadBigEndian(out short length);
            if (reader.Remaining < (ushort)length)
            {
                return false;
            }

            reader.Advance((ushort)length);
        }

        return true;
    }

    private static ProxyParseStatus Fail(ProxyParseError error, out ProxyHeader header)
    {
        header = new ProxyHeader(error);
        return ProxyParseStatus.Error;
    }
}
