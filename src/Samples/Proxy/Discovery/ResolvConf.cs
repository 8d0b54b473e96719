using System.Net;

namespace Fastsock.Samples.Proxy.Discovery;

/// <summary>
/// The nameservers of resolv.conf(5): its <c>nameserver ADDRESS</c> lines, in order, on port 53. Read here rather than
/// through the library's own discovery, which falls back to public resolvers when it finds none: a proxy must ask only
/// the nameservers its host was given.
/// </summary>
internal static class ResolvConf
{
    public const string DefaultPath = "/etc/resolv.conf";

    public static IReadOnlyList<IPEndPoint> Nameservers(string path = DefaultPath)
    {
        var nameservers = new List<IPEndPoint>();
        if (!File.Exists(path))
        {
            return nameservers;
        }

        foreach (var line in File.ReadLines(path))
        {
            var fields = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length >= 2 && fields[0] == "nameserver" && IPAddress.TryParse(StripZone(fields[1]), out var address))
            {
                nameservers.Add(new IPEndPoint(address, 53));
            }
        }

        return nameservers;
    }

    // fe80::1%eth0: the zone names an interface of this host; without it the address is still usable on most setups.
    private static string StripZone(string text) => text.IndexOf('%', StringComparison.Ordinal) is int at and >= 0 ? text[..at] : text;
}
