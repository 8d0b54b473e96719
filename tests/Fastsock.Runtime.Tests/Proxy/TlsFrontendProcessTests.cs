using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Fastsock.Tests.Support;
using Fastsock.Tests.Transport.Tls;

namespace Fastsock.Tests.Proxy;

/// <summary>fastsock-proxy terminating TLS on its frontends, with curl, openssl s_client and HttpClient as clients.</summary>
public sealed class TlsFrontendProcessTests : HttpProxyHarness
{
    /// <summary>Certificates written as PEM files for one test: a.example.test, *.wild.test and the default (first).</summary>
    private sealed class Pems : IDisposable
    {
        public Pems()
        {
            Default = TestCertificates.WritePem(TestCertificates.Create("default.test", ["default.test"]), Dir, "default");
            Exact = TestCertificates.WritePem(TestCertificates.Create("a.example.test", ["a.example.test"]), Dir, "exact");
            Wildcard = TestCertificates.WritePem(TestCertificates.Create("wild.test", ["*.wild.test"]), Dir, "wild");
        }

        public string Dir { get; } = Directory.CreateTempSubdirectory("fastsock-tls-").FullName;

        public (string Cert, string Key) Default { get; }

        public (string Cert, string Key) Exact { get; }

        public (string Cert, string Key) Wildcard { get; }

        public string TlsJson(string handshakeTimeout = "5s") => $$"""
            { "certificates": [ { "cert": "{{Default.Cert}}", "key": "{{Default.Key}}" },
                                { "cert": "{{Exact.Cert}}", "key": "{{Exact.Key}}" },
                                { "cert": "{{Wildcard.Cert}}", "key": "{{Wildcard.Key}}" } ],
              "handshakeTimeout": "{{handshakeTimeout}}" }
            """;

        public void Dispose() => Directory.Delete(Dir, recursive: true);
    }

    private async Task<IPEndPoint> StartHttpsProxyAsync(Pems pems, int backendPort, string handshakeTimeout = "5s")
    {
        var (proxy, _) = await StartProxyWithConfigAsync($$"""
            { "frontends": [ { "name": "web", "bind": ["127.0.0.1:0"], "mode": "http", "backend": "b", "tls": {{pems.TlsJson(handshakeTimeout)}} } ],
              "backends": [ { "name": "b", "servers": [ { "address": "127.0.0.1:{{backendPort}}" } ] } ] }
            """);
        return await proxy.ListeningOnAsync("frontend web");
    }

    /// <summary>A backend answering every request with its request head as the body (keep-alive).</summary>
    private static RawBackend HeadEchoBackend() => new(async c =>
    {
        while (true)
        {
            var head = await c.ReadHeadAsync();
            await c.SendAsync($"HTTP/1.1 200 OK\r\nContent-Length: {Encoding.Latin1.GetByteCount(head)}\r\n\r\n{head}");
        }
    });

    [Theory]
    [InlineData("1.2")]
    [InlineData("1.3")]
    public async Task Curl_gets_a_response_over_https_with_alpn_http11_and_the_backend_sees_x_forwarded_proto_https(string version)
    {
        using var pems = new Pems();
        await using var backend = HeadEchoBackend();
        var proxy = await StartHttpsProxyAsync(pems, backend.Port);

        var (exit, stdout, stderr) = await RunAsync("curl",
            $"-sv --cacert {pems.Exact.Cert} --tlsv{version} --tls-max {version} --resolve a.example.test:{proxy.Port}:127.0.0.1 https://a.example.test:{proxy.Port}/hello");
        Assert.True(exit == 0, $"curl exited {exit}: {stderr}");
        Assert.Contains("GET /hello HTTP/1.1", stdout, StringComparison.Ordinal);
        Assert.Contains("X-Forwarded-Proto: https", stdout, StringComparison.OrdinalIgnoreCase);
        Assert.Contains($"TLSv{version}", stderr, StringComparison.Ordinal);
        Assert.Contains("ALPN: server accepted http/1.1", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a.example.test", "a.example.test")]
    [InlineData("x.wild.test", "wild.test")]
    [InlineData("unknown.test", "default.test")]
    public async Task Openssl_s_client_is_shown_the_certificate_its_sni_name_selects(string serverName, string expectedCommonName)
    {
        using var pems = new Pems();
        await using var backend = HeadEchoBackend();
        var proxy = await StartHttpsProxyAsync(pems, backend.Port);

        var (exit, stdout, stderr) = await RunAsync("openssl",
            $"s_client -connect 127.0.0.1:{proxy.Port} -servername {serverName} -alpn http/1.1");
        Assert.True(exit == 0, $"openssl exited {exit}: {stdout} {stderr}");
        var output = stdout + stderr;
        Assert.Contains($"subject=CN = {expectedCommonName}", output, StringComparison.Ordinal);
        Assert.Contains("ALPN protocol: http/1.1", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HttpClient_sends_keep_alive_requests_over_one_tls_connection()
    {
        using var pems = new Pems();
        await using var backend = HeadEchoBackend();
        var proxy = await StartHttpsProxyAsync(pems, backend.Port);
        var expected = X509CertificateLoader.LoadCertificateFromFile(pems.Exact.Cert);
        int connections = 0;
        using var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, token) =>
            {
                Interlocked.Increment(ref connections);
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(proxy, token);
                return new NetworkStream(socket, ownsSocket: true);
            },
            SslOptions = { RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null && certificate.GetCertHashString() == expected.Thumbprint },
        };
        using var client = new HttpClient(handler) { Timeout = Clients.Timeout };
        for (int i = 0; i < 5; i++)
        {
            var body = await client.GetStringAsync(new Uri($"https://a.example.test:{proxy.Port}/r{i}"));
            Assert.Contains($"GET /r{i} HTTP/1.1", body, StringComparison.Ordinal);
            Assert.Contains("X-Forwarded-Proto: https", body, StringComparison.OrdinalIgnoreCase);
        }

        // One TLS connection from the client (the proxy kept it open), and one pooled connection to the backend.
        Assert.Equal(1, Volatile.Read(ref connections));
        Assert.Equal(1, backend.Accepted);
    }

    [Fact]
    public async Task Tcp_mode_carries_64_mib_byte_exact_both_ways_through_tls()
    {
        using var pems = new Pems();
        await using var backend = new RawBackend(async c =>
        {
            var buffer = new byte[64 * 1024];
            int n;
            while ((n = await c.Socket.ReceiveAsync(buffer, SocketFlags.None)) > 0)
            {
                await c.Socket.SendAsync(buffer.AsMemory(0, n), SocketFlags.None);
            }

            c.Socket.Shutdown(SocketShutdown.Send);
        });
        var (proxy, _) = await StartProxyWithConfigAsync($$"""
            { "frontends": [ { "name": "secure", "bind": ["127.0.0.1:0"], "mode": "tcp", "backend": "b", "tls": {{pems.TlsJson()}} } ],
              "backends": [ { "name": "b", "servers": [ { "address": "127.0.0.1:{{backend.Port}}" } ] } ] }
            """);
        var frontend = await proxy.ListeningOnAsync("frontend secure");

        var payload = new byte[64 * 1024 * 1024];
        new Random(11).NextBytes(payload);
        await using var client = await TlsTestClient.ConnectAsync(frontend, "x.wild.test", SslProtocols.Tls13);
        var send = Task.Run(async () =>
        {
            for (int at = 0; at < payload.Length; at += 256 * 1024)
            {
                await client.Ssl.WriteAsync(payload.AsMemory(at, 256 * 1024));
            }
        });
        var received = new byte[payload.Length];
        await client.Ssl.ReadExactlyAsync(received).AsTask().WaitAsync(TimeSpan.FromSeconds(120));
        await send.WaitAsync(Clients.Timeout);
        Assert.Equal(SHA256.HashData(payload), SHA256.HashData(received));
    }

    [Fact]
    public async Task Plaintext_random_truncated_and_stalled_clients_are_closed_while_the_proxy_keeps_serving()
    {
        using var pems = new Pems();
        await using var backend = HeadEchoBackend();
        var proxy = await StartHttpsProxyAsync(pems, backend.Port, handshakeTimeout: "500ms");

        // Opened first and never finished: only the handshake timeout can close it.
        using var stalled = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await stalled.ConnectAsync(proxy).WaitAsync(Clients.Timeout);
        await stalled.SendAsync(new byte[] { 22, 3, 1, 2, 0, 1, 0, 1, 252, 3, 3 }).WaitAsync(Clients.Timeout);

        // Closed without a byte of answer; a reset is fine too, since the proxy closes with the client's bytes unread.
        Assert.Equal(0, await SendAndCountAnswerAsync(proxy, Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: a\r\n\r\n")));
        var noise = new byte[300];
        new Random(5).NextBytes(noise);
        noise[0] = 0x47;
        Assert.Equal(0, await SendAndCountAnswerAsync(proxy, noise));
        using (var truncated = new Socket(SocketType.Stream, ProtocolType.Tcp))
        {
            await truncated.ConnectAsync(proxy).WaitAsync(Clients.Timeout);
            await truncated.SendAsync(new byte[] { 22, 3, 1, 2, 0, 1, 0, 1, 252, 3, 3, 9, 9 }).WaitAsync(Clients.Timeout);
            truncated.Shutdown(SocketShutdown.Send);
            Assert.Equal(0, (await Clients.ReadUntilClosedAsync(truncated).WaitAsync(Clients.Timeout)).Bytes);
        }

        Assert.Equal(0, (await Clients.ReadUntilClosedAsync(stalled).WaitAsync(Clients.Timeout)).Bytes);

        var (exit, stdout, stderr) = await RunAsync("curl", $"-sk --resolve a.example.test:{proxy.Port}:127.0.0.1 https://a.example.test:{proxy.Port}/after");
        Assert.True(exit == 0, $"curl exited {exit} after the bad clients: {stderr}");
        Assert.Contains("GET /after HTTP/1.1", stdout, StringComparison.Ordinal);
    }

    private static async Task<long> SendAndCountAnswerAsync(IPEndPoint proxy, byte[] bytes)
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(proxy).WaitAsync(Clients.Timeout);
        await socket.SendAsync(bytes).WaitAsync(Clients.Timeout);
        return (await Clients.ReadUntilClosedAsync(socket).WaitAsync(Clients.Timeout)).Bytes;
    }

    private static async Task<(int Exit, string Stdout, string Stderr)> RunAsync(string tool, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(tool, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        })!;
        process.StandardInput.Close(); // s_client ends at stdin EOF
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(Clients.Timeout);
        return (process.ExitCode, await stdout, await stderr);
    }
}
