using Fastsock.Transport;
using Fastsock.Transport.Tls;

namespace Fastsock.Samples.Proxy.Tls;

/// <summary>Puts the runtime's TLS layer under a frontend's handler, with the frontend's certificates and timeout.</summary>
internal static class FrontendTls
{
    public static ConnectionHandler Wrap(FrontendTlsSettings settings, ConnectionHandler handler)
    {
        var options = new TlsServerOptions { HandshakeTimeout = settings.HandshakeTimeout };
        foreach (var certificate in settings.Certificates)
        {
            options.Certificates.Add(certificate);
        }

        return TlsLayer.Server(options, handler);
    }
}
