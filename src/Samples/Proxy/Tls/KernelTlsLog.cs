using Fastsock.Samples.Proxy.Config;
using Fastsock.Transport.Tls;
using Microsoft.Extensions.Logging;

namespace Fastsock.Samples.Proxy.Tls;

/// <summary>
/// Says once at start, when a frontend terminates TLS, whether the kernel could do TLS and where records are encrypted,
/// and, when a frontend asks for the OpenSSL engine, which OpenSSL it runs on or why it fell back to SslStream.
/// </summary>
internal static partial class KernelTlsLog
{
    public static void AtStart(ProxySettings settings, ILogger logger)
    {
        bool kernelLogged = false;
        bool engineLogged = false;
        foreach (var frontend in settings.Frontends)
        {
            if (frontend.Tls is not { } tls)
            {
                continue;
            }

            if (!kernelLogged)
            {
                // Probed whether or not the line is logged: the admin stats show the same result.
                string line = KernelTls.Status.Describe();
                Probed(logger, line);
                kernelLogged = true;
            }

            if (!engineLogged && tls.Engine == TlsServerEngine.OpenSsl)
            {
                Engine(logger, TlsLayer.OpenSslDescription);
                engineLogged = true;
            }
        }
    }

    [LoggerMessage(EventId = 360, Level = LogLevel.Information, Message = "{Line}")]
    private static partial void Probed(ILogger logger, string line);

    [LoggerMessage(EventId = 361, Level = LogLevel.Information, Message = "{Line}")]
    private static partial void Engine(ILogger logger, string line);
}
