using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Fastsock.Samples.Proxy.Config;
using Fastsock.Tests.Support;
using Fastsock.Tests.Transport.Tls;

namespace Fastsock.Tests.Proxy;

/// <summary>A frontend's <c>tls</c> section is checked when the config is read: every bad certificate stops the proxy with file, key and reason.</summary>
public sealed class TlsConfigValidationTests : IDisposable
{
    private static readonly string ProxyDll = Path.Combine(AppContext.BaseDirectory, "fastsock-proxy.dll");
    private readonly string _dir = Directory.CreateTempSubdirectory("fastsock-tlsconfig-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Config(string cert, string key, string more = "")
    {
        var path = Path.Combine(_dir, "proxy.json");
        File.WriteAllText(path, $$"""
            { "frontends": [ { "bind": ["127.0.0.1:0"], "backend": "b",
                               "tls": { "certificates": [ { "cert": "{{cert}}", "key": "{{key}}" } ]{{more}} } } ],
              "backends": [ { "name": "b", "servers": [ { "address": "127.0.0.1:9000" } ] } ] }
            """);
        return path;
    }

    private (string Cert, string Key) Valid(string name = "site") =>
        TestCertificates.WritePem(TestCertificates.Create("site.test", ["site.test"]), _dir, name);

    [Fact]
    public void Valid_certificate_and_key_are_loaded_with_the_default_handshake_timeout()
    {
        var (cert, key) = Valid();
        var tls = Assert.Single(ConfigLoader.Load(Config(cert, key)).Frontends).Tls!;
        Assert.True(Assert.Single(tls.Certificates).HasPrivateKey);
        Assert.Equal(TimeSpan.FromSeconds(5), tls.HandshakeTimeout);
    }

    [Fact]
    public void Accept_proxy_together_with_tls_is_accepted()
    {
        var (cert, key) = Valid();
        var path = Config(cert, key);
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"backend\": \"b\",", "\"backend\": \"b\", \"acceptProxy\": true,", StringComparison.Ordinal));
        var frontend = Assert.Single(ConfigLoader.Load(path).Frontends);
        Assert.True(frontend.AcceptProxy);
        Assert.NotNull(frontend.Tls);
    }

    [Fact]
    public void Missing_certificate_file_names_the_cert_key()
    {
        var (_, key) = Valid();
        var path = Config(Path.Combine(_dir, "nope.crt"), key);
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path));
        Assert.StartsWith($"{path}: frontends[0].tls.certificates[0].cert: '", error.Message, StringComparison.Ordinal);
        Assert.Contains("not found", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void File_without_a_pem_certificate_is_refused()
    {
        var (_, key) = Valid();
        var bad = Path.Combine(_dir, "bad.crt");
        File.WriteAllText(bad, "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n");
        var path = Config(bad, key);
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path));
        Assert.StartsWith($"{path}: frontends[0].tls.certificates[0].cert: ", error.Message, StringComparison.Ordinal);
        Assert.Contains("no PEM certificate", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Key_of_another_certificate_is_refused_as_not_matching()
    {
        var (cert, _) = Valid("one");
        var (_, otherKey) = Valid("two");
        var path = Config(cert, otherKey);
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path));
        Assert.StartsWith($"{path}: frontends[0].tls.certificates[0].key: ", error.Message, StringComparison.Ordinal);
        Assert.Contains("is not the private key of", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Key_encrypted_with_a_passphrase_is_refused_as_encrypted_not_as_another_certificate_s_key()
    {
        var certificate = TestCertificates.Create("site.test", ["site.test"]);
        var (cert, _) = TestCertificates.WritePem(certificate, _dir, "site");
        var encrypted = Path.Combine(_dir, "encrypted.key");
        using (var ecdsa = certificate.GetECDsaPrivateKey()!)
        {
            File.WriteAllText(encrypted, ecdsa.ExportEncryptedPkcs8PrivateKeyPem(
                "secret", new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 1000)));
        }

        var path = Config(cert, encrypted);
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path));
        Assert.Equal(
            $"{path}: frontends[0].tls.certificates[0].key: '{encrypted}' is encrypted with a passphrase, which the proxy cannot be given; give the key unencrypted (openssl pkey -in {encrypted} -out site.key)",
            error.Message);
    }

    [Fact]
    public void Key_file_without_a_private_key_is_refused()
    {
        var (cert, _) = Valid();
        var path = Config(cert, cert);
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path));
        Assert.Contains("frontends[0].tls.certificates[0].key: ", error.Message, StringComparison.Ordinal);
        Assert.Contains("holds no PEM private key", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_handshake_timeout_is_refused()
    {
        var (cert, key) = Valid();
        var path = Config(cert, key, """, "handshakeTimeout": "soon" """);
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path));
        Assert.Equal($"{path}: frontends[0].tls.handshakeTimeout: 'soon' is not a positive duration; write it like 500ms, 5s or 2m", error.Message);
    }

    [Theory]
    [InlineData(null, Fastsock.Transport.Tls.TlsServerEngine.OpenSsl)]
    [InlineData("openssl", Fastsock.Transport.Tls.TlsServerEngine.OpenSsl)]
    [InlineData("sslstream", Fastsock.Transport.Tls.TlsServerEngine.SslStream)]
    public void Engine_is_openssl_unless_the_frontend_asks_for_sslstream(string? engine, Fastsock.Transport.Tls.TlsServerEngine expected)
    {
        var (cert, key) = Valid();
        var path = Config(cert, key, engine is null ? "" : $$""", "engine": "{{engine}}" """);
        Assert.Equal(expected, Assert.Single(ConfigLoader.Load(path).Frontends).Tls!.Engine);
    }

    [Fact]
    public async Task Unknown_engine_makes_check_exit_2_with_one_line_naming_the_key_and_the_choices()
    {
        var (cert, key) = Valid();
        var path = Config(cert, key, """, "engine": "gnutls" """);
        using var check = SampleProcess.Start(ProxyDll, $"--check --config {path}");
        Assert.Equal(2, await check.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        var line = Assert.Single(check.Stderr.Trim().Split('\n'));
        Assert.Equal($"fastsock-proxy: {path}: frontends[0].tls.engine: \"gnutls\" is not openssl or sslstream", line);
    }

    [Fact]
    public async Task Expired_certificate_makes_the_proxy_exit_2_with_one_line_naming_file_key_and_date()
    {
        var expired = TestCertificates.Create("old.test", ["old.test"], TimeSpan.FromDays(1), DateTimeOffset.UtcNow.AddDays(-3));
        var (cert, key) = TestCertificates.WritePem(expired, _dir, "old");
        var path = Config(cert, key);
        using var proxy = SampleProcess.Start(ProxyDll, $"--config {path} --cores {CoreSets.FirstText}");
        Assert.Equal(2, await proxy.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        var line = Assert.Single(proxy.Stderr.Trim().Split('\n'));
        Assert.StartsWith($"fastsock-proxy: {path}: frontends[0].tls.certificates[0].cert: '{cert}' expired on ", line, StringComparison.Ordinal);
        Assert.EndsWith("UTC; renew it", line, StringComparison.Ordinal);
    }
}
