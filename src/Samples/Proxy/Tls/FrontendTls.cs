using Fastsock.Transport;
using Fastsock.Transport.Tls;

namespace Fastsock.Samples.Proxy.Tls;

/// <summary>Puts the runtime's TLS layer under a frontend's handler, with the frontend's certificates and timeout.</summary>
internal static class FrontendTls
{
    /// <summary><paramref name="handler"/> under TLS when the frontend has a <c>tls</c> section, else unchanged.</summary>
    public static ConnectionHandler Handler(Config.FrontendSettings frontend, ConnectionHandler handler, FrontendTlsStats stats) =>
        frontend.Tls is { } tls ? Wrap(tls, handler, stats.For(frontend.Name)) : handler;

    public static ConnectionHandler Wrap(FrontendTlsSettings settings, ConnectionHandler handler, TlsStats? stats = null)
    {
        var options = new TlsServerOptions { HandshakeTimeout = settings.HandshakeTimeout };
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
