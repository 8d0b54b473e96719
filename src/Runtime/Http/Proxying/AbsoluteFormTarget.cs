using System.Text;

namespace Fastsock.Http.Proxying;

/// <summary>
/// An absolute-form request target (<c>http://host:port/path?query</c>), as a client sends it to a proxy: where its
/// authority and its origin-form part are, so that the next hop gets <c>/path?query</c> and <c>Host: host:port</c>
/// (RFC 9112 §3.2.2).
/// </summary>
internal static class AbsoluteFormTarget
{
    /// <summary>
    /// When <paramref name="target"/> is in absolute-form, sets the offsets of its authority and of its origin-form part
    /// (the rest; empty or "?query" stands for "/"); leaves them as they are for the other forms. The parser has already
    /// checked the form against the method. Only http and https URIs name an origin server, and an authority with
    /// userinfo is refused as RFC 9110 §4.2.4 advises.
    /// </summary>
    /// <returns>Why the target cannot be forwarded (400); null when it can.</returns>
    public static HttpParseError? Read(
        RequestMethod method, ReadOnlySpan<byte> target, ref int authorityOffset, ref int authorityLength, ref int originOffset)
    {
        if (method == RequestMethod.Connect || target[0] == (byte)'/' || (target.Length == 1 && target[0] == (byte)'*'))
        {
            return null;
        }

        int schemeEnd = target.IndexOf("://"u8);
        ReadOnlySpan<byte> scheme = target[..schemeEnd];
        if (!Ascii.EqualsIgnoreCase(scheme, "http"u8) && !Ascii.EqualsIgnoreCase(scheme, "https"u8))
        {
            return HttpResponseParseErrors.UnsupportedTargetScheme;
        }

        int start = schemeEnd + 3;
        ReadOnlySpan<byte> rest = target[start..];
        int length = rest.IndexOfAny((byte)'/', (byte)'?', (byte)'#');
        if (length < 0)
        {
            length = rest.Length;
        }

        ReadOnlySpan<byte> authority = rest[..length];
        if (authority.IsEmpty || authority.Contains((byte)'@') || authority[0] == (byte)':' || rest[length..].Contains((byte)'#'))
        {
            return HttpResponseParseErrors.InvalidTargetAuthority;
        }

        authorityOffset = start;
        authorityLength = length;
        originOffset = start + length;
        return null;
    }
}
