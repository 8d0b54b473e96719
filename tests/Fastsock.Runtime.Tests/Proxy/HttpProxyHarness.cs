using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Fastsock.Tests.Samples;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// What the http-mode tests share: a temp directory, nginx and fastsock-proxy processes started in it (http frontend,
/// timeouts of 10 s unless a test is about them, one retry), and a raw exchange read until the proxy closes.
/// </summary>
public abstract class HttpProxyHarness : IDisposable
{
    private static readonly string ProxyDll = Path.Combine(AppContext.BaseDirectory, "fastsock-proxy.dll");
    private readonly string _dir = Directory.CreateTempSubdirectory("fastsock-http-").FullName;
    private readonly List<IDisposable> _owned = [];

    public void Dispose()
    {
        for (int i = _owned.Count - 1; i >= 0; i--)
        {
            _owned[i].Dispose();
        }

        Directory.Delete(_dir, recursive: true);
        GC.SuppressFinalize(this);
    }

    internal static async Task<string> ExchangeUntilCloseAsync(IPEndPoint proxy, string request)
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(proxy);
        await socket.SendAsync(Encoding.Latin1.GetBytes(request), SocketFlags.None);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var received = new MemoryStream();
        var buffer = new byte[16 * 1024];
        int n;
        while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
        {
            received.Write(buffer, 0, n);
        }

        return Encoding.Latin1.GetString(received.ToArray());
    }

    /// <summary>A port that refuses connections (bound, never listened on) for as long as the test runs.</summary>
    internal int RefusingPort()
    {
        var port = LoopbackPorts.Refusing();
        _owned.Add(port);
        return port.Port;
    }

    internal Task<NginxServer> StartNginxAsync(byte[]? bigFile = null) => StartNginxAsync("nginx", bigFile);

    /// <summary>nginx in its own directory <paramref name="name"/> (so that a test can run several), stopped with the test.</summary>
    internal async Task<NginxServer> StartNginxAsync(string name, byte[]? bigFile = null)
    {
        var nginx = await LoopbackPorts.StartPeerAsync(port => NginxServer.StartAsync(Directory.CreateDirectory(Path.Combine(_dir, name)).FullName, port, bigFile ?? "big"u8.ToArray()));
        _owned.Add(nginx);
        return nginx;
    }

    /// <summary>nginx in its own directory <paramref name="name"/> on <paramref name="port"/>, a port the test held until now; stopped with the test.</summary>
    internal async Task<NginxServer> StartNginxAsync(string name, int port)
    {
        var nginx = await NginxServer.StartAsync(Directory.CreateDirectory(Path.Combine(_dir, name)).FullName, port, "big"u8.ToArray());
        _owned.Add(nginx);
        return nginx;
    }

    internal Task<IPEndPoint> StartProxyAsync(NginxServer nginx) => StartProxyAsync(nginx.Port);

    internal async Task<IPEndPoint> StartProxyAsync(int serverPort, string serverTimeout = "10s", string requestTimeout = "10s") =>
        (await StartProxyProcessAsync($$"""[ { "address": "127.0.0.1:{{serverPort}}" } ]""", serverTimeout, requestTimeout)).EndPoint;

    internal async Task<(SampleProcess Proxy, IPEndPoint EndPoint)> StartProxyProcessAsync(string serversAndMore, string serverTimeout = "10s", string requestTimeout = "10s")
    {
        var (proxy, _) = await StartProxyWithConfigAsync($$"""
            { "frontends": [ { "bind": ["127.0.0.1:0"], "mode": "http", "backend": "b" } ],
              "backends": [ { "name": "b", "servers": {{serversAndMore}} } ],
              "timeouts": { "server": "{{serverTimeout}}", "httpRequest": "{{requestTimeout}}", "connect": "1s" }, "retries": 1 }
            """);
        return (proxy, await proxy.ListeningOnAsync("frontend"));
    }

    /// <summary>
    /// fastsock-proxy (one worker) in http mode with an admin endpoint, in front of backend <c>b</c> made of
    /// <paramref name="servers"/>; <paramref name="backendMore"/> is added to the backend.
    /// </summary>
    internal async Task<(SampleProcess Proxy, IPEndPoint EndPoint, IPEndPoint Admin)> StartProxyWithAdminAsync(
        string servers, string backendMore = "", string serverTimeout = "2s", string connectTimeout = "1s", int retries = 2, string arguments = "")
    {
        var (proxy, _) = await StartProxyWithConfigAsync($$"""
            { "admin": { "bind": "127.0.0.1:0" },
              "frontends": [ { "bind": ["127.0.0.1:0"], "mode": "http", "backend": "b" } ],
              "backends": [ { "name": "b", "servers": {{servers}} {{backendMore}} } ],
              "timeouts": { "server": "{{serverTimeout}}", "httpRequest": "10s", "connect": "{{connectTimeout}}" }, "retries": {{retries}} }
            """, arguments);
        return (proxy, await proxy.ListeningOnAsync("frontend"), await proxy.ListeningOnAsync("admin"));
    }

    /// <summary>fastsock-proxy on <paramref name="cores"/> (default: the first allowed CPU) with <paramref name="json"/> as its config, stopped with the test.</summary>
    internal async Task<(SampleProcess Proxy, string ConfigPath)> StartProxyWithConfigAsync(string json, string arguments = "", string? cores = null)
    {
        var config = Path.Combine(_dir, $"proxy-{Guid.NewGuid():N}.json");
        File.WriteAllText(config, json);
        var proxy = SampleProcess.Start(ProxyDll, $"--config {config} --cores {cores ?? CoreSets.FirstText} {arguments}");
        _owned.Add(proxy);
        await proxy.WaitForLineAsync("Press Ctrl+C");
        return (proxy, config);
    }

    /// <summary>Bytes the proxy's workers moved with splice(2), summed from the admin stats JSON.</summary>
    protected static long BytesSpliced(System.Text.Json.JsonElement stats)
    {
        long total = 0;
        foreach (var worker in stats.GetProperty("workers").EnumerateArray())
        {
            total += worker.GetProperty("bytesSpliced").GetInt64();
        }

        return total;
    }
}
