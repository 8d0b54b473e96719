using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Fastsock.Tests.Support;
using Fastsock.Tests.Transport.Tls;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// fastsock-proxy with one https frontend ("web", certificate a.example.test written as PEM files the test may rewrite)
/// and an admin endpoint, on the CPUs a test asks for; openssl s_client as a process, admin JSON and /metrics read back.
/// </summary>
public abstract class TlsOperationsHarness : IDisposable
{
    private static readonly string ProxyDll = Path.Combine(AppContext.BaseDirectory, "fastsock-proxy.dll");
    private readonly List<IDisposable> _owned = [];

    protected string Dir { get; } = Directory.CreateTempSubdirectory("fastsock-tlsops-").FullName;

    protected string CertPath => Path.Combine(Dir, "site.crt");

    protected string KeyPath => Path.Combine(Dir, "site.key");

    public void Dispose()
    {
        for (int i = _owned.Count - 1; i >= 0; i--)
        {
            _owned[i].Dispose();
        }

        Directory.Delete(Dir, recursive: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Writes a fresh certificate for a.example.test with <paramref name="commonName"/> over the site's PEM files.</summary>
    protected void WriteCertificate(string commonName)
    {
        var written = TestCertificates.WritePem(TestCertificates.Create(commonName, ["a.example.test"]), Dir, "next");
        File.Move(written.Key, KeyPath, overwrite: true);
        File.Move(written.Cert, CertPath, overwrite: true);
    }

    internal async Task<(SampleProcess Proxy, IPEndPoint Frontend, IPEndPoint Admin)> StartAsync(string cores, int backendPort, string mode = "http", string? engine = null)
    {
        if (!File.Exists(CertPath))
        {
            WriteCertificate("first.test");
        }

        var config = Path.Combine(Dir, "proxy.json");
        await File.WriteAllTextAsync(config, $$"""
            { "admin": { "bind": "127.0.0.1:0" },
              "frontends": [ { "name": "web", "bind": ["127.0.0.1:0"], "mode": "{{mode}}", "backend": "b",
                               "tls": { "certificates": [ { "cert": "{{CertPath}}", "key": "{{KeyPath}}" } ]{{(engine is null ? "" : $", \"engine\": \"{engine}\"")}} } } ],
              "backends": [ { "name": "b", "servers": [ { "address": "127.0.0.1:{{backendPort}}" } ] } ],
              "timeouts": { "server": "60s", "httpRequest": "60s" } }
            """);
        var proxy = SampleProcess.Start(ProxyDll, $"--config {config} --cores {cores}");
        _owned.Add(proxy);
        await proxy.WaitForLineAsync("Press Ctrl+C");
        return (proxy, await proxy.ListeningOnAsync("frontend web"), await proxy.ListeningOnAsync("admin"));
    }

    /// <summary>
    /// openssl s_client sending one request with Connection: close and reading to the end, so a TLS 1.3 ticket (sent
    /// after the handshake) has arrived before it writes <c>-sess_out</c>.
    /// </summary>
    protected static async Task<string> SClientAsync(IPEndPoint proxy, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo("openssl", $"s_client -connect 127.0.0.1:{proxy.Port} -servername a.example.test -alpn http/1.1 -ign_eof {arguments}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        })!;
        await process.StandardInput.WriteAsync("GET /s HTTP/1.1\r\nHost: a.example.test\r\nConnection: close\r\n\r\n");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(Clients.Timeout);
        return await stdout + await stderr;
    }

    /// <summary>True for the certificate in the site's PEM file now (the test's own trust decision: it is self-signed).</summary>
    protected bool IsSiteCertificate(System.Security.Cryptography.X509Certificates.X509Certificate? certificate)
    {
        using var site = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificateFromFile(CertPath);
        return certificate is not null && certificate.GetCertHashString() == site.Thumbprint;
    }

    protected static async Task<string> AdminGetAsync(IPEndPoint admin, string path)
    {
        using var client = new HttpClient { Timeout = Clients.Timeout };
        return await client.GetStringAsync(new Uri($"http://127.0.0.1:{admin.Port}{path}"));
    }

    /// <summary>The <c>tls.frontends</c> rows of the admin JSON.</summary>
    protected static async Task<List<JsonElement>> TlsRowsAsync(IPEndPoint admin)
    {
        using var json = JsonDocument.Parse(await AdminGetAsync(admin, "/stats?format=json"));
        return [.. json.RootElement.GetProperty("tls").GetProperty("frontends").EnumerateArray().Select(e => e.Clone())];
    }

    protected static long Sum(List<JsonElement> rows, string key) => rows.Sum(r => r.GetProperty(key).GetInt64());
}
