using System.Buffers;

namespace Fastsock.Http.ProxyProtocol;

/// <summary>Version 1: "PROXY TCP4|TCP6 src dst sport dport\r\n" or "PROXY UNKNOWN[ anything]\r\n", at most 107 bytes.</summary>
public static partial class ProxyHeaderParser
{
    private static ReadOnlySpan<byte> V1Prefix => "PROXY "u8;

    private static ProxyParseStatus ParseV1(in ReadOnlySequence<byte> buffer, out ProxyHeader header)
    {
        Span<byte> copy = stackalloc byte[MaxV1Length];
        int available = (int)Math.Min(buffer.Length, MaxV1Length);
        buffer.Slice(0, available).CopyTo(copy);
        ReadOnlySpan<byte> data = copy[..available];

        int prefix = Math.Min(available, V1Prefix.Length);
        if (!data[..prefix].SequenceEqual(V1Prefix[..prefix]))
        {
            return Fail(ProxyParseErrors.NotProxyProtocol, out header);
        }

        int lf = data.IndexOf((byte)'\n');
        int cr = data.IndexOf((byte)'\r');
        if (lf < 0)
        {
            if (cr >= 0 && cr < available - 1)
            {
                return Fail(ProxyParseErrors.BareLineBreak, out header);
            }

            header = default;
            return available == MaxV1Length ? Fail(ProxyParseErrors.LineTooLong, out header) : ProxyParseStatus.NeedMoreData;
        }

        if (cr != lf - 1)
        {
            // A lone LF, or a CR earlier in the line: the spec tolerates nothing but CRLF.
            return Fail(ProxyParseErrors.BareLineBreak, out header);
        }

        ProxyParseError? error = ParseV1Fields(data[V1Prefix.Length..cr], lf + 1, out header);
        return error is null ? ProxyParseStatus.Complete : Fail(error, out header);
    }

    /// <summary>Everything between "PROXY " and CRLF.</summary>
    private static ProxyParseError? ParseV1Fields(ReadOnlySpan<byte> line, int length, out ProxyHeader header)
    {
        header = default;
        int space = line.IndexOf((byte)' ');
        ReadOnlySpan<byte> protocol = space < 0 ? line : line[..space];
        if (protocol.SequenceEqual("UNKNOWN"u8))
        {
            // "the receiver must ignore anything presented before the CRLF is found".
            header = new ProxyHeader(1, ProxyCommand.Proxy, ProxyAddressFamily.Unspecified, ProxyTransport.Unspecified, length);
            return null;
        }

        bool v4 = protocol.SequenceEqual("TCP4"u8);
        if (!v4 && !protocol.SequenceEqual("TCP6"u8))
        {
            return ProxyParseErrors.UnknownProtocol;
        }

        ReadOnlySpan<byte> rest = space < 0 ? default : line[(space + 1)..];
        if (!NextField(ref rest, out ReadOnlySpan<byte> source) || !NextField(ref rest, out ReadOnlySpan<byte> destination)
            || !NextField(ref rest, out ReadOnlySpan<byte> sourcePort) || !NextField(ref rest, out ReadOnlySpan<byte> destinationPort)
            || !rest.IsEmpty)
        {
            return ProxyParseErrors.InvalidFields;
        }

        Span<byte> addresses = stackalloc byte[32];
        int size = v4 ? 4 : 16;
        bool valid = v4
            ? ProxyAddressText.TryParseIPv4(source, addresses[..4]) && ProxyAddressText.TryParseIPv4(destination, addresses[4..8])
            : ProxyAddressText.TryParseIPv6(source, addresses[..16]) && ProxyAddressText.TryParseIPv6(destination, addresses[16..]);
        if (!valid)
        {
            return ProxyParseErrors.InvalidAddress;
        }

        if (!ProxyAddressText.TryParsePort(sourcePort, out ushort sport) || !ProxyAddressText.TryParsePort(destinationPort, out ushort dport))
        {
            return ProxyParseErrors.InvalidPort;
        }

        ProxyAddressFamily family = v4 ? ProxyAddressFamily.InterNetwork : ProxyAddressFamily.InterNetworkV6;
        header = new ProxyHeader(1, family, ProxyTransport.Stream, length, addresses[..size], addresses[size..(2 * size)], sport, dport);
        return null;
    }

    /// <summary>Takes one non-empty field ending in exactly one space, or the last field of the line.</summary>
    private static bool NextField(ref ReadOnlySpan<byte> rest, out ReadOnlySpan<byte> field)
    {
        int space = rest.IndexOf((byte)' ');
        if (space < 0)
        {
            field = rest;
            rest = default;
        }
        else
        {
            field = rest[..space];
            rest = rest[(space + 1)..];
            if (rest.IsEmpty)
            {
                field = default; // a trailing space
            }
        }

        return !field.IsEmpty;
    }
}
