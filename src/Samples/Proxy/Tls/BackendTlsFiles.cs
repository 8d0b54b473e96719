using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Fastsock.Samples.Proxy.Config;

namespace Fastsock.Samples.Proxy.Tls;

/// <summary>
/// Checks a server's <c>tls</c> section when the config is read and loads its CA file, so a missing or unreadable
/// bundle stops the proxy at start (exit 2, <c>file: key: reason</c>) instead of failing every handshake later.
/// </summary>
internal static class BackendTlsFiles
{
    /// <summary>The checked settings, or null when the section says <c>"enabled": false</c>.</summary>
    public static BackendTlsSettings? Load(string source, string key, BackendTlsConfig config, ServerAddress address)
    {
        if (config.Enabled != false && address.Kind == ServerKind.InProc)
        {
            throw new ConfigException(source, key, $"not for an inproc: server ({address}): it is reached in memory; remove tls");
        }

        return Load(source, key, config, DefaultName(address));
    }

    /// <summary>
    /// The settings of a <c>dns:</c>/<c>srv:</c> server: without <c>sni</c>, the name asked for and verified is
    /// <paramref name="dnsName"/> (what the certificate of a server found by name holds), not each resolved IP.
    /// </summary>
    public static BackendTlsSettings? LoadForName(string source, string key, BackendTlsConfig config, string dnsName) =>
        Load(source, key, config, dnsName);

    private static BackendTlsSettings? Load(string source, string key, BackendTlsConfig config, string defaultName)
    {
        if (config.Enabled == false)
        {
            return null;
        }

        var timeoutText = config.HandshakeTimeout ?? "5s";
        if (Duration.PositiveOrReason(timeoutText, out var timeout) is { } reason)
        {
            throw new ConfigException(source, $"{key}.handshakeTimeout", reason);
        }

        bool verify = config.Verify ?? true;
        var sni = config.Sni ?? defaultName;
        if (string.IsNullOrWhiteSpace(sni) || sni.Any(c => c <= ' ' || c >= 0x7f))
        {
            throw new ConfigException(source, $"{key}.sni", $"'{sni}' is not a host name; write the name the server's certificate holds, e.g. backend.example.com");
        }

        var client = ClientCertificate(source, key, config);
        if (config.CaFile is null)
        {
            return new BackendTlsSettings(sni, verify, roots: null, caFile: null, timeout, client);
        }

        var path = Path.IsPathRooted(config.CaFile) ? config.CaFile : Path.GetFullPath(config.CaFile, Path.GetDirectoryName(Path.GetFullPath(source)) ?? ".");
        if (!File.Exists(path))
        {
            throw new ConfigException(source, $"{key}.caFile", $"'{config.CaFile}' not found; give an existing PEM file of the CA certificates to trust");
        }

        var roots = new X509Certificate2Collection();
        try
        {
            roots.ImportFromPemFile(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException)
        {
            throw new ConfigException(source, $"{key}.caFile", $"'{config.CaFile}' cannot be read ({ex.Message}); give a readable PEM file of the CA certificates to trust");
        }

        if (roots.Count == 0)
        {
            throw new ConfigException(source, $"{key}.caFile", $"'{config.CaFile}' holds no PEM certificate; give a file with -----BEGIN CERTIFICATE-----");
        }

        return new BackendTlsSettings(sni, verify, roots, path, timeout, client);
    }

    /// <summary>
    /// The client certificate of <c>cert</c>/<c>key</c>, checked as a frontend's are (present, PEM, the key is the
    /// certificate's, valid now); null without either.
    /// </summary>
    private static X509Certificate2? ClientCertificate(string source, string key, BackendTlsConfig config)
    {
        if (config.Cert is null && config.Key is null)
        {
            return null;
        }

        if (config.Cert is null || config.Key is null)
        {
            var missing = config.Cert is null ? "cert" : "key";
            throw new ConfigException(source, $"{key}.{missing}", $"missing: a client certificate needs both cert and key (PEM files); give {missing} or remove the other");
        }

        return CertificateFiles.LoadPair(source, key, new CertificateConfig { Cert = config.Cert, Key = config.Key }, source, DateTimeOffset.UtcNow);
    }

    /// <summary>Without <c>sni</c>: the address's host (an IP is checked against the certificate's IP names, and sent as no SNI).</summary>
    private static string DefaultName(ServerAddress address) =>
        address.EndPoint is IPEndPoint ip ? ip.Address.ToString() : "localhost";
}
