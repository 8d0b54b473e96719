using Fastsock.Tests.Samples;
using Fastsock.Tests.Support;
using Fastsock.Tests.Transport.Tls;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// A proxy that speaks no TLS does not load OpenSSL: its first use maps and initialises libcrypto and libssl, ~5 MB of
/// resident memory in a process that never needs them (the process ticket key is made with getrandom(2) instead).
/// </summary>
[Trait("Category", "Slow")] // real processes
public sealed class ProxyOpenSslLoadTests : IDisposable
{
    private static readonly string ProxyDll = Path.Combine(AppContext.BaseDirectory, "fastsock-proxy.dll");
    private readonly string _dir = Directory.CreateTempSubdirectory("fastsock-openssl-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task A_proxy_without_tls_serves_requests_without_loading_openssl()
    {
        using var proxy = await StartAsync(tls: "");
        using (var client = await RawHttpClient.ConnectAsync(await proxy.ListeningOnAsync("frontend web")))
        {
            await client.SendAsync("GET /plaintext HTTP/1.1\r\nHost: localhost\r\n\r\n");
            Assert.Equal("Hello, World!", (await client.ReadResponseAsync()).Body);
        }

        Assert.Empty(OpenSslMappings(proxy.Id));
    }

    [Fact]
    public async Task A_proxy_with_a_tls_frontend_loads_openssl()
    {
        var pem = TestCertificates.WritePem(TestCertificates.Create("web.test", ["web.test"]), _dir, "web");
        using var proxy = await StartAsync(tls: $$""", "tls": { "certificates": [ { "cert": "{{pem.Cert}}", "key": "{{pem.Key}}" } ] }""");

        Assert.NotEmpty(OpenSslMappings(proxy.Id));
    }

    private async Task<SampleProcess> StartAsync(string tls)
    {
        var config = Path.Combine(_dir, "proxy.json");
        File.WriteAllText(config, $$"""
            { "frontends": [ { "name": "web", "bind": ["127.0.0.1:0"], "mode": "http", "backend": "hello"{{tls}} } ],
              "backends": [ { "name": "hello", "servers": [ { "address": "inproc:hello" } ] } ] }
            """);
        return await SampleProcess.StartReadyAsync(ProxyDll, $"--config {config} --cores {CoreSets.FirstText}");
    }

    private static string[] OpenSslMappings(int pid) =>
        [.. File.ReadLines($"/proc/{pid}/maps")
            .Where(line => line.Contains("/libcrypto.so", StringComparison.Ordinal) || line.Contains("/libssl.so", StringComparison.Ordinal))
            .Select(line => line[(line.IndexOf('/', StringComparison.Ordinal))..])
            .Distinct()];
}
