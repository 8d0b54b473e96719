using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Fastsock.Transport.Tls;

/// <summary>
/// Picks the server options for a ClientHello by its SNI name: an exact name first, then a wildcard for the name's
/// parent domain, then the default. One <see cref="SslServerAuthenticationOptions"/> per certificate, built once and
/// shared by every handshake, so its certificate context (chain, OCSP state) is built once too.
/// </summary>
internal sealed class TlsCertificateSelector
{
    private readonly Dictionary<string, SslServerAuthenticationOptions> _exact = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, SslServerAuthenticationOptions> _wildcard = new(StringComparer.OrdinalIgnoreCase);
    private readonly SslServerAuthenticationOptions _default;

    public TlsCertificateSelector(TlsServerOptions options)
    {
        if (options.Certificates.Count == 0)
        {
            throw new ArgumentException("TLS server options have no certificate; add one with its private key to TlsServerOptions.Certificates.", nameof(options));
        }

        SslServerAuthenticationOptions? fallback = null;
        foreach (var certificate in options.Certificates)
        {
            if (!certificate.HasPrivateKey)
            {
                throw new ArgumentException($"TLS certificate '{certificate.Subject}' has no private key; load it together with its key (X509Certificate2.CreateFromPemFile(cert, key)).", nameof(options));
            }

            var server = ServerOptions(options, certificate);
            fallback ??= server;
            if (ReferenceEquals(certificate, options.DefaultCertificate))
            {
                fallback = server;
            }

            foreach (var name in DnsNames(certificate))
            {
                if (name.StartsWith("*.", StringComparison.Ordinal))
                {
                    _wildcard.TryAdd(name[2..].TrimEnd('.'), server);
                }
                else
                {
                    _exact.TryAdd(name.TrimEnd('.'), server);
                }
            }
        }

        _default = options.DefaultCertificate is { } chosen && !options.Certificates.Contains(chosen)
            ? ServerOptions(options, chosen)
            : fallback!;
    }

    /// <summary>The options for <paramref name="serverName"/>; the default for an empty or unknown name.</summary>
    public SslServerAuthenticationOptions Select(string? serverName)
    {
        if (string.IsNullOrEmpty(serverName))
        {
            return _default;
        }

        var name = serverName.TrimEnd('.');
        if (_exact.TryGetValue(name, out var exact))
        {
            return exact;
        }

        // A wildcard covers exactly one label (RFC 6125 §6.4.3): a.example.com, not a.b.example.com.
        int dot = name.IndexOf('.', StringComparison.Ordinal);
        return dot > 0 && _wildcard.TryGetValue(name[(dot + 1)..], out var wildcard) ? wildcard : _default;
    }

    private static SslServerAuthenticationOptions ServerOptions(TlsServerOptions options, X509Certificate2 certificate) => new()
    {
        ServerCertificateContext = SslStreamCertificateContext.Create(certificate, additionalCertificates: null, offline: true),
        EnabledSslProtocols = options.EnabledProtocols,
        ApplicationProtocols = options.ApplicationProtocols.Count == 0 ? null : [.. options.ApplicationProtocols],
        ClientCertificateRequired = false,

        // Resumption (TLS 1.3 tickets, TLS 1.2 ids and tickets) lives in the OpenSSL context SslStream caches on the
        // certificate context above; sharing that one context across handshakes is what lets a session come back.
        AllowTlsResume = true,
        CertificateRevocationCheckMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck,
    };

    /// <summary>The DNS names a certificate serves: its subject alternative names, or its common name when it has none.</summary>
    internal static List<string> DnsNames(X509Certificate2 certificate)
    {
        var names = new List<string>();
        foreach (var extension in certificate.Extensions)
        {
            if (extension is X509SubjectAlternativeNameExtension san)
            {
                names.AddRange(san.EnumerateDnsNames());
            }
        }

        if (names.Count == 0 && certificate.GetNameInfo(X509NameType.DnsName, forIssuer: false) is { Length: > 0 } commonName)
        {
            names.Add(commonName);
        }

        return names;
    }
}
