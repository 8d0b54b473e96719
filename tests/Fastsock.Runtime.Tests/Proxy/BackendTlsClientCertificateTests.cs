using System.Text.Json;
using Fastsock.Samples.Proxy.Config;
using Fastsock.Tests.Samples;
using Fastsock.Tests.Support;
using Fastsock.Tests.Transport.Tls;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// Client certificates to servers (mutual TLS): <c>cert</c>/<c>key</c> in a server's <c>tls</c> block, checked at load
/// and sent when the server asks, by the traffic and by the health checks. Real peers: nginx with
/// <c>ssl_verify_client on</c>, and <c>openssl s_server -Verify</c>, which refuses the handshake without one.
/// </summary>
[Trait("Category", "Slow")] // real processes and peers
public sealed class BackendTlsClientCertificateTests : IDisposable
{
    private readonly BackendTlsTestBed _bed = new("fastsock-mtls-");

    public void Dispose() => _bed.Dispose();

    private string CaFile => _bed.Ca.WritePem(_bed.Dir);

    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task With_its_client_certificate_the_proxy_and_its_health_checks_pass_nginx_ssl_verify_client(string cores)
    {
        var nginx = await StartNginxAsync();
        File.WriteAllText(Path.Combine(nginx.WebRoot, "health"), "ok");
        var (cert, key) = ClientPair();
        var proxy = await _bed.StartProxyAsync($$"""
            { "retries": 0,
              "frontends": [ { "name": "with", "bind": ["127.0.0.1:0"], "mode": "http", "backend": "m" },
                             { "name": "without", "bind": ["127.0.0.1:0"], "mode": "http", "backend": "n" } ],
              "backends": [ { "name": "m", "healthCheck": { "type": "http", "path": "/health", "interval": "100ms", "timeout": "10s", "rise": 1, "fall": 1 },
                              "servers": [ { "name": "mtls", "address": "127.0.0.1:{{nginx.Port}}",
                              "tls": { "enabled": true, "caFile": "{{CaFile}}", "sni": "backend.test", "cert": "{{cert}}", "key": "{{key}}" } } ] },
                            { "name": "n", "servers": [ { "name": "nocert", "address": "127.0.0.1:{{nginx.Port}}",
                              "tls": { "enabled": true, "caFile": "{{CaFile}}", "sni": "backend.test" } } ] } ] }
            """, cores);

        using (var client = await RawHttpClient.ConnectAsync(await proxy.ListeningOnAsync("frontend with")))
        {
            var response = await BackendTlsTestBed.GetAsync(client);
            Assert.True((response.Status, response.Body) == (200, "Hello"), $"{response.Status} {response.Body}: {proxy.Stdout}{proxy.Stderr}");
        }

        // nginx finishes the handshake without a certificate and answers 400 itself (its way, not a TLS failure).
        using (var client = await RawHttpClient.ConnectAsync(await proxy.ListeningOnAsync("frontend without")))
        {
            var response = await BackendTlsTestBed.GetAsync(client);
            Assert.Equal(400, response.Status);
            Assert.Contains("No required SSL certificate was sent", response.Body, StringComparison.Ordinal);
        }

        // The health checks sent the certificate too: nginx answered them 200, not 400.
        await Eventually.AssertAsync(
            () => nginx.AccessLog().Any(l => l.Contains("GET /health HTTP/1.1", StringComparison.Ordinal) && l.EndsWith(" 200", StringComparison.Ordinal)),
            () => $"no health check answered 200: {string.Join(" | ", nginx.AccessLog())}");
        Assert.DoesNotContain(nginx.AccessLog(), l => l.Contains("GET /health HTTP/1.1", StringComparison.Ordinal) && !l.EndsWith(" 200", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_server_that_requires_a_certificate_gets_it_and_without_one_the_request_is_a_502_with_one_log_line()
    {
        var (serverCert, serverKey) = TestCertificates.WritePem(_bed.Ca.Issue(["backend.test"]), _bed.Dir, "server");
        var caFile = CaFile;
        var openssl = await LoopbackPorts.StartPeerAsync(async port =>
        {
            // -Verify 1: a client without a certificate fails the handshake; TLS 1.2, where that happens inside the handshake.
            var server = SampleProcess.StartProgram("openssl",
                ["s_server", "-accept", $"127.0.0.1:{port}", "-cert", serverCert, "-key", serverKey, "-CAfile", caFile, "-Verify", "1", "-tls1_2", "-www"]);
            try
            {
                await server.WaitForLineAsync("ACCEPT");
            }
            catch
            {
                server.Dispose();
                throw new IOException($"openssl s_server did not start: {server.Stdout}{server.Stderr}");
            }

            return (Server: server, Port: port);
        });
        _bed.Owned.Add(openssl.Server);
        var (cert, key) = ClientPair();
        var proxy = await _bed.StartProxyAsync($$"""
            { "admin": { "bind": "127.0.0.1:0" }, "retries": 0,
              "frontends": [ { "name": "with", "bind": ["127.0.0.1:0"], "mode": "http", "backend": "m" },
                             { "name": "without", "bind": ["127.0.0.1:0"], "mode": "http", "backend": "n" } ],
              "backends": [ { "name": "m", "servers": [ { "name": "mtls", "address": "127.0.0.1:{{openssl.Port}}",
                              "tls": { "enabled": true, "caFile": "{{caFile}}", "sni": "backend.test", "cert": "{{cert}}", "key": "{{key}}" } } ] },
                            { "name": "n", "servers": [ { "name": "nocert", "address": "127.0.0.1:{{openssl.Port}}",
                              "tls": { "enabled": true, "caFile": "{{caFile}}", "sni": "backend.test" } } ] } ] }
            """, CoreSets.FirstText);

        // s_server -www answers with a page about the session, without Content-Length, and closes.
        using (var client = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp))
        {
            await client.ConnectAsync(await proxy.ListeningOnAsync("frontend with")).WaitAsync(Clients.Timeout);
            await client.SendAsync("GET / HTTP/1.1\r\nHost: backend.test\r\n\r\n"u8.ToArray()).WaitAsync(Clients.Timeout);
            var page = System.Text.Encoding.Latin1.GetString(await Clients.ReadToEndAsync(client).WaitAsync(Clients.Timeout));
            Assert.True(page.StartsWith("HTTP/1.1 200", StringComparison.Ordinal), $"{page}: {proxy.Stdout}{proxy.Stderr}");
            Assert.Contains("CN=proxy.client", page, StringComparison.Ordinal); // the page shows the peer's certificate
        }

        using (var client = await RawHttpClient.ConnectAsync(await proxy.ListeningOnAsync("frontend without")))
        {
            Assert.Equal(502, (await BackendTlsTestBed.GetAsync(client)).Status);
        }

        var line = $"Server nocert: TLS handshake failed (";
        await Eventually.AssertAsync(() => (proxy.Stdout + proxy.Stderr).Contains(line, StringComparison.Ordinal), () => $"no log line '{line}': {proxy.Stdout}{proxy.Stderr}");
        using var admin = await RawHttpClient.ConnectAsync(await proxy.ListeningOnAsync("admin"));
        var json = await AdminStatsTests.PollJsonAsync(admin, s => Failures(s, "nocert") == 1);
        Assert.Equal(1, Failures(json, "nocert"));
        Assert.Equal(0, Failures(json, "mtls"));
    }

    [Fact]
    public async Task A_client_key_that_is_not_the_certificates_stops_the_proxy_with_exit_code_2_naming_the_key()
    {
        var (cert, _) = ClientPair();
        var (_, otherKey) = TestCertificates.WritePem(_bed.Ca.Issue(["other.client"], client: true), _bed.Dir, "other");
        var path = Path.Combine(_bed.Dir, "proxy.json");
        File.WriteAllText(path, $$"""
            { "frontends": [ { "bind": ["127.0.0.1:0"], "backend": "b" } ],
              "backends": [ { "name": "b", "servers": [ { "address": "127.0.0.1:9443",
                              "tls": { "enabled": true, "cert": "{{cert}}", "key": "{{otherKey}}" } } ] } ] }
            """);
        using var proxy = SampleProcess.Start(BackendTlsTestBed.ProxyDll, $"--config {path} --cores {CoreSets.FirstText}");
        Assert.Equal(2, await proxy.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains($"{path}: backends[0].servers[0].tls.key: '{otherKey}' is not the private key of '{cert}'", proxy.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_client_certificate_without_its_key_is_refused_and_one_with_it_is_loaded()
    {
        var (cert, key) = ClientPair();
        string Config(string tls)
        {
            var path = Path.Combine(_bed.Dir, $"proxy-{Guid.NewGuid():N}.json");
            File.WriteAllText(path, $$"""
                { "frontends": [ { "bind": ["127.0.0.1:0"], "backend": "b" } ],
                  "backends": [ { "name": "b", "servers": [ { "address": "127.0.0.1:9443", "tls": {{tls}} } ] } ] }
                """);
            return path;
        }

        var lone = Config($$"""{ "enabled": true, "cert": "{{cert}}" }""");
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Load(lone));
        Assert.StartsWith($"{lone}: backends[0].servers[0].tls.key: missing: a client certificate needs both cert and key", error.Message, StringComparison.Ordinal);

        var loaded = Assert.Single(Assert.Single(ConfigLoader.Load(Config($$"""{ "enabled": true, "cert": "{{cert}}", "key": "{{key}}" }""")).Backends).Servers).Tls!;
        Assert.True(loaded.Options.ClientCertificate!.HasPrivateKey);
        Assert.Contains("CN=proxy.client", loaded.Options.ClientCertificate.Subject, StringComparison.Ordinal);
    }

    private (string Cert, string Key) ClientPair()
    {
        using var client = _bed.Ca.Issue(["proxy.client"], client: true);
        return TestCertificates.WritePem(client, _bed.Dir, "client");
    }

    private async Task<NginxTlsServer> StartNginxAsync()
    {
        using var leaf = _bed.Ca.Issue(["backend.test"]);
        var (cert, key) = TestCertificates.WritePem(leaf, _bed.Dir, "nginx");
        var caFile = CaFile;
        var nginx = await LoopbackPorts.StartPeerAsync(port => NginxTlsServer.StartAsync(Path.Combine(_bed.Dir, "nginx"), port, cert, key, clientCaFile: caFile));
        _bed.Owned.Add(nginx);
        return nginx;
    }

    private static long Failures(JsonElement stats, string server) =>
        stats.TryGetProperty("tlsServers", out var rows)
            ? rows.EnumerateArray().Where(r => r.GetProperty("server").GetString() == server)
                .Sum(r => r.GetProperty("failures").EnumerateObject().Sum(f => f.Value.GetInt64()))
            : 0;
}
