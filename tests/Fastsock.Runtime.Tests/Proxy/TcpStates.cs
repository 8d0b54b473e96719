using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace Fastsock.Tests.Proxy;

/// <summary>TCP socket states as the kernel lists them in /proc/net/tcp: what a peer's kernel has received, seen from outside.</summary>
internal static class TcpStates
{
    private const string CloseWait = "08";

    /// <summary>
    /// Waits until the socket of <paramref name="server"/> connected to <paramref name="client"/> is in CLOSE_WAIT: the
    /// server's kernel has the client's FIN (IPv4 loopback only).
    /// </summary>
    public static async Task WaitForCloseWaitAsync(IPEndPoint client, IPEndPoint server)
    {
        string local = Hex(server);
        string remote = Hex(client);
        var deadline = Stopwatch.StartNew();
        while (!Has(local, remote, CloseWait))
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(15), $"the socket {server} <- {client} did not reach CLOSE_WAIT within 15 s");
            await Task.Delay(10);
        }
    }

    private static bool Has(string local, string remote, string state)
    {
        foreach (var line in File.ReadLines("/proc/net/tcp").Skip(1))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields[1] == local && fields[2] == remote && fields[3] == state)
            {
                return true;
            }
        }

        return false;
    }

    // The kernel prints the address as the 32-bit word in host (little-endian) order, then the port.
    private static string Hex(IPEndPoint endPoint)
    {
        var address = endPoint.Address.MapToIPv4().GetAddressBytes();
        uint word = BitConverter.ToUInt32(address);
        return string.Create(CultureInfo.InvariantCulture, $"{word:X8}:{endPoint.Port:X4}");
    }
}
