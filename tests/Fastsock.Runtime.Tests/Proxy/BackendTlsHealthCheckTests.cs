using System.Text.RegularExpressions;
using Fastsock.Tests.Samples;
using Fastsock.Tests.Support;
using Fastsock.Tests.Transport.Tls;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// Health checks to servers with a <c>tls</c> block go over TLS with the traffic's settings (SNI, CA, verification):
/// a real nginx with <c>ssl</c> as the server, certificates issued per test.
/// </summary>
[Trait("Category", "Slow")] // real processes and peers
public sealed class BackendTlsHealthCheckTests : IDisposable
{
    private readonly BackendTlsTestBed _bed = new("fastsock-tlscheck-");

    public void Dispose() => _bed.Dispose();

    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task An_http_check_inside_tls_takes_an_nginx_server_down_on_404_and_up_once_its_health_page_exists(string cores)
    {
        var nginx = await StartNginxAsync(_bed.Ca.Issue(["backend.test"]));
        var proxy = await StartProxyAsync(nginx, "backend.test", cores);

        // nginx answered 404 through TLS: the handshake with the traffic's CA and SNI passed and the request went inside.
        await WaitForLineAsync(proxy, $"Server b/nginx (127.0.0.1:{nginx.Port}) is DOWN after 1 failed checks: HTTP 404, expected 200");
        using (var client = await RawHttpClient.ConnectAsync(await proxy.ListeningOnAsync("frontend web")))
        {
            Assert.Equal(503, (await BackendTlsTestBed.GetAsync(client)).Status);
        }

        File.WriteAllText(Path.Combine(nginx.WebRoot, "health"), "ok");
        await WaitForLineAsync(proxy, $"Server b/nginx (127.0.0.1:{nginx.Port}) is UP after 2 good checks");
        using (var client = await RawHttpClient.ConnectAsync(await proxy.ListeningOnAsync("frontend web")))
        {
            Assert.Equal(200, (await BackendTlsTestBed.GetAsync(client)).Status);
        }

        string[] Checks() => nginx.AccessLog().Where(l => l.Contains("GET /health HTTP/1.1", StringComparison.Ordinal)).ToArray();
        await Eventually.AssertAsync(() => Checks().Length >= 3, () => $"nginx saw {Checks().Length} checks: {string.Join(" | ", nginx.AccessLog())}"); // logged after the response
        var checks = Checks();
        Assert.All(checks, l => Assert.Matches(@"^\d+ 1 TLSv1\.[23] GET /health HTTP/1\.1", l));
    }

    [Theory]
    [InlineData("unknown-ca", "untrusted root")]
    [InlineData("wrong-sni", "name mismatch")]
    public async Task An_http_check_to_a_server_whose_certificate_fails_verification_keeps_it_down_and_logs_why(string problem, string reason)
    {
        using var otherCa = new TestCertificateAuthority("Unknown CA");
        var nginx = await StartNginxAsync(problem == "unknown-ca" ? otherCa.Issue(["backend.test"]) : _bed.Ca.Issue(["backend.test"]));
        File.WriteAllText(Path.Combine(nginx.WebRoot, "health"), "ok"); // a check that reached nginx would pass
        var proxy = await StartProxyAsync(nginx, problem == "wrong-sni" ? "other.test" : "backend.test", CoreSets.FirstText);

        var down = await WaitForLineAsync(proxy, $"Server b/nginx (127.0.0.1:{nginx.Port}) is DOWN after 1 failed checks: TLS handshake failed ({reason})");
        Assert.Contains(problem == "wrong-sni" ? "does not hold other.test" : "does not chain to a trusted CA", down, StringComparison.Ordinal);

        // Each check after that is refused again: the checker closes without a request, which nginx logs per connection
        // (during its handshake, or after it under TLS 1.3, where the client checks the certificate last). With rise 1
        // a single good check would have brought the server UP.
        await Eventually.AssertAsync(
            () => Regex.Count(nginx.ErrorLog(), "client closed connection while (SSL handshaking|waiting for request)") >= 4,
            () => $"nginx did not see 4 checks close without a request: {nginx.ErrorLog()}");
        Assert.DoesNotContain("is UP after", Logged(proxy), StringComparison.Ordinal);
        Assert.DoesNotContain(nginx.AccessLog(), l => l.Contains("/health", StringComparison.Ordinal));
        using var client = await RawHttpClient.ConnectAsync(await proxy.ListeningOnAsync("frontend web"));
        Assert.Equal(503, (await BackendTlsTestBed.GetAsync(client)).Status);
    }

    private async Task<NginxTlsServer> StartNginxAsync(System.Security.Cryptography.X509Certificates.X509Certificate2 certificate)
    {
        using (certificate)
        {
            var (cert, key) = TestCertificates.WritePem(certificate, _bed.Dir, "nginx");
            var nginx = await LoopbackPorts.StartPeerAsync(port => NginxTlsServer.StartAsync(Path.Combine(_bed.Dir, "nginx"), port, cert, key, errorLogLevel: "info"));
            _bed.Owned.Add(nginx);
            return nginx;
        }
    }

    private async Task<SampleProcess> StartProxyAsync(NginxTlsServer nginx, string sni, string cores)
    {
        var path = Path.Combine(_bed.Dir, "proxy.json");
        await File.WriteAllTextAsync(path, $$"""
            { "frontends": [ { "name": "web", "bind": ["127.0.0.1:0"], "mode": "http", "backend": "b" } ],
              "backends": [ { "name": "b",
                              "healthCheck": { "type": "http", "path": "/health", "interval": "100ms", "timeout": "10s", "rise": {{(sni == "backend.test" ? 2 : 1)}}, "fall": 1 },
                              "servers": [ { "name": "nginx", "address": "127.0.0.1:{{nginx.Port}}",
                                             "tls": { "enabled": true, "caFile": "{{_bed.Ca.WritePem(_bed.Dir)}}", "sni": "{{sni}}" } } ] } ] }
            """);
        var proxy = SampleProcess.Start(BackendTlsTestBed.ProxyDll, $"--config {path} --cores {cores}");
        _bed.Owned.Add(proxy);
        await proxy.WaitForLineAsync("Press Ctrl+C");
        return proxy;
    }

    private static async Task<string> WaitForLineAsync(SampleProcess proxy, string text)
    {
        await Eventually.AssertAsync(() => Logged(proxy).Contains(text, StringComparison.Ordinal), () => $"no log line '{text}': {Logged(proxy)}");
        return Logged(proxy).Split('\n').First(l => l.Contains(text, StringComparison.Ordinal));
    }

    private static string Logged(SampleProcess proxy) => proxy.Stdout + proxy.Stderr;
}
