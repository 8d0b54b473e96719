using System.Text;
using Fastsock.Hosting;
using Fastsock.Samples.Proxy.Config;

namespace Fastsock.Samples.Proxy.Takeover;

/// <summary>
/// <c>admin.socket</c> and <c>--takeover</c>: a running proxy offers its listening sockets on a Unix socket, and a new
/// process started with <c>--takeover PATH</c> takes them instead of binding (HAProxy's <c>expose-fd listeners</c> and
/// <c>-x</c>). The runtime does the hand-over; this only wires the two settings to it.
/// </summary>
internal static class AdminSocket
{
    private const int MaxPathBytes = 107; // sockaddr_un's 108 bytes, with the terminating NUL

    /// <summary>The path as given, or a config error naming the key.</summary>
    public static string Validate(string source, string key, string path)
    {
        if (path.Length == 0 || path.StartsWith('@') || path.EndsWith('/'))
        {
            throw new ConfigException(source, key, $"'{path}' is not a socket file path; give one such as /run/fastsock/proxy.sock");
        }

        if (Encoding.UTF8.GetByteCount(path) > MaxPathBytes)
        {
            throw new ConfigException(source, key, $"'{path}' is longer than {MaxPathBytes} bytes, the limit of a Unix socket path; choose a shorter one");
        }

        return path;
    }

    /// <summary>
    /// Offers the listeners at admin.socket, and takes them from <paramref name="takeoverPath"/> if given; the TLS
    /// frontends' <paramref name="ticketKeys"/> go with them, so clients' session tickets resume in the new process.
    /// </summary>
    public static void Configure(ListenerHandoverOptions handover, ProxySettings settings, string? takeoverPath, Fastsock.Transport.Tls.TlsTicketKeys ticketKeys)
    {
        handover.OfferPath = settings.AdminSocket;
        handover.TakeOverFrom = takeoverPath;
        handover.TicketKeys = ticketKeys;
    }
}
