using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Fastsock.Transport.Tls;

/// <summary>
/// What a TLS server layer (<see cref="TlsLayer.Server"/>) offers: certificates chosen by the client's SNI name, the
/// protocol versions, ALPN protocols and how long a handshake may take. Read once when the layer is built.
/// </summary>
public sealed class TlsServerOptions
{
    /// <summary>
    /// Certificates with private keys. Each serves the DNS names of its subject alternative names (or its common name
    /// when it has none); <c>*.example.com</c> serves one label under example.com. The first is the default.
    /// </summary>
    public IList<X509Certificate2> Certificates { get; } = new List<X509Certificate2>();

    /// <summary>The certificate for clients without SNI or with a name no certificate serves; null: the first one.</summary>
    public X509Certificate2? DefaultCertificate { get; set; }

    /// <summary>TLS 1.2 and 1.3 by default.</summary>
    public SslProtocols EnabledProtocols { get; set; } = SslProtocols.Tls12 | SslProtocols.Tls13;

    /// <summary>ALPN protocols offered in order of preference; <c>http/1.1</c> by default. Empty: no ALPN.</summary>
    public IList<SslApplicationProtocol> ApplicationProtocols { get; } = new List<SslApplicationProtocol> { SslApplicationProtocol.Http11 };

    /// <summary>
    /// How long a client has from connecting to completing its handshake before the connection is closed (timed on
    /// the worker's timer wheel, 50 ms grain). 10 s by default.
    /// </summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// What terminates TLS: <see cref="TlsServerEngine.OpenSsl"/> by default (SslStream when libssl.so.3 cannot be
    /// loaded), or <see cref="TlsServerEngine.SslStream"/>. Both serve the same certificates, SNI rules, protocols,
    /// ALPN, resumption, timeout and stats.
    /// </summary>
    public TlsServerEngine Engine { get; set; } = TlsServerEngine.OpenSsl;

    /// <summary>
    /// Handshakes, failures by reason, protocols and cipher suites negotiated through this layer. Set it to share one
    /// counters object between layers that stand for the same service (a layer rebuilt on a config reload).
    /// </summary>
    public TlsStats Stats { get; set; } = new();

    /// <summary>
    /// The session ticket key (OpenSSL engine). Null (default): a random key per layer, so a layer rebuilt on a reload
    /// cannot resume its predecessor's tickets. Give the layers of one service the same object to keep resumption
    /// across reloads, and <c>ListenerHandoverOptions.TicketKeys</c> the same to keep it across a takeover.
    /// </summary>
    public TlsTicketKeys? TicketKeys { get; set; }

    /// <summary>
    /// What sessions are bound to (OpenSSL's session id context, a SHA-256 of this name): a ticket or session id
    /// resumes only under a layer with the same scope, whatever its certificates. Name it after the service (the
    /// proxy uses its frontend's name) so that a rebuilt layer, or a successor process, accepts the same sessions and
    /// two services sharing ticket keys do not accept each other's. Null (default): one scope for every layer.
    /// </summary>
    public string? SessionScope { get; set; }
}
