using Fastsock.Tests.Samples;
using Fastsock.Tests.Support;
using Fastsock.Tests.Transport.Tls;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// What the process tests of TLS to servers share: a temporary directory, a test certificate authority, the processes
/// and peers a test starts (disposed newest first, then the CA and the directory), and how they start the proxy and ask
/// it for <c>/plaintext</c>. Each test class holds one and disposes it.
/// </summary>
internal sealed class BackendTlsTestBed(string directoryPrefix) : IDisposable
{
    public static readonly string ProxyDll = Path.Combine(AppContext.BaseDirectory, "fastsock-proxy.dll");

    public string Dir { get; } = Directory.CreateTempSubdirectory(directoryPrefix).FullName;

    public TestCertificateAuthority Ca { get; } = new();

    /// <summary>Disposed by <see cref="Dispose"/>, the last added first.</summary>
    public List<IDisposable> Owned { get; } = [];

    public void Dispose()
    {
        for (int i = Owned.Count - 1; i >= 0; i--)
        {
            Owned[i].Dispose();
        }

        Ca.Dispose();
        Directory.Delete(Dir, recursive: true);
    }

    /// <summary>Writes <paramref name="json"/> as a config of its own and starts the proxy on it; returns once it serves.</summary>
    public async Task<SampleProcess> StartProxyAsync(string json, string cores, string arguments = "")
    {
        var path = Path.Combine(Dir, $"proxy-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(path, json);
        var proxy = SampleProcess.Start(ProxyDll, $"--config {path} --cores {cores} {arguments}");
        Owned.Add(proxy);
        await proxy.WaitForLineAsync("Press Ctrl+C");
        return proxy;
    }

    public static async Task<RawHttpResponse> GetAsync(RawHttpClient client)
    {
        await client.SendAsync("GET /plaintext HTTP/1.1\r\nHost: backend.test\r\n\r\n");
        return await client.ReadResponseAsync();
    }
}
