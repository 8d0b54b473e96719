using System.Buffers;
using System.Text;

namespace Fastsock.Http.Server;

/// <summary>The pieces of an absolute-form target (RFC 9112 §3.2.2) and the syntax of a Host value (RFC 9110 §7.2).</summary>
internal static class RequestTarget
{
    // uri-host [ ":" port ]: reg-name (unreserved, pct-encoded, sub-delims), IP-literal in brackets, digits.
    private static readonly SearchValues<byte> s_hostBytes = SearchValues.Create(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=%:[]"u8);

    /// <summary>Whether <paramref name="host"/> has only the bytes a uri-host and port can hold.</summary>
    public static bool IsValidHost(ReadOnlySpan<byte> host) => !host.ContainsAnyExcept(s_hostBytes);

    /// <summary>
    /// Splits <c>http://authority/path?query</c> into where the authority starts, its length, and where the rest
    /// (path and query, possibly empty) starts. False for another scheme, an empty or invalid authority, or userinfo,
    /// which RFC 9110 §4.2.4 tells recipients to treat as an error.
    /// </summary>
    public static bool TrySplitAbsolute(ReadOnlySpan<byte> target, out int authorityStart, out int authorityLength, out int restStart)
    {
        authorityStart = authorityLength = restStart = 0;
        int schemeEnd = target.IndexOf("://"u8);
        if (schemeEnd < 0)
        {
            return false;
        }

        var scheme = target[..schemeEnd];
        if (!Ascii.EqualsIgnoreCase(scheme, "http"u8) && !Ascii.EqualsIgnoreCase(scheme, "https"u8))
        {
            return false;
        }

        authorityStart = schemeEnd + 3;
        var rest = target[authorityStart..];
        int end = rest.IndexOfAny((byte)'/', (byte)'?');
        authorityLength = end < 0 ? rest.Length : end;
        restStart = authorityStart + authorityLength;
        var authority = rest[..authorityLength];
        return !authority.IsEmpty && authority.IndexOf((byte)'@') < 0 && IsValidHost(authority);
    }
}
