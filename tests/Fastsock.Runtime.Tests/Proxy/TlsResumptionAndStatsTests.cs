using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Proxy;

/// <summary>Session resumption seen by openssl s_client, and the TLS counters of the admin endpoint, per frontend and worker.</summary>
public sealed class TlsResumptionAndStatsTests : TlsOperationsHarness
{
    public static TheoryData<string, string> ResumptionCases
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var cores in CoreSets.OneAndTwoWorkers)
            {
                data.Add(cores, "-tls1_2");
                data.Add(cores, "-tls1_2 -no_ticket");
                data.Add(cores, "-tls1_3");
            }

            return data;
        }
    }

    /// <summary>A backend answering every request with 200 and its path (keep-alive).</summary>
    private static RawBackend PathBackend() => new(async c =>
    {
        while (true)
        {
            var head = await c.ReadHeadAsync();
            var path = head.Split(' ')[1];
            await c.SendAsync($"HTTP/1.1 200 OK\r\nContent-Length: {path.Length}\r\n\r\n{path}");
        }
    });

    [Theory]
    [MemberData(nameof(ResumptionCases))]
    public async Task Openssl_s_client_session_is_reused_and_the_admin_stats_count_the_resumed_handshakes_per_worker(string cores, string protocol)
    {
        await using var backend = PathBackend();
        var (_, frontend, admin) = await StartAsync(cores, backend.Port);
        var session = Path.Combine(Dir, "session.pem");

        var first = await SClientAsync(frontend, $"{protocol} -sess_out {session}");
        Assert.Contains("New, TLSv1.", first, StringComparison.Ordinal);
        Assert.Contains("HTTP/1.1 200 OK", first, StringComparison.Ordinal);
        const int Resumptions = 3;
        for (int i = 0; i < Resumptions; i++)
        {
            var again = await SClientAsync(frontend, $"{protocol} -sess_in {session}");
            Assert.Contains("Reused, TLSv1.", again, StringComparison.Ordinal);
            Assert.Contains("HTTP/1.1 200 OK", again, StringComparison.Ordinal);
        }

        var rows = await TlsRowsAsync(admin);
        Assert.Equal(cores == CoreSets.FirstText ? 1 : 2, rows.Count);
        Assert.All(rows, r => Assert.Equal("web", r.GetProperty("frontend").GetString()));
        Assert.Equal(1 + Resumptions, Sum(rows, "handshakes"));
        Assert.Equal(Resumptions, Sum(rows, "resumed"));
        Assert.Equal(1 + Resumptions, Sum(rows, protocol.StartsWith("-tls1_3", StringComparison.Ordinal) ? "tls13" : "tls12"));
        Assert.Equal(1 + Resumptions, Sum(rows, "alpnHttp11"));
        Assert.Equal(1 + Resumptions, rows.Sum(r => r.GetProperty("ciphers").EnumerateObject().Sum(c => c.Value.GetInt64())));
    }

    /// <summary>The SslStream engine stays covered end to end: the same resumption and counts through a frontend that asks for it.</summary>
    [Theory]
    [InlineData("-tls1_2")]
    [InlineData("-tls1_2 -no_ticket")]
    [InlineData("-tls1_3")]
    public async Task Frontend_on_the_sslstream_engine_resumes_sessions_across_workers_and_counts_them(string protocol)
    {
        var allowed = Fastsock.Locality.CpuSet.Allowed();
        var cores = allowed.Count >= 2 ? Fastsock.Locality.CpuSet.Of(allowed[0], allowed[1]).ToString() : CoreSets.FirstText;
        await using var backend = PathBackend();
        var (proxy, frontend, admin) = await StartAsync(cores, backend.Port, engine: "sslstream");
        var session = Path.Combine(Dir, "session.pem");

        var first = await SClientAsync(frontend, $"{protocol} -sess_out {session}");
        Assert.Contains("New, TLSv1.", first, StringComparison.Ordinal);
        Assert.Contains("HTTP/1.1 200 OK", first, StringComparison.Ordinal);
        for (int i = 0; i < 2; i++)
        {
            var again = await SClientAsync(frontend, $"{protocol} -sess_in {session}");
            Assert.Contains("Reused, TLSv1.", again, StringComparison.Ordinal);
            Assert.Contains("HTTP/1.1 200 OK", again, StringComparison.Ordinal);
        }

        var rows = await TlsRowsAsync(admin);
        Assert.Equal(3, Sum(rows, "handshakes"));
        Assert.Equal(2, Sum(rows, "resumed"));
        Assert.DoesNotContain("TLS engine: ", proxy.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(SslProtocols.Tls12, "TLSv1.2")]
    [InlineData(SslProtocols.Tls13, "TLSv1.3")]
    public async Task HttpClient_forcing_one_tls_version_is_served_and_counted_by_protocol_cipher__in_metrics_and_page(SslProtocols version, string name)
    {
        await using var backend = PathBackend();
        var (proxy, frontend, admin) = await StartAsync(CoreSets.FirstText, backend.Port);
        using var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, token) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(frontend, token);
                return new NetworkStream(socket, ownsSocket: true);
            },
            SslOptions = { EnabledSslProtocols = version, RemoteCertificateValidationCallback = (_, certificate, _, _) => IsSiteCertificate(certificate) },
        };
        using var client = new HttpClient(handler) { Timeout = Clients.Timeout };
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal($"/r{i}", await client.GetStringAsync(new Uri($"https://a.example.test:{frontend.Port}/r{i}")));
        }

        var metrics = await AdminGetAsync(admin, "/metrics");
        Assert.Contains($"fastsock_tls_handshakes_total{{frontend=\"web\",worker=\"0\"}} 1\n", metrics, StringComparison.Ordinal);
        Assert.Contains($"fastsock_tls_protocol_handshakes_total{{frontend=\"web\",worker=\"0\",protocol=\"{name}\"}} 1\n", metrics, StringComparison.Ordinal);
        // SocketsHttpHandler offers no ALPN for HTTP/1.1 alone; the s_client test counts ALPN.
        Assert.Contains("fastsock_tls_alpn_http11_handshakes_total{frontend=\"web\",worker=\"0\"} 0\n", metrics, StringComparison.Ordinal);
        var cipherLines = metrics.Split('\n').Where(l => l.StartsWith("fastsock_tls_cipher_handshakes_total{", StringComparison.Ordinal)).ToList();
        Assert.Equal(10, cipherLines.Count);
        Assert.Single(cipherLines, l => l.EndsWith(" 1", StringComparison.Ordinal) && !l.Contains("\"other\"", StringComparison.Ordinal));
        Assert.Contains("fastsock_tls_kernel_available", metrics, StringComparison.Ordinal);

        var page = await AdminGetAsync(admin, "/stats");
        Assert.Contains("<table id=\"tls\">", page, StringComparison.Ordinal);
        Assert.Contains("kernel TLS: ", page, StringComparison.Ordinal);
        Assert.Contains("kernel TLS: ", proxy.Stdout, StringComparison.Ordinal);
        Assert.Contains("TLS engine: OpenSSL 3.", proxy.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Failed_handshakes_are_counted_by_reason_in_the_admin_stats()
    {
        await using var backend = PathBackend();
        var (_, frontend, admin) = await StartAsync(CoreSets.FirstText, backend.Port);
        using (var plaintext = new Socket(SocketType.Stream, ProtocolType.Tcp))
        {
            await plaintext.ConnectAsync(frontend).WaitAsync(Clients.Timeout);
            await plaintext.SendAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: a\r\n\r\n")).WaitAsync(Clients.Timeout);
            await Clients.ReadUntilClosedAsync(plaintext).WaitAsync(Clients.Timeout);
        }

        Assert.True(
            await Eventually.HoldsAsync(async () => (await TlsRowsAsync(admin)).Sum(r => r.GetProperty("failures").GetProperty("notTls").GetInt64()) == 1),
            "the plaintext request was not counted as notTls");
    }

    [Fact]
    public async Task A_corrupted_record_after_the_handshake_is_counted_as_a_bad_record_in_the_json_metrics_and_page()
    {
        await using var backend = PathBackend();
        var (_, frontend, admin) = await StartAsync(CoreSets.FirstText, backend.Port);
        using (var socket = new Socket(SocketType.Stream, ProtocolType.Tcp))
        {
            await socket.ConnectAsync(frontend).WaitAsync(Clients.Timeout);
            var tamper = new TamperingStream(new NetworkStream(socket, ownsSocket: false));
            await using var ssl = new System.Net.Security.SslStream(tamper, leaveInnerStreamOpen: true, (_, certificate, _, _) => IsSiteCertificate(certificate));
            await ssl.AuthenticateAsClientAsync(new System.Net.Security.SslClientAuthenticationOptions { TargetHost = "a.example.test" }).WaitAsync(Clients.Timeout);
            tamper.CorruptNextWrite = true;
            await ssl.WriteAsync("GET /bad HTTP/1.1\r\nHost: a.example.test\r\n\r\n"u8.ToArray()).AsTask().WaitAsync(Clients.Timeout);

            // The proxy answers the record with an alert and closes: the client reads no response.
            var buffer = new byte[4096];
            while (await socket.ReceiveAsync(buffer).WaitAsync(Clients.Timeout) > 0)
            {
            }
        }

        Assert.True(await Eventually.HoldsAsync(async () => Sum(await TlsRowsAsync(admin), "badRecords") == 1), "the admin JSON counts no bad record");
        var rows = await TlsRowsAsync(admin);
        Assert.Equal((1L, 0L), (Sum(rows, "handshakes"), rows.Sum(r => r.GetProperty("failures").GetProperty("handshakeError").GetInt64())));
        var metrics = await AdminGetAsync(admin, "/metrics");
        Assert.Contains("fastsock_tls_bad_records_total{frontend=\"web\",worker=\"0\"} 1\n", metrics, StringComparison.Ordinal);
        var page = await AdminGetAsync(admin, "/stats");
        Assert.Contains("<th>bad records</th>", page, StringComparison.Ordinal);
    }
}
