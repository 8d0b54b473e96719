using Fastsock.Samples.Proxy.Routing;
using Fastsock.Transport;
using Fastsock.Transport.Tls;

namespace Fastsock.Samples.Proxy.Tls;

/// <summary>
/// Puts the runtime's TLS layer under a frontend's handler, with the frontend's certificates and timeout, the proxy's
/// ticket key and sessions scoped to the frontend's name: a layer rebuilt by a reload, or built by a successor process,
/// resumes the sessions its predecessor made, whatever certificates it now has.
/// </summary>
internal static class FrontendTls
{
    /// <summary>
    /// <paramref name="handler"/> under TLS when the frontend has a <c>tls</c> section, else unchanged; with
    /// <c>acceptProxy</c> too, the PROXY header is read before the TLS layer (<paramref name="proxyHeaders"/> logs a bad one).
    /// </summary>
    public static ConnectionHandler Handler(Config.FrontendSettings frontend, ConnectionHandler handler, FrontendTlsStats stats, TlsTicketKeys ticketKeys, ProxyHeaderExchange proxyHeaders)
    {
        if (frontend.Tls is not { } tls)
        {
            return handler;
        }

        var secured = Wrap(tls, handler, stats.For(frontend.Name), ticketKeys, "fastsock-proxy frontend " + frontend.Name);
        return frontend.AcceptProxy ? ProxyHeaderBeforeTls.Wrap(secured, handler, frontend.Name, proxyHeaders) : secured;
    }

    public static ConnectionHandler Wrap(FrontendTlsSettings settings, ConnectionHandler handler, TlsStats? stats = null, TlsTicketKeys? ticketKeys = null, string? sessionScope = null)
    {
        var options = new TlsServerOptions { HandshakeTimeout = settings.HandshakeTimeout, Engine = settings.Engine, TicketKeys = settings.TicketKeysFromFile ?? ticketKeys, SessionScope = sessionScope };
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
