using System.Security.Cryptography.X509Certificates;
using Fastsock.Transport.Tls;

namespace Fastsock.Samples.Proxy.Tls;

/// <summary>
/// A frontend's checked TLS settings: certificates loaded with their keys (the first is the default), the engine, and
/// ticket keys read from a file (null: the process's own key, kept across reloads and takeovers).
/// </summary>
internal sealed record FrontendTlsSettings(IReadOnlyList<X509Certificate2> Certificates, TimeSpan HandshakeTimeout, TlsServerEngine Engine = TlsServerEngine.OpenSsl, TlsTicketKeys? TicketKeysFromFile = null);
