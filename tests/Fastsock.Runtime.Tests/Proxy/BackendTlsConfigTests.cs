using System.Net;
using Fastsock.Samples.Proxy.Balancing;
using Fastsock.Samples.Proxy.Config;
using Fastsock.Samples.Proxy.Routing;
using Fastsock.Tests.Support;
using Fastsock.Tests.Transport.Tls;

namespace Fastsock.Tests.Proxy;

/// <summary>A server's <c>tls</c> block is checked when the config is read, and a changed one makes a new server on reload.</summary>
public sealed class BackendTlsConfigTests : IDisposable
{
    private static readonly string ProxyDll = Path.Combine(AppContext.BaseDirectory, "fastsock-proxy.dll");
    private readonly string _dir = Directory.CreateTempSubdirectory("fastsock-backendtlsconfig-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Config(string tls)
    {
        var path = Path.Combine(_dir, "proxy.json");
        File.WriteAllText(path, $$"""
            { "frontends": [ { "bind": ["127.0.0.1:0"], "backend": "b" } ],
              "backends": [ { "name": "b", "servers": [ { "name": "s", "address": "127.0.0.1:9443", "tls": {{tls}} } ] } ] }
            """);
        return path;
    }

    [Fact]
    public void A_ca_file_is_loaded_and_verification_is_on_by_default()
    {
        using var ca = new TestCertificateAuthority();
        var caFile = ca.WritePem(_dir);
        var server = Assert.Single(Assert.Single(ConfigLoader.Load(Config($$"""{ "enabled": true, "caFile": "{{caFile}}", "sni": "backend.test" }""")).Backends).Servers);
        var tls = server.Tls!;
        Assert.True(tls.Verify);
        Assert.Equal("backend.test", tls.Options.TargetHost);
        Assert.Equal(ca.Certificate.Thumbprint, Assert.Single(tls.Options.TrustedRoots!).Thumbprint);
        Assert.Equal(TimeSpan.FromSeconds(5), tls.Options.HandshakeTimeout);
    }

    [Fact]
    public void Without_sni_the_address_is_the_name_checked_and_without_ca_file_the_system_store_is_trusted()
    {
        var tls = Assert.Single(Assert.Single(ConfigLoader.Load(Config("""{ "enabled": true }""")).Backends).Servers).Tls!;
        Assert.Equal("127.0.0.1", tls.Options.TargetHost);
        Assert.Null(tls.Options.TrustedRoots);
    }

    [Fact]
    public void Enabled_false_means_plaintext()
    {
        Assert.Null(Assert.Single(Assert.Single(ConfigLoader.Load(Config("""{ "enabled": false, "caFile": "/nope" }""")).Backends).Servers).Tls);
    }

    [Fact]
    public void A_missing_ca_file_is_refused_in_one_line_naming_the_key()
    {
        var path = Config($$"""{ "enabled": true, "caFile": "{{_dir}}/nope.crt" }""");
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path));
        Assert.Equal($"{path}: backends[0].servers[0].tls.caFile: '{_dir}/nope.crt' not found; give an existing PEM file of the CA certificates to trust", error.Message);
    }

    [Fact]
    public void A_ca_file_without_a_pem_certificate_is_refused()
    {
        var caFile = Path.Combine(_dir, "garbage.crt");
        File.WriteAllText(caFile, "not a certificate\n");
        var path = Config($$"""{ "enabled": true, "caFile": "{{caFile}}" }""");
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path));
        Assert.StartsWith($"{path}: backends[0].servers[0].tls.caFile: '{caFile}' ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_ca_file_that_cannot_be_read_stops_the_proxy_with_exit_code_2()
    {
        var caFile = Path.Combine(_dir, "unreadable.crt");
        using (var ca = new TestCertificateAuthority())
        {
            File.WriteAllText(caFile, ca.Certificate.ExportCertificatePem());
        }

        if (Environment.UserName == "root")
        {
            // Root reads any file whatever its mode: a directory in the file's place cannot be read by anyone.
            File.Delete(caFile);
            Directory.CreateDirectory(caFile);
        }
        else
        {
            File.SetUnixFileMode(caFile, UnixFileMode.None);
        }

        var path = Config($$"""{ "enabled": true, "caFile": "{{caFile}}" }""");
        using var proxy = SampleProcess.Start(ProxyDll, $"--config {path} --cores {CoreSets.FirstText}");
        Assert.Equal(2, await proxy.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains($"{path}: backends[0].servers[0].tls.caFile: '{caFile}'", proxy.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_tls_block_on_an_inproc_server_is_refused()
    {
        var path = Config("""{ "enabled": true }""");
        File.WriteAllText(path, File.ReadAllText(path).Replace("127.0.0.1:9443", "inproc:hello", StringComparison.Ordinal));
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path));
        Assert.StartsWith($"{path}: backends[0].servers[0].tls: not for an inproc: server", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_http_health_check_on_a_backend_with_a_tls_server_is_accepted()
    {
        var path = Config("""{ "enabled": true }""");
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"name\": \"b\",", "\"name\": \"b\", \"healthCheck\": { \"type\": \"http\" },", StringComparison.Ordinal));
        var backend = Assert.Single(ConfigLoader.Load(path).Backends);
        Assert.Equal(HealthCheckType.Http, backend.HealthCheck!.Type);
        Assert.NotNull(Assert.Single(backend.Servers).Tls);
    }

    [Fact]
    public void On_reload_a_changed_tls_block_makes_a_new_server_and_an_unchanged_one_keeps_it()
    {
        using var ca = new TestCertificateAuthority();
        var caFile = ca.WritePem(_dir);
        ServerSettings Load(string sni) =>
            Assert.Single(Assert.Single(ConfigLoader.Load(Config($$"""{ "enabled": true, "caFile": "{{caFile}}", "sni": "{{sni}}" }""")).Backends).Servers);

        var first = Load("a.test");
        var pool = new BackendPool(Backend(first), workerCount: 1);
        var kept = pool.Find("s")!;

        var same = pool.ApplyServers([Load("a.test")]); // read again: equal settings, another object
        Assert.Empty(same.Added);
        Assert.Same(kept, pool.Find("s"));

        var changed = pool.ApplyServers([Load("b.test")]);
        Assert.Same(kept, Assert.Single(changed.Removed));
        Assert.Equal("b.test", Assert.Single(changed.Added).Settings.Tls!.TargetHost);
    }

    private static BackendSettings Backend(params ServerSettings[] servers) =>
        new("b", BalanceAlgorithm.RoundRobin, servers, null, BackendConnectionPool.Unlimited, TimeSpan.FromSeconds(10));
}
