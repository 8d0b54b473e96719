using System.Text;

namespace Fastsock.Http.Proxying;

/// <summary>The fields a proxy never forwards as received.</summary>
/// <remarks>
/// RFC 9110 §7.6.1 names Connection, Proxy-Connection, Keep-Alive, TE, Transfer-Encoding and Upgrade. Trailer and the
/// Proxy-Authenticate / Proxy-Authorization pair were hop-by-hop in RFC 2616 and still concern only the next hop (RFC 9110
/// §11.7): a gateway is not a proxy that authenticates on the backend's behalf, so the client's proxy credentials must not
/// leak to it. Content-Length is dropped too because the caller writes the framing it chose for the next hop.
/// </remarks>
internal static class HopByHopFields
{
    public static bool Contains(ReadOnlySpan<byte> name) => name.Length switch
    {
        2 => Ascii.EqualsIgnoreCase(name, "TE"u8),
        7 => Ascii.EqualsIgnoreCase(name, "Upgrade"u8) || Ascii.EqualsIgnoreCase(name, "Trailer"u8),
        10 => Ascii.EqualsIgnoreCase(name, "Connection"u8) || Ascii.EqualsIgnoreCase(name, "Keep-Alive"u8),
        14 => Ascii.EqualsIgnoreCase(name, "Content-Length"u8),
        16 => Ascii.EqualsIgnoreCase(name, "Proxy-Connection"u8),
        17 => Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8),
        18 => Ascii.EqualsIgnoreCase(name, "Proxy-Authenticate"u8),
        19 => Ascii.EqualsIgnoreCase(name, "Proxy-Authorization"u8),
        _ => false,
    };
}
