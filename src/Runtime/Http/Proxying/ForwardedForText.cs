using Fastsock.Http.ProxyProtocol;

namespace Fastsock.Http.Proxying;

/// <summary>The client as X-Forwarded-For writes it: IPv4 dotted, IPv6 canonical, IPv4-mapped IPv6 as IPv4.</summary>
internal static class ForwardedForText
{
    /// <summary>Formats <paramref name="clientAddress"/> (4 or 16 bytes, network order) into <paramref name="text"/> (64 bytes are enough).</summary>
    /// <returns>The bytes written.</returns>
    public static int Format(ReadOnlySpan<byte> clientAddress, Span<byte> text)
    {
        bool mapped = clientAddress.Length == 16 && clientAddress[..10].IndexOfAnyExcept((byte)0) < 0
            && clientAddress[10] == 0xFF && clientAddress[11] == 0xFF;
        return clientAddress.Length == 4 ? ProxyAddressText.FormatIPv4(clientAddress, text)
            : mapped ? ProxyAddressText.FormatIPv4(clientAddress[12..], text)
            : ProxyAddressText.FormatIPv6(clientAddress, text);
    }
}
