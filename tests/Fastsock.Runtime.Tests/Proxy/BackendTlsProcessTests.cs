using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Fastsock.Locality;
using Fastsock.Tests.Samples;
using Fastsock.Tests.Support;
using Fastsock.Tests.Transport.Tls;
using Fastsock.Transport.Tls;
using Xunit.Abstractions;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// fastsock-proxy originating TLS to its servers (a server's <c>tls</c> block): nginx as an HTTPS backend in http
/// mode, the runtime's TLS server layer as a backend in tcp mode and for large bodies, with a test CA and
/// certificates issued per test.
/// </summary>
[Trait("Category", "Slow")] // real processes and peers
public sealed class BackendTlsProcessTests(ITestOutputHelper output) : IDisposable
{
    private readonly BackendTlsTestBed _bed = new("fastsock-backendtls-");

    public void Dispose() => _bed.Dispose();

    private string CaFile => _bed.Ca.WritePem(_bed.Dir);

    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task Get_and_post_reach_an_https_nginx_backend_and_keep_alive_pays_one_handshake(string cores)
    {
        var nginx = await StartNginxAsync(_bed.Ca.Issue(["backend.test"]));
        var proxy = await _bed.StartProxyAsync($$"""
            { "admin": { "bind": "127.0.0.1:0" },
              "frontends": [ { "name": "web", "bind": ["127.0.0.1:0"], "mode": "http", "backend": "b" } ],
              "backends": [ { "name": "b", "servers": [ { "name": "nginx", "address": "127.0.0.1:{{nginx.Port}}",
                              "tls": { "enabled": true, "caFile": "{{CaFile}}", "sni": "backend.test" } } ] } ] }
            """, cores);

        using (var client = await RawHttpClient.ConnectAsync(await proxy.ListeningOnAsync("frontend web")))
        {
            for (int i = 0; i < 5; i++)
            {
                await client.SendAsync("GET /plaintext HTTP/1.1\r\nHost: backend.test\r\n\r\n");
                var response = await client.ReadResponseAsync();
                Assert.Equal((200, "Hello"), (response.Status, response.Body));
            }

            var body = new string('x', 100_000);
            await client.SendAsync($"POST /post HTTP/1.1\r\nHost: backend.test\r\nContent-Length: {body.Length}\r\n\r\n{body}");
            var posted = await client.ReadResponseAsync();
            Assert.Equal(200, posted.Status);
            Assert.Matches("^posted 100000 bytes over TLSv1\\.[23]$", posted.Body);
        }

        // nginx saw the six requests on one TLS connection, one after the other. It writes a request's log line after
        // sending the response, so the last line may still be on its way when the client has the response.
        await Eventually.AssertAsync(() => nginx.AccessLog().Length >= 6, () => $"nginx logged {string.Join(" | ", nginx.AccessLog())}");
        var log = nginx.AccessLog();
        Assert.Equal(6, log.Length);
        var fields = log.Select(l => l.Split(' ')).ToArray();
        Assert.Single(fields.Select(f => f[0]).Distinct());
        Assert.Equal(["1", "2", "3", "4", "5", "6"], fields.Select(f => f[1]));
        Assert.All(fields, f => Assert.StartsWith("TLSv1.", f[2], StringComparison.Ordinal));

        using var admin = await RawHttpClient.ConnectAsync(await proxy.ListeningOnAsync("admin"));
        var json = await AdminStatsTests.PollJsonAsync(admin, s => Connections(s).GetProperty("reused").GetInt64() == 5);
        Assert.Equal((1L, 5L), (Connections(json).GetProperty("opened").GetInt64(), Connections(json).GetProperty("reused").GetInt64()));
        Assert.Equal(0, Failures(json).GetProperty("tls").GetInt64());
    }

    [Theory]
    [InlineData("unknown-ca", "untrusted root", "does not chain to a trusted CA")]
    [InlineData("wrong-sni", "name mismatch", "certificate name mismatch: expected other.test, got backend.test")]
    [InlineData("expired", "expired", "expired on")]
    public async Task A_refused_backend_certificate_is_a_502_with_one_log_line_while_other_clients_go_on(string problem, string reason, string detail)
    {
        using var otherCa = new TestCertificateAuthority("Unknown CA");
        var good = await StartNginxAsync(_bed.Ca.Issue(["backend.test"]), "good");
        var bad = await StartNginxAsync(problem switch
        {
            "unknown-ca" => otherCa.Issue(["backend.test"]),
            "expired" => _bed.Ca.Issue(["backend.test"], DateTimeOffset.UtcNow.AddDays(-10), DateTimeOffset.UtcNow.AddDays(-1)),
            _ => _bed.Ca.Issue(["backend.test"]),
        }, "bad");
        string sni = problem == "wrong-sni" ? "other.test" : "backend.test";
        var proxy = await _bed.StartProxyAsync($$"""
            { "admin": { "bind": "127.0.0.1:0" }, "retries": 0,
              "frontends": [ { "name": "good", "bind": ["127.0.0.1:0"], "mode": "http", "backend": "g" },
                             { "name": "bad", "bind": ["127.0.0.1:0"], "mode": "http", "backend": "b" } ],
              "backends": [ { "name": "g", "servers": [ { "name": "good", "address": "127.0.0.1:{{good.Port}}",
                              "tls": { "enabled": true, "caFile": "{{CaFile}}", "sni": "backend.test" } } ] },
                            { "name": "b", "servers": [ { "name": "bad", "address": "127.0.0.1:{{bad.Port}}",
                              "tls": { "enabled": true, "caFile": "{{CaFile}}", "sni": "{{sni}}" } } ] } ] }
            """, CoreSets.FirstText);

        using var steady = await RawHttpClient.ConnectAsync(await proxy.ListeningOnAsync("frontend good"));
        Assert.Equal(200, (await BackendTlsTestBed.GetAsync(steady)).Status);

        using (var client = await RawHttpClient.ConnectAsync(await proxy.ListeningOnAsync("frontend bad")))
        {
            Assert.Equal(502, (await BackendTlsTestBed.GetAsync(client)).Status);
        }

        var line = $"Server bad: TLS handshake failed ({reason}): TLS to {sni} (127.0.0.1:{bad.Port}) failed: ";
        await Eventually.AssertAsync(() => Logged(proxy).Contains(line, StringComparison.Ordinal), () => $"no log line '{line}': {Logged(proxy)}");
        var logged = Logged(proxy).Split('\n').Where(l => l.Contains("TLS handshake failed", StringComparison.Ordinal)).ToArray();
        Assert.Contains(detail, Assert.Single(logged), StringComparison.Ordinal);

        using var admin = await RawHttpClient.ConnectAsync(await proxy.ListeningOnAsync("admin"));
        var json = await AdminStatsTests.PollJsonAsync(admin, s => Failures(s, "b", "bad").GetProperty("tls").GetInt64() == 1);
        Assert.Equal(1, Failures(json, "b", "bad").GetProperty("tls").GetInt64());
        Assert.Empty(bad.AccessLog()); // no request reached the server that failed verification

        // The other frontend's keep-alive client and new clients are served as before, by the same process.
        Assert.Equal(200, (await BackendTlsTestBed.GetAsync(steady)).Status);
        using var fresh = await RawHttpClient.ConnectAsync(await proxy.ListeningOnAsync("frontend good"));
        Assert.Equal(200, (await BackendTlsTestBed.GetAsync(fresh)).Status);
        Assert.False(proxy.HasExited);
    }

    [Fact]
    public async Task With_verify_false_an_unknown_ca_is_accepted_and_one_warning_is_logged_at_start()
    {
        using var otherCa = new TestCertificateAuthority("Unknown CA");
        var nginx = await StartNginxAsync(otherCa.Issue(["whatever.test"]));
        var proxy = await _bed.StartProxyAsync($$"""
            { "frontends": [ { "name": "web", "bind": ["127.0.0.1:0"], "mode": "http", "backend": "b" } ],
              "backends": [ { "name": "b", "servers": [ { "name": "lax", "address": "127.0.0.1:{{nginx.Port}}",
                              "tls": { "enabled": true, "verify": false } } ] } ] }
            """, CoreSets.FirstText);

        using var client = await RawHttpClient.ConnectAsync(await proxy.ListeningOnAsync("frontend web"));
        Assert.Equal(200, (await BackendTlsTestBed.GetAsync(client)).Status);
        var warnings = Logged(proxy).Split('\n').Where(l => l.Contains("tls verify is false", StringComparison.Ordinal)).ToArray();
        Assert.Contains($"Backend b, server lax (127.0.0.1:{nginx.Port})", Assert.Single(warnings), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task Tcp_mode_forwards_64_mib_byte_exact_both_ways_to_a_tls_backend(string cores)
    {
        using var leaf = _bed.Ca.Issue(["backend.test"]);
        var options = new TlsServerOptions();
        options.Certificates.Add(leaf);
        await using var backend = await TestServers.StartAsync(TlsLayer.Server(options, TestServers.Echo), o => o.Cores = CpuSet.Parse(cores));
        var proxy = await _bed.StartProxyAsync($$"""
            { "frontends": [ { "name": "raw", "bind": ["127.0.0.1:0"], "mode": "tcp", "backend": "b" } ],
              "backends": [ { "name": "b", "servers": [ { "address": "127.0.0.1:{{backend.EndPoints[0].Port}}",
                              "tls": { "enabled": true, "caFile": "{{CaFile}}", "sni": "backend.test" } } ] } ] }
            """, cores, "--forwarding splice");

        var message = RandomNumberGenerator.GetBytes(64 << 20);
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(await proxy.ListeningOnAsync("frontend raw")).WaitAsync(Clients.Timeout);
        var reading = Clients.ReadToEndAsync(client);
        await client.SendAsync(message).WaitAsync(Clients.Timeout);
        client.Shutdown(SocketShutdown.Send);
        var echoed = await reading.WaitAsync(TimeSpan.FromSeconds(120));
        Assert.Equal(message.Length, echoed.Length);
        Assert.True(message.AsSpan().SequenceEqual(echoed), "the echoed bytes differ from those sent");
        Assert.Equal(1, options.Stats.Snapshot().Handshakes);
    }

    [Fact]
    public async Task In_tcp_mode_a_refused_backend_certificate_closes_the_client_connection_and_is_logged()
    {
        using var leaf = _bed.Ca.Issue(["backend.test"]);
        var options = new TlsServerOptions();
        options.Certificates.Add(leaf);
        long reachedBackend = 0;
        await using var backend = await TestServers.StartAsync(TlsLayer.Server(options, async connection =>
        {
            var input = connection.Transport.Input;
            while (true)
            {
                var result = await input.ReadAsync();
                Interlocked.Add(ref reachedBackend, result.Buffer.Length);
                input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    return;
                }
            }
        }), o => o.Cores = CoreSets.First);
        var proxy = await _bed.StartProxyAsync($$"""
            { "retries": 0, "frontends": [ { "name": "raw", "bind": ["127.0.0.1:0"], "mode": "tcp", "backend": "b" } ],
              "backends": [ { "name": "b", "servers": [ { "name": "wrong", "address": "127.0.0.1:{{backend.EndPoints[0].Port}}",
                              "tls": { "enabled": true, "caFile": "{{CaFile}}", "sni": "other.test" } } ] } ] }
            """, CoreSets.FirstText);

        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(await proxy.ListeningOnAsync("frontend raw")).WaitAsync(Clients.Timeout);
        await client.SendAsync("never forwarded"u8.ToArray()).WaitAsync(Clients.Timeout);
        var (received, _) = await Clients.ReadUntilClosedAsync(client).WaitAsync(Clients.Timeout);
        Assert.Equal(0, received);
        var line = "Server wrong: TLS handshake failed (name mismatch): TLS to other.test";
        await Eventually.AssertAsync(() => Logged(proxy).Contains(line, StringComparison.Ordinal), () => $"no log line '{line}': {Logged(proxy)}");

        // The server's side of the handshake may complete (the client checks the certificate after it), but the client's
        // bytes never follow: the proxy closed that connection.
        await Eventually.AssertAsync(() => options.Stats.Snapshot().Closed == 1, () => $"the backend connection did not close: {options.Stats.Snapshot()}");
        Assert.Equal(0, Interlocked.Read(ref reachedBackend));
        Assert.False(proxy.HasExited);
    }

    /// <summary>
    /// Client TLS → proxy → TLS backend, a request body and a response body of <see cref="LargeBody"/> bytes each,
    /// checked by SHA-256 at both ends. 1 GiB: 19 s for the whole test on this 2-core machine under other engineers'
    /// builds (perf/results/tls.md); FASTSOCK_TLS_LARGE_BODY=bytes changes the size.
    /// </summary>
    [Fact]
    public async Task A_large_body_crosses_client_tls_proxy_and_backend_tls_byte_exact_both_ways()
    {
        long size = long.TryParse(Environment.GetEnvironmentVariable("FASTSOCK_TLS_LARGE_BODY"), out long forced) ? forced : LargeBody;
        using var leaf = _bed.Ca.Issue(["backend.test"]);
        await using var backend = await HttpsBodyBackend.StartAsync(leaf, CoreSets.First);
        var front = TestCertificates.WritePem(TestCertificates.Create("proxy.test", ["proxy.test"]), _bed.Dir, "front");
        var proxy = await _bed.StartProxyAsync($$"""
            { "frontends": [ { "name": "web", "bind": ["127.0.0.1:0"], "mode": "http", "backend": "b",
                               "tls": { "certificates": [ { "cert": "{{front.Cert}}", "key": "{{front.Key}}" } ] } } ],
              "backends": [ { "name": "b", "servers": [ { "address": "127.0.0.1:{{backend.Port}}",
                              "tls": { "enabled": true, "caFile": "{{CaFile}}", "sni": "backend.test" } } ] } ],
              "timeouts": { "server": "120s", "client": "120s", "httpRequest": "120s" } }
            """, CoreSets.FirstText);

        var endPoint = await proxy.ListeningOnAsync("frontend web");
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(endPoint).WaitAsync(Clients.Timeout);
        await using var ssl = new SslStream(new NetworkStream(socket), leaveInnerStreamOpen: false, (_, certificate, _, _) => certificate is not null);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "proxy.test" }).WaitAsync(Clients.Timeout);

        var watch = System.Diagnostics.Stopwatch.StartNew();
        var sending = SendBodyAsync(ssl, size);
        var (head, receivedHash) = await ReadReplyAsync(ssl, size).WaitAsync(TimeSpan.FromSeconds(300));
        string sentHash = await sending.WaitAsync(TimeSpan.FromSeconds(300));
        output.WriteLine($"{size} bytes each way through client TLS, proxy and backend TLS: {watch.ElapsedMilliseconds} ms");
        Assert.StartsWith("HTTP/1.1 200", head, StringComparison.Ordinal);
        Assert.Contains($"X-Body-Sha256: {sentHash}", head, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(backend.LastReplyHash, receivedHash);
    }

    /// <summary>The size <see cref="A_large_body_crosses_client_tls_proxy_and_backend_tls_byte_exact_both_ways"/> uses unless FASTSOCK_TLS_LARGE_BODY says otherwise.</summary>
    private const long LargeBody = 1L << 30;

    private static async Task<string> SendBodyAsync(SslStream ssl, long size)
    {
        await ssl.WriteAsync(Encoding.ASCII.GetBytes($"POST /upload HTTP/1.1\r\nHost: backend.test\r\nContent-Length: {size}\r\nX-Reply-Length: {size}\r\n\r\n"));
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var chunk = RandomNumberGenerator.GetBytes(256 * 1024);
        for (long done = 0; done < size;)
        {
            int n = (int)Math.Min(chunk.Length, size - done);
            chunk[1]++; // no two chunks alike
            hash.AppendData(chunk.AsSpan(0, n));
            await ssl.WriteAsync(chunk.AsMemory(0, n));
            done += n;
        }

        await ssl.FlushAsync();
        return Convert.ToHexString(hash.GetHashAndReset());
    }

    private static async Task<(string Head, string BodyHash)> ReadReplyAsync(SslStream ssl, long size)
    {
        var buffer = new byte[256 * 1024];
        int filled = 0;
        int headEnd;
        while (true)
        {
            int n = await ssl.ReadAsync(buffer.AsMemory(filled));
            Assert.True(n > 0, $"the proxy closed before the response head: {Encoding.Latin1.GetString(buffer, 0, filled)}");
            filled += n;
            headEnd = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8);
            if (headEnd >= 0)
            {
                break;
            }
        }

        var headText = Encoding.Latin1.GetString(buffer, 0, headEnd); // before the buffer is reused for the body
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(buffer.AsSpan(headEnd + 4, filled - headEnd - 4));
        long received = filled - headEnd - 4;
        while (received < size)
        {
            int n = await ssl.ReadAsync(buffer);
            Assert.True(n > 0, $"the proxy closed after {received} of {size} body bytes");
            hash.AppendData(buffer.AsSpan(0, n));
            received += n;
        }

        Assert.Equal(size, received);
        return (headText, Convert.ToHexString(hash.GetHashAndReset()));
    }

    private async Task<NginxTlsServer> StartNginxAsync(System.Security.Cryptography.X509Certificates.X509Certificate2 certificate, string name = "nginx")
    {
        var (cert, key) = TestCertificates.WritePem(certificate, _bed.Dir, name);
        var nginx = await LoopbackPorts.StartPeerAsync(port => NginxTlsServer.StartAsync(Path.Combine(_bed.Dir, name), port, cert, key));
        _bed.Owned.Add(nginx);
        return nginx;
    }

    private static string Logged(SampleProcess proxy) => proxy.Stdout + proxy.Stderr;

    private static JsonElement Connections(JsonElement stats) =>
        stats.GetProperty("backends")[0].GetProperty("servers")[0].GetProperty("connections");

    private static JsonElement Failures(JsonElement stats) =>
        stats.GetProperty("backends")[0].GetProperty("servers")[0].GetProperty("failures");

    private static JsonElement Failures(JsonElement stats, string backend, string server) =>
        AdminStatsTests.Server(stats, backend, server).GetProperty("failures");
}
