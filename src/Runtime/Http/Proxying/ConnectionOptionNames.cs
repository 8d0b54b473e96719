using System.Runtime.CompilerServices;
using System.Text;

namespace Fastsock.Http.Proxying;

/// <summary>
/// The field names a Connection header lists (RFC 9110 §7.6.1), kept in a fixed buffer so that collecting them
/// allocates nothing once the object exists: at most <see cref="MaxNames"/> distinct names and <see cref="Capacity"/>
/// bytes in all.
/// </summary>
/// <remarks>
/// Stored as length-prefixed entries; lookups are linear, which beats hashing at this size. Created only when a message
/// lists a name that must be removed (most list none, or only "close", "keep-alive" or "upgrade"), then kept with its
/// connection: every connection carries two sets of field lines (request and response), and a buffer inline in each
/// was about 0.5 KB per connection held for nothing.
/// </remarks>
internal sealed class ConnectionOptionNames
{
    public const int MaxNames = 16;
    public const int Capacity = 256;

    private Buffer _bytes;
    private int _used;
    private int _count;

    public int Count => _count;

    /// <summary>Forgets the names, for the next message; the bytes are left as they are.</summary>
    public void Clear()
    {
        _used = 0;
        _count = 0;
    }

    /// <summary>
    /// Adds the names a Connection field value lists to <paramref name="names"/> (created at the first name to keep);
    /// returns the error (400 for a request, 502 for a response) when one is not a token or the list is full. Empty
    /// elements, "close" and the fields removed anyway are skipped; <paramref name="listsUpgrade"/> is set when
    /// "upgrade" is among them (RFC 9110 §7.8: an upgrade is asked for).
    /// </summary>
    public static HttpParseError? AddListed(ref ConnectionOptionNames? names, ReadOnlySpan<byte> value, bool isRequest, ref bool listsUpgrade)
    {
        HttpParseError? error = null;
        while (HttpSyntax.NextListElement(ref value, out ReadOnlySpan<byte> option))
        {
            if (option.IsEmpty || HopByHopFields.Contains(option) || Ascii.EqualsIgnoreCase(option, "close"u8))
            {
                listsUpgrade |= option.Length == 7 && Ascii.EqualsIgnoreCase(option, "Upgrade"u8);
                continue;
            }

            if (!HttpSyntax.IsToken(option))
            {
                error ??= isRequest ? HttpResponseParseErrors.InvalidConnectionOptionInRequest : HttpResponseParseErrors.InvalidConnectionOption;
            }
            else if (!(names ??= new ConnectionOptionNames()).TryAdd(option))
            {
                error ??= isRequest ? HttpResponseParseErrors.TooManyConnectionOptionsInRequest : HttpResponseParseErrors.TooManyConnectionOptions;
            }
        }

        return error;
    }

    /// <summary>Adds <paramref name="name"/> unless present; false when the list is full.</summary>
    public bool TryAdd(ReadOnlySpan<byte> name)
    {
        if (Contains(name))
        {
            return true;
        }

        if (_count == MaxNames || _used + 1 + name.Length > Capacity)
        {
            return false;
        }

        Span<byte> bytes = _bytes;
        bytes[_used] = (byte)name.Length;
        name.CopyTo(bytes[(_used + 1)..]);
        _used += 1 + name.Length;
        _count++;
        return true;
    }

    public bool Contains(ReadOnlySpan<byte> name)
    {
        ReadOnlySpan<byte> bytes = _bytes;
        int position = 0;
        for (int i = 0; i < _count; i++)
        {
            int length = bytes[position];
            if (length == name.Length && Ascii.EqualsIgnoreCase(bytes.Slice(position + 1, length), name))
            {
                return true;
            }

            position += 1 + length;
        }

        return false;
    }

    [InlineArray(Capacity)]
    private struct Buffer
    {
        private byte _element;
    }
}
