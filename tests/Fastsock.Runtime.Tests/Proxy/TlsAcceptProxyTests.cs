using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Fastsock.Tests.Samples;
using Fastsock.Tests.Support;
using Fastsock.Tests.Transport.Tls;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// <c>acceptProxy</c> together with <c>tls</c> on a frontend (HAProxy's <c>accept-proxy ssl</c>): the PROXY header
/// comes in the clear before the ClientHello, and its source is the client the backend is told about.
/// </summary>
[Trait("Category", "Slow")] // real processes
public sealed partial class TlsAcceptProxyTests : IDisposable
{
    private static readonly string ProxyDll = Path.Combine(AppContext.BaseDirectory, "fastsock-proxy.dll");
    private readonly string _dir = Directory.CreateTempSubdirectory("fastsock-tlsproxyheader-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task A_proxy_header_before_the_client_hello_names_the_client_and_a_bad_one_closes_and_is_counted(string cores)
    {
        await using var backend = new RawBackend(async c =>
        {
            while (true)
            {
                var xff = XffField().Match(await c.ReadHeadAsync()).Groups[1].Value;
                var body = $"xff={xff}";
                await c.SendAsync($"HTTP/1.1 200 OK\r\nContent-Length: {body.Length}\r\n\r\n{body}");
            }
        });
        using var site = TestCertificates.Create("proxy.test", ["proxy.test"]);
        var front = TestCertificates.WritePem(site, _dir, "front");
        var path = Path.Combine(_dir, "proxy.json");
        await File.WriteAllTextAsync(path, $$"""
            { "admin": { "bind": "127.0.0.1:0" },
              "frontends": [ { "name": "web", "bind": ["127.0.0.1:0"], "mode": "http", "backend": "b", "acceptProxy": true,
                               "tls": { "certificates": [ { "cert": "{{front.Cert}}", "key": "{{front.Key}}" } ] } } ],
              "backends": [ { "name": "b", "servers": [ { "address": "127.0.0.1:{{backend.Port}}" } ] } ] }
            """);
        using var proxy = SampleProcess.Start(ProxyDll, $"--config {path} --cores {cores}");
        await proxy.WaitForLineAsync("Press Ctrl+C");
        var web = await proxy.ListeningOnAsync("frontend web");

        using (var socket = new Socket(SocketType.Stream, ProtocolType.Tcp))
        {
            await socket.ConnectAsync(web).WaitAsync(Clients.Timeout);
            await socket.SendAsync("PROXY TCP4 203.0.113.7 192.0.2.1 5555 443\r\n"u8.ToArray()).WaitAsync(Clients.Timeout);
            await using var ssl = new SslStream(new NetworkStream(socket), leaveInnerStreamOpen: true, (_, certificate, _, _) => certificate is not null);
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "proxy.test" }).WaitAsync(Clients.Timeout);
            for (int i = 0; i < 2; i++)
            {
                await ssl.WriteAsync("GET / HTTP/1.1\r\nHost: proxy.test\r\n\r\n"u8.ToArray()).AsTask().WaitAsync(Clients.Timeout);
                var response = await ReadResponseAsync(ssl);
                Assert.True(response.EndsWith("\r\n\r\nxff=203.0.113.7", StringComparison.Ordinal), $"{response}: {proxy.Stdout}{proxy.Stderr}");
            }
        }

        // No header (a ClientHello first) is a bad header: the connection is closed, logged and counted.
        using (var socket = new Socket(SocketType.Stream, ProtocolType.Tcp))
        {
            await socket.ConnectAsync(web).WaitAsync(Clients.Timeout);
            await using var ssl = new SslStream(new NetworkStream(socket), leaveInnerStreamOpen: true, (_, certificate, _, _) => certificate is not null);
            await Assert.ThrowsAnyAsync<Exception>(() => ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "proxy.test" }).WaitAsync(Clients.Timeout));
        }

        await Eventually.AssertAsync(
            () => proxy.Stdout.Contains("Frontend web: closing the connection from 127.0.0.1:", StringComparison.Ordinal),
            () => $"no rejection line: {proxy.Stdout}{proxy.Stderr}");
        using var admin = await RawHttpClient.ConnectAsync(await proxy.ListeningOnAsync("admin"));
        var json = await AdminStatsTests.PollJsonAsync(admin, s => ProxyHeaderErrors(s) == 1);
        Assert.Equal(1, ProxyHeaderErrors(json));
        Assert.False(proxy.HasExited);
    }

    [Fact]
    public async Task In_tcp_mode_the_source_of_a_proxy_header_before_tls_is_passed_on_to_a_send_proxy_server()
    {
        await using var backend = new RawBackend(async c =>
        {
            var head = await c.ReadHeadAsync(); // the proxy's header line, then the client's request
            var body = head[..head.IndexOf("\r\n", StringComparison.Ordinal)];
            await c.SendAsync($"HTTP/1.1 200 OK\r\nContent-Length: {body.Length}\r\n\r\n{body}");
        });
        using var site = TestCertificates.Create("proxy.test", ["proxy.test"]);
        var front = TestCertificates.WritePem(site, _dir, "front");
        var path = Path.Combine(_dir, "proxy.json");
        await File.WriteAllTextAsync(path, $$"""
            { "frontends": [ { "name": "raw", "bind": ["127.0.0.1:0"], "mode": "tcp", "backend": "b", "acceptProxy": true,
                               "tls": { "certificates": [ { "cert": "{{front.Cert}}", "key": "{{front.Key}}" } ] } } ],
              "backends": [ { "name": "b", "servers": [ { "address": "127.0.0.1:{{backend.Port}}", "sendProxy": "v1" } ] } ] }
            """);
        using var proxy = SampleProcess.Start(ProxyDll, $"--config {path} --cores {CoreSets.FirstText}");
        await proxy.WaitForLineAsync("Press Ctrl+C");

        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(await proxy.ListeningOnAsync("frontend raw")).WaitAsync(Clients.Timeout);
        await socket.SendAsync("PROXY TCP4 203.0.113.7 192.0.2.1 5555 443\r\n"u8.ToArray()).WaitAsync(Clients.Timeout);
        await using var ssl = new SslStream(new NetworkStream(socket), leaveInnerStreamOpen: true, (_, certificate, _, _) => certificate is not null);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "proxy.test" }).WaitAsync(Clients.Timeout);
        await ssl.WriteAsync("GET / HTTP/1.1\r\nHost: proxy.test\r\n\r\n"u8.ToArray()).AsTask().WaitAsync(Clients.Timeout);
        var response = await ReadResponseAsync(ssl);
        Assert.Matches(@"\r\n\r\nPROXY TCP4 203\.0\.113\.7 127\.0\.0\.1 5555 \d+$", response);
    }

    private static long ProxyHeaderErrors(System.Text.Json.JsonElement stats) =>
        AdminStatsTests.Frontend(stats, "web").GetProperty("http").GetProperty("proxyHeaderErrors").GetInt64();

    private static async Task<string> ReadResponseAsync(SslStream ssl)
    {
        var buffer = new byte[4096];
        int filled = 0;
        while (true)
        {
            int n = await ssl.ReadAsync(buffer.AsMemory(filled)).AsTask().WaitAsync(Clients.Timeout);
            Assert.True(n > 0, $"closed after: {Encoding.Latin1.GetString(buffer, 0, filled)}");
            filled += n;
            var text = Encoding.Latin1.GetString(buffer, 0, filled);
            int end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            var length = ContentLength().Match(text);
            if (end >= 0 && length.Success && filled >= end + 4 + int.Parse(length.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture))
            {
                return text;
            }
        }
    }

    [GeneratedRegex(@"(?im)^X-Forwarded-For: *([^\r\n]*)\r?$")]
    private static partial Regex XffField();

    [GeneratedRegex(@"(?im)^Content-Length: *(\d+)\r?$")]
    private static partial Regex ContentLength();
}
