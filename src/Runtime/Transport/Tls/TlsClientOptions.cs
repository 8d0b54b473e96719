using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Fastsock.Transport.Tls;

/// <summary>
/// How a TLS client layer (<see cref="TlsLayer.ClientAsync"/>) speaks to a server: the name it asks for and verifies,
/// which roots it trusts, the ALPN protocols it offers and how long a handshake may take. Build it once per server
/// and share it among that server's connections; it is read, not changed, by each handshake.
/// </summary>
public sealed class TlsClientOptions
{
    private X509Certificate2? _clientCertificate;
    private SslStreamCertificateContext? _clientCertificateContext;

    /// <summary>
    /// The server's name: sent as SNI (unless it is an IP address) and checked against the certificate's names when
    /// <see cref="Verify"/> is on. Sessions are resumed by this name (SslStream's client cache is keyed by it), so a
    /// server asked for by IP address always gets full handshakes.
    /// </summary>
    public string TargetHost { get; set; } = "";

    /// <summary>
    /// Roots to trust instead of the system store (a private CA); null: the system store. Load a PEM bundle with
    /// <see cref="X509Certificate2Collection.ImportFromPemFile"/>.
    /// </summary>
    public X509Certificate2Collection? TrustedRoots { get; set; }

    /// <summary>
    /// Check the server's certificate: a chain to a trusted root, valid now, issued for <see cref="TargetHost"/>.
    /// On by default; turning it off accepts any certificate (and any man in the middle).
    /// </summary>
    public bool Verify { get; set; } = true;

    /// <summary>TLS 1.2 and 1.3 by default.</summary>
    public SslProtocols EnabledProtocols { get; set; } = SslProtocols.Tls12 | SslProtocols.Tls13;

    /// <summary>ALPN protocols offered in order of preference; empty (the default): no ALPN.</summary>
    public IList<SslApplicationProtocol> ApplicationProtocols { get; } = new List<SslApplicationProtocol>();

    /// <summary>
    /// How long the handshake may take before the connection is closed (timed on the worker's timer wheel, 50 ms
    /// grain). 10 s by default.
    /// </summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A certificate with its private key to send when the server asks for one (mutual TLS); null (the default): none.
    /// Sent whatever CA names the server lists, so a server that does not trust it refuses the handshake and says so.
    /// </summary>
    public X509Certificate2? ClientCertificate
    {
        get => _clientCertificate;
        set
        {
            _clientCertificate = value;
            _clientCertificateContext = null;
        }
    }

    /// <summary>Handshakes and failures by reason through these options, per worker.</summary>
    public TlsClientStats Stats { get; } = new();

    /// <summary>The client certificate's context, built on first use (its chain once, not per handshake); a race builds two equal ones.</summary>
    internal SslStreamCertificateContext? ClientCertificateContext =>
        _clientCertificate is not { } certificate ? null
            : _clientCertificateContext ??= SslStreamCertificateContext.Create(certificate, additionalCertificates: null, offline: true);
}
