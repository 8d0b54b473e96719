namespace Fastsock.Samples.Proxy.Config;

// The JSON shape of a frontend's "tls" section, as written; CertificateFiles checks and loads it.

internal sealed class FrontendTlsConfig
{
    public List<CertificateConfig> Certificates { get; set; } = [];

    public string? HandshakeTimeout { get; set; }

    /// <summary>"openssl" (default) or "sslstream": what terminates TLS on this frontend.</summary>
    public string? Engine { get; set; }

    /// <summary>A ticket keys file in HAProxy's tls-ticket-keys format, shared with other servers; null: the process's own key.</summary>
    public string? TicketKeys { get; set; }
}

internal sealed class CertificateConfig
{
    public string? Cert { get; set; }

    public string? Key { get; set; }
}
