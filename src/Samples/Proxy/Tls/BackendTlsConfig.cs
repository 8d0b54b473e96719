namespace Fastsock.Samples.Proxy.Tls;

// The JSON shape of a server's "tls" section, as written; BackendTlsFiles checks it and loads the CA file.

internal sealed class BackendTlsConfig
{
    public bool? Enabled { get; set; }

    public string? CaFile { get; set; }

    public string? Sni { get; set; }

    public bool? Verify { get; set; }

    public string? HandshakeTimeout { get; set; }

    /// <summary>A client certificate (PEM) sent when the server asks for one; with <see cref="Key"/>.</summary>
    public string? Cert { get; set; }

    /// <summary>The client certificate's private key (PEM, unencrypted).</summary>
    public string? Key { get; set; }
}
