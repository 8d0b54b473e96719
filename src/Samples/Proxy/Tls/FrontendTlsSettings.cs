using System.Security.Cryptography.X509Certificates;

namespace Fastsock.Samples.Proxy.Tls;

/// <summary>A frontend's checked TLS settings: certificates loaded with their keys (the first is the default).</summary>
internal sealed record FrontendTlsSettings(IReadOnlyList<X509Certificate2> Certificates, TimeSpan HandshakeTimeout);
