using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Fastsock.Transport.Tls;

/// <summary>
/// The SslStream engine's choice of server options for a ClientHello by its SNI name (<see cref="ServerNameTable{T}"/>).
/// One <see cref="SslServerAuthenticationOptions"/> per certificate, built once and shared by every handshake, so its
/// certificate context (chain, OCSP state) is built once too.
/// </summary>
internal sealed class TlsCertificateSelector
{
    private readonly ServerNameTable<SslServerAuthenticationOptions> _table;

    public TlsCertificateSelector(TlsServerOptions options) =>
        _table = new ServerNameTable<SslServerAuthenticationOptions>(options, certificate => ServerOptions(options, certificate));

    /// <summary>The options for <paramref name="serverName"/>; the default for an empty or unknown name.</summary>
    public SslServerAuthenticationOptions Select(string? serverName) => _table.Select(serverName);

    private static SslServerAuthenticationOptions ServerOptions(TlsServerOptions options, X509Certificate2 certificate) => new()
    {
        ServerCertificateContext = SslStreamCertificateContext.Create(certificate, additionalCertificates: null, offline: true),
        EnabledSslProtocols = options.EnabledProtocols,
        ApplicationProtocols = options.ApplicationProtocols.Count == 0 ? null : [.. options.ApplicationProtocols],
        ClientCertificateRequired = false,

        // Resumption (TLS 1.3 tickets, TLS 1.2 ids and tickets) lives in the OpenSSL context SslStream caches on the
        // certificate context above; sharing that one context across handshakes is what lets a session come back.
        AllowTlsResume = true,
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
    };
}
