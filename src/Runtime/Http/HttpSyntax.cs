using System.Buffers;

namespace Fastsock.Http;

/// <summary>The character classes of RFC 9110 §5.6, as vectorised searches.</summary>
internal static class HttpSyntax
{
    public const byte Space = (byte)' ';
    public const byte Tab = (byte)'\t';
    public const byte Cr = (byte)'\r';
    public const byte Lf = (byte)'\n';

    /// <summary>tchar: what method names and field names are made of.</summary>
    public static readonly SearchValues<byte> Token = SearchValues.Create(
        "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"u8);

    /// <summary>Bytes a field value must not contain: CTLs except HTAB, and DEL (obs-text 0x80-0xFF is allowed).</summary>
    public static readonly SearchValues<byte> InvalidFieldValue = SearchValues.Create(
        "\0\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u000A\u000B\u000C\u000D\u000E\u000F\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001A\u001B\u001C\u001D\u001E\u001F\u007F"u8);

    public static bool IsToken(ReadOnlySpan<byte> value) => !value.IsEmpty && !value.ContainsAnyExcept(Token);

    public static bool IsValidFieldValue(ReadOnlySpan<byte> value) => !value.ContainsAny(InvalidFieldValue);

    public static bool IsWhitespace(byte b) => b is Space or Tab;

    /// <summary>Strips optional whitespace (SP / HTAB) from both ends.</summary>
    public static ReadOnlySpan<byte> TrimOws(ReadOnlySpan<byte> value)
    {
        int start = 0;
        while (start < value.Length && IsWhitespace(value[start]))
        {
            start++;
        }

        int end = value.Length;
        while (end > start && IsWhitespace(value[end - 1]))
        {
            end--;
        }

        return value[start..end];
    }

    /// <summary>The bounds of <c>line[from..]</c> without optional whitespace at either end, as offsets into <paramref name="line"/>.</summary>
    public static void TrimOws(ReadOnlySpan<byte> line, int from, out int start, out int end)
    {
        start = from;
        while (start < line.Length && IsWhitespace(line[start]))
        {
            start++;
        }

        end = line.Length;
        while (end > start && IsWhitespace(line[end - 1]))
        {
            end--;
        }
    }

    /// <summary>Takes the next element of a comma-separated list (RFC 9110 §5.6.1), trimmed; empty elements are returned as empty.</summary>
    public static bool NextListElement(ref ReadOnlySpan<byte> list, out ReadOnlySpan<byte> element)
    {
        if (list.IsEmpty)
        {
            element = default;
            return false;
        }

        int comma = list.IndexOf((byte)',');
        if (comma < 0)
        {
            element = TrimOws(list);
            list = default;
        }
        else
        {
            element = TrimOws(list[..comma]);
            list = list[(comma + 1)..];
        }

        return true;
    }
}
