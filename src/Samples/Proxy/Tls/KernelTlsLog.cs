using Fastsock.Samples.Proxy.Config;
using Fastsock.Transport.Tls;
using Microsoft.Extensions.Logging;

namespace Fastsock.Samples.Proxy.Tls;

/// <summary>Says once at start, when a frontend terminates TLS, whether the kernel could do TLS and where records are encrypted.</summary>
internal static partial class KernelTlsLog
{
    public static void AtStart(ProxySettings settings, ILogger logger)
    {
        foreach (var frontend in settings.Frontends)
        {
            if (frontend.Tls is not null)
            {
                // Probed whether or not the line is logged: the admin stats show the same result.
                string line = KernelTls.Status.Describe();
                Probed(logger, line);
                return;
            }
        }
    }

    [LoggerMessage(EventId = 360, Level = LogLevel.Information, Message = "{Line}")]
    private static partial void Probed(ILogger logger, string line);
}
