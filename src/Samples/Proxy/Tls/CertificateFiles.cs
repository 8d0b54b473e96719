using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Fastsock.Samples.Proxy.Config;
using Fastsock.Transport.Tls;

namespace Fastsock.Samples.Proxy.Tls;

/// <summary>
/// Checks and loads a frontend's <c>tls</c> section when the config is read, so a missing file, a bad PEM, a key that
/// is not the certificate's or an expired certificate stops the proxy at start (exit 2) with the file, key and reason,
/// instead of failing every handshake later.
/// </summary>
internal static class CertificateFiles
{
    public static FrontendTlsSettings Load(string source, string key, FrontendTlsConfig config, DateTimeOffset now)
    {
        if (config.Certificates.Count == 0)
        {
            throw new ConfigException(source, $"{key}.certificates",
                "empty: give at least one, e.g. [ { \"cert\": \"/etc/ssl/site.crt\", \"key\": \"/etc/ssl/site.key\" } ]");
        }

        var timeoutText = config.HandshakeTimeout ?? "5s";
        if (Duration.PositiveOrReason(timeoutText, out var timeout) is { } reason)
        {
            throw new ConfigException(source, $"{key}.handshakeTimeout", reason);
        }

        var engine = Engine(source, key, config.Engine);
        var ticketKeys = config.TicketKeys is null ? null : TicketKeys(source, $"{key}.ticketKeys", config.TicketKeys);
        var certificates = new List<X509Certificate2>();
        try
        {
            for (int i = 0; i < config.Certificates.Count; i++)
            {
                certificates.Add(LoadPair(source, $"{key}.certificates[{i}]", config.Certificates[i], source, now));
            }
        }
        catch (ConfigException)
        {
            // A rejected config (at start or on every failed reload) leaves no private keys behind for the finalizer.
            foreach (var loaded in certificates)
            {
                loaded.Dispose();
            }

            throw;
        }

        return new FrontendTlsSettings(certificates, timeout, engine, ticketKeys);
    }

    /// <summary>HAProxy's tls-ticket-keys file (relative to the config file), read again on every reload: append a key and reload to rotate.</summary>
    private static TlsTicketKeys TicketKeys(string source, string key, string path)
    {
        var full = Path.IsPathRooted(path) ? path : Path.GetFullPath(path, Path.GetDirectoryName(Path.GetFullPath(source)) ?? ".");
        try
        {
            return TlsTicketKeys.FromFile(full);
        }
        catch (Exception ex) when (ex is ArgumentException or IOException or UnauthorizedAccessException)
        {
            throw new ConfigException(source, key, ex is FileNotFoundException or DirectoryNotFoundException ? $"'{path}' not found; give an existing ticket keys file" : ex.Message);
        }
    }

    /// <summary>The frontend's TLS engine: OpenSSL unless it says "sslstream" (backends, the client side, always use SslStream).</summary>
    private static TlsServerEngine Engine(string source, string key, string? engine) => engine switch
    {
        null or "openssl" => TlsServerEngine.OpenSsl,
        "sslstream" => TlsServerEngine.SslStream,
        _ => throw new ConfigException(source, $"{key}.engine", $"\"{engine}\" is not openssl or sslstream"),
    };

    /// <summary>A certificate with its private key, checked as a frontend's are (a server's client certificate uses it too).</summary>
    internal static X509Certificate2 LoadPair(string source, string key, CertificateConfig pair, string configPath, DateTimeOffset now)
    {
        var certPath = ExistingFile(source, $"{key}.cert", pair.Cert, configPath);
        var keyPath = ExistingFile(source, $"{key}.key", pair.Key, configPath);
        X509Certificate2 certificate;
        try
        {
            certificate = X509Certificate2.CreateFromPem(File.ReadAllText(certPath));
        }
        catch (CryptographicException ex)
        {
            throw new ConfigException(source, $"{key}.cert", $"'{certPath}' holds no PEM certificate ({ex.Message}); give a file with -----BEGIN CERTIFICATE-----");
        }

        X509Certificate2 withKey;
        try
        {
            withKey = X509Certificate2.CreateFromPemFile(certPath, keyPath);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            var keyText = File.ReadAllText(keyPath);
            var reason = IsEncrypted(keyText)
                ? $"'{keyPath}' is encrypted with a passphrase, which the proxy cannot be given; give the key unencrypted (openssl pkey -in {keyPath} -out site.key)"
                : keyText.Contains("PRIVATE KEY-----", StringComparison.Ordinal)
                ? $"'{keyPath}' is not the private key of '{certPath}' ({ex.Message}); give the key the certificate was issued for"
                : $"'{keyPath}' holds no PEM private key ({ex.Message}); give a file with -----BEGIN PRIVATE KEY----- (or RSA/EC PRIVATE KEY)";
            throw new ConfigException(source, $"{key}.key", reason);
        }
        finally
        {
            certificate.Dispose();
        }

        var notAfter = withKey.NotAfter.ToUniversalTime();
        var notBefore = withKey.NotBefore.ToUniversalTime();
        if (notAfter < now.UtcDateTime || notBefore > now.UtcDateTime)
        {
            withKey.Dispose();
            throw notAfter < now.UtcDateTime
                ? new ConfigException(source, $"{key}.cert", $"'{certPath}' expired on {notAfter:yyyy-MM-dd HH:mm} UTC; renew it")
                : new ConfigException(source, $"{key}.cert", $"'{certPath}' is not valid before {notBefore:yyyy-MM-dd HH:mm} UTC; check the clock or the certificate");
        }

        return withKey;
    }

    private static string ExistingFile(string source, string key, string? path, string configPath)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new ConfigException(source, key, "missing: give the path of a PEM file");
        }

        // Relative paths are relative to the config file, as nginx and HAProxy users expect of a config's neighbours.
        var full = Path.IsPathRooted(path) ? path : Path.GetFullPath(path, Path.GetDirectoryName(Path.GetFullPath(configPath)) ?? ".");
        return File.Exists(full) ? full : throw new ConfigException(source, key, $"'{path}' not found; give an existing PEM file");
    }

    /// <summary>PKCS#8 encrypted (BEGIN ENCRYPTED PRIVATE KEY) or a legacy OpenSSL encrypted key (Proc-Type: 4,ENCRYPTED).</summary>
    private static bool IsEncrypted(string keyText) =>
        keyText.Contains("-----BEGIN ENCRYPTED PRIVATE KEY-----", StringComparison.Ordinal)
        || keyText.Contains("Proc-Type: 4,ENCRYPTED", StringComparison.Ordinal);
}
