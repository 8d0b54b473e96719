using System.Globalization;
using System.Net;

namespace Fastsock.Tests.Support;

/// <summary>
/// Whether this process still holds a given TCP socket: its inode from /proc/net/tcp (while the connection is listed
/// there), then the descriptors in /proc/self/fd that point at it. Shows when an in-process forwarder has closed one of
/// its sockets, which nothing else outside it can see once the connection is gone from the kernel's tables.
/// </summary>
internal static class OpenSockets
{
    /// <summary>
    /// The inode of the loopback socket bound to <paramref name="local"/>'s port and connected to
    /// <paramref name="remote"/>'s (IPv4 or IPv6, whichever table lists it: ports tell loopback connections apart).
    /// </summary>
    public static string InodeOf(IPEndPoint local, IPEndPoint remote)
    {
        string localPort = Port(local);
        string remotePort = Port(remote);
        foreach (var table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            foreach (var line in File.ReadLines(table).Skip(1))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields[1].EndsWith(localPort, StringComparison.Ordinal) && fields[2].EndsWith(remotePort, StringComparison.Ordinal))
                {
                    return fields[9];
                }
            }
        }

        throw new InvalidOperationException($"no socket {local} -> {remote} in /proc/net/tcp or tcp6");
    }

    /// <summary>True while a descriptor of this process refers to the socket with <paramref name="inode"/>.</summary>
    public static bool IsOpen(string inode)
    {
        string target = $"socket:[{inode}]";
        foreach (var entry in Directory.GetFiles("/proc/self/fd"))
        {
            try
            {
                if (new FileInfo(entry).LinkTarget == target)
                {
                    return true;
                }
            }
            catch (IOException)
            {
                // Closed while listed (the listing's own descriptor, say).
            }
        }

        return false;
    }

    // The kernel prints each end as address:port, the port in 4 hex digits.
    private static string Port(IPEndPoint endPoint) => string.Create(CultureInfo.InvariantCulture, $":{endPoint.Port:X4}");
}
