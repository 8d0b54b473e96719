using System.Net.Security;
using System.Security.Authentication;

namespace Fastsock.Transport.Tls;

/// <summary>
/// What was negotiated on a connection under a TLS layer: a handler reads it with
/// <c>if (connection is ITlsConnectionFeature tls)</c>.
/// </summary>
public interface ITlsConnectionFeature
{
    /// <summary>TLS 1.2 or TLS 1.3.</summary>
    SslProtocols Protocol { get; }

    /// <summary>The ALPN protocol agreed on; default when the client offered none we serve.</summary>
    SslApplicationProtocol ApplicationProtocol { get; }

    /// <summary>The SNI name the client asked for; empty when it sent none.</summary>
    string ServerName { get; }

    /// <summary>The cipher suite agreed on.</summary>
    TlsCipherSuite CipherSuite { get; }
}
