using System.Buffers.Binary;

namespace Fastsock.Http.ProxyProtocol;

/// <summary>The textual addresses and ports of PROXY v1, parsed strictly and written canonically.</summary>
/// <remarks>
/// Stricter than <see cref="System.Net.IPAddress.TryParse(ReadOnlySpan{char}, out System.Net.IPAddress?)"/>, which accepts
/// brackets, ports, zone ids and octal-looking numbers, and allocates. The spec forbids leading zeros in IPv4 and ports;
/// IPv6 groups are 1-4 hex digits with at most one "::", and an IPv4 tail ("::ffff:192.0.2.1", as inet_ntop writes
/// mapped addresses) is accepted.
/// </remarks>
internal static class ProxyAddressText
{
    /// <summary>The longest text an IPv6 address can take: eight groups of four digits.</summary>
    public const int MaxIPv6Length = 39;

    public static bool TryParseIPv4(ReadOnlySpan<byte> text, Span<byte> address)
    {
        for (int part = 0; part < 4; part++)
        {
            int dot = part < 3 ? text.IndexOf((byte)'.') : text.Length;
            if (dot < 0 || !TryParseDecimal(text[..dot], 255, out int value))
            {
                return false;
            }

            address[part] = (byte)value;
            text = part < 3 ? text[(dot + 1)..] : default;
        }

        return true;
    }

    public static bool TryParsePort(ReadOnlySpan<byte> text, out ushort port)
    {
        bool ok = TryParseDecimal(text, ushort.MaxValue, out int value);
        port = (ushort)value;
        return ok;
    }

    public static bool TryParseIPv6(ReadOnlySpan<byte> text, Span<byte> address)
    {
        Span<ushort> groups = stackalloc ushort[8];
        int count = 0;
        int gap = -1; // where "::" stands, in groups
        int i = 0;
        if (text.StartsWith("::"u8))
        {
            gap = 0;
            i = 2;
        }

        while (i < text.Length)
        {
            int start = i;
            int value = 0;
            while (i < text.Length && i - start < 4 && char.IsAsciiHexDigit((char)text[i]))
            {
                value = (value << 4) | HexValue(text[i++]);
            }

            if (i == start || count == 8)
            {
                return false;
            }

            if (i < text.Length && text[i] == '.')
            {
                // The last 32 bits written as a dotted quad.
                if (count > 6 || !TryParseIPv4(text[start..], address[..4]))
                {
                    return false;
                }

                groups[count++] = BinaryPrimitives.ReadUInt16BigEndian(address);
                groups[count++] = BinaryPrimitives.ReadUInt16BigEndian(address[2..]);
                break;
            }

            groups[count++] = (ushort)value;
            if (i == text.Length)
            {
                break;
            }

            if (text[i] != ':' || ++i == text.Length)
            {
                return false; // a fifth digit, a stray character, or a trailing single colon
            }

            if (text[i] == ':')
            {
                if (gap >= 0)
                {
                    return false;
                }

                gap = count;
                i++;
            }
        }

        if (gap < 0 ? count != 8 : count > 7)
        {
            return false;
        }

        int zeros = 8 - count;
        for (int g = 0, source = 0; g < 8; g++)
        {
            bool inGap = gap >= 0 && g >= gap && g < gap + zeros;
            BinaryPrimitives.WriteUInt16BigEndian(address[(g * 2)..], inGap ? (ushort)0 : groups[source++]);
        }

        return true;
    }

    /// <summary>Dotted quad; returns the bytes written (at most 15).</summary>
    public static int FormatIPv4(ReadOnlySpan<byte> address, Span<byte> text)
    {
        int position = 0;
        for (int part = 0; part < 4; part++)
        {
            if (part > 0)
            {
                text[position++] = (byte)'.';
            }

            position += FormatDecimal(address[part], text[position..]);
        }

        return position;
    }

    /// <summary>RFC 5952 text: lowercase, no leading zeros, the longest run of two or more zero groups as "::".</summary>
    public static int FormatIPv6(ReadOnlySpan<byte> address, Span<byte> text)
    {
        int bestStart = -1, bestLength = 1;
        for (int g = 0; g < 8;)
        {
            int run = 0;
            while (g + run < 8 && address[(g + run) * 2] == 0 && address[((g + run) * 2) + 1] == 0)
            {
                run++;
            }

            if (run > bestLength)
            {
                bestStart = g;
                bestLength = run;
            }

            g += Math.Max(run, 1);
        }

        int position = 0;
        for (int g = 0; g < 8; g++)
        {
            if (g == bestStart)
            {
                text[position++] = (byte)':';
                text[position++] = (byte)':';
                g += bestLength - 1;
                continue;
            }

            if (g > 0 && g != bestStart + bestLength)
            {
                text[position++] = (byte)':';
            }

            int value = BinaryPrimitives.ReadUInt16BigEndian(address[(g * 2)..]);
            bool started = false;
            for (int shift = 12; shift >= 0; shift -= 4)
            {
                int digit = (value >> shift) & 0xF;
                if (started |= digit != 0 || shift == 0)
                {
                    text[position++] = (byte)"0123456789abcdef"[digit];
                }
            }
        }

        return position;
    }

    public static int FormatDecimal(int value, Span<byte> text)
    {
        int digits = value >= 10_000 ? 5 : value >= 1_000 ? 4 : value >= 100 ? 3 : value >= 10 ? 2 : 1;
        for (int i = digits - 1; i >= 0; i--)
        {
            text[i] = (byte)('0' + (value % 10));
            value /= 10;
        }

        return digits;
    }

    /// <summary>1-5 digits, no leading zero unless the number is 0, at most <paramref name="max"/>.</summary>
    private static bool TryParseDecimal(ReadOnlySpan<byte> text, int max, out int value)
    {
        value = 0;
        if (text.IsEmpty || text.Length > 5 || (text[0] == '0' && text.Length > 1))
        {
            return false;
        }

        foreach (byte b in text)
        {
            uint digit = (uint)(b - '0');
            if (digit > 9)
            {
                return false;
            }

            value = (value * 10) + (int)digit;
        }

        return value <= max;
    }

    private static int HexValue(byte b) => b <= '9' ? b - '0' : (b | 0x20) - 'a' + 10;
}
