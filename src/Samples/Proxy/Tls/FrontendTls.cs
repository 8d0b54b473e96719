using Fastsock.Samples.Proxy.Routing;
using Fastsock.Transport;
using Fastsock.Transport.Tls;

namespace Fastsock.Samples.Proxy.Tls;

/// <summary>Puts the runtime's TLS layer under a frontend's handler, with the frontend's certificates and timeout.</summary>
internal static class FrontendTls
{
    /// <summary>
    /// <paramref name="handler"/> under TLS when the frontend has a <c>tls</c> section, else unchanged; with
    /// <c>acceptProxy</c> too, the PROXY header is read before the TLS layer (<paramref name="proxyHeaders"/> logs a bad one).
    /// </summary>
    public static ConnectionHandler Handler(Config.FrontendSettings frontend, ConnectionHandler handler, FrontendTlsStats stats, ProxyHeaderExchange proxyHeaders)
    {
        if (frontend.Tls is not { } tls)
        {
            return handler;
        }

        var secured = Wrap(tls, handler, stats.For(frontend.Name));
        return frontend.AcceptProxy ? ProxyHeaderBeforeTls.Wrap(secured, handler, frontend.Name, proxyHeaders) : secured;
    }

    public static ConnectionHandler Wrap(FrontendTlsSettings settings, ConnectionHandler handler, TlsStats? stats = null)
    {
        var options = new TlsServerOptions { HandshakeTimeout = settings.HandshakeTimeout, Engine = settings.Engine };
        if (stats is not null)
        {
            options.Stats = stats;
        }

        foreach (var certificate in settings.Certificates)
        {
            options.Certificates.Add(certificate);
        }

        return TlsLayer.Server(options, handler);
    }
}
