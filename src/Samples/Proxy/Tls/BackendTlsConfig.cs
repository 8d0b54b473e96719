namespace Fastsock.Samples.Proxy.Tls;

// The JSON shape of a server's "tls" section, as written; BackendTlsFiles checks it and loads the CA file.

internal sealed class BackendTlsConfig
{
    public bool? Enabled { get; set; }

    public string? CaFile { get; set; }

    public string? Sni { get; set; }

    public bool? Verify { get; set; }

    public string? HandshakeTimeout { get; set; }
}
