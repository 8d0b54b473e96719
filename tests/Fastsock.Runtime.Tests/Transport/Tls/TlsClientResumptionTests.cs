using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using Fastsock.Hosting;
using Fastsock.Locality;
using Fastsock.Tests.Proxy;
using Fastsock.Tests.Support;
using Fastsock.Transport;
using Fastsock.Transport.Tls;

namespace Fastsock.Tests.Transport.Tls;

/// <summary>
/// The client layer resumes its sessions to a real nginx and counts it: each test connection makes a relay open a new
/// TLS connection from its worker (<see cref="TlsLayer.ClientAsync"/>) and ask for one path; nginx's
/// <c>$ssl_session_reused</c> is the other witness. Each test asks for a name of its own, because SslStream keeps one
/// session per name for the whole process and other tests handshake in parallel.
/// </summary>
[Trait("Category", "Slow")] // real nginx processes
public sealed class TlsClientResumptionTests : IDisposable
{
    private const int Connections = 4;

    private readonly string _dir = Directory.CreateTempSubdirectory("fastsock-client-resume-").FullName;
    private readonly TestCertificateAuthority _ca = new();

    public void Dispose()
    {
        _ca.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>What nginx is told about sessions: tickets (its default), session ids only, or neither.</summary>
    private static readonly Dictionary<string, string> SessionModes = new()
    {
        ["tickets"] = "",
        ["ids"] = "ssl_session_tickets off; ssl_session_cache shared:ids:1m;",
        ["refused"] = "ssl_session_tickets off; ssl_session_cache off;",
    };

    public static TheoryData<string, string, string> Cases
    {
        get
        {
            var data = new TheoryData<string, string, string>();
            foreach (var cores in CoreSets.OneAndTwoWorkers)
            {
                foreach (var protocol in new[] { "TLSv1.3", "TLSv1.2" })
                {
                    foreach (var mode in SessionModes.Keys)
                    {
                        data.Add(cores, protocol, mode);
                    }
                }
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Later_connections_to_the_same_server_resume_when_it_allows_and_the_count_matches_what_nginx_saw(string cores, string protocol, string mode)
    {
        var host = $"resume-{Guid.NewGuid():N}.test";
        using var nginx = await StartNginxAsync(host, protocol, SessionModes[mode]);
        var options = new TlsClientOptions
        {
            TargetHost = host,
            TrustedRoots = _ca.Roots,
            EnabledProtocols = protocol == "TLSv1.3" ? SslProtocols.Tls13 : SslProtocols.Tls12,
            HandshakeTimeout = TimeSpan.FromSeconds(60), // a loaded machine's first handshake (OpenSSL loading, JIT) is not the point
        };
        await using var relay = await StartRelayAsync(new IPEndPoint(IPAddress.Loopback, nginx.Port), options, cores);

        await AskAsync(relay, nginx);

        bool resumes = mode != "refused";
        var log = nginx.ResumptionLog();
        Assert.All(log, line => Assert.StartsWith(protocol + " ", line, StringComparison.Ordinal));
        Assert.Equal(resumes ? [".", "r", "r", "r"] : [".", ".", ".", "."], log.Select(line => line.Split(' ')[1]));
        await AssertCountedAsync(options, resumed: resumes ? Connections - 1 : 0);
        var stats = options.Stats.Snapshot();
        Assert.Equal(Connections, protocol == "TLSv1.3" ? stats.Tls13 : stats.Tls12);
    }

    [Theory]
    [InlineData("TLSv1.3")]
    [InlineData("TLSv1.2")]
    public async Task A_client_certificate_does_not_stop_resumption_and_a_resumed_session_still_carries_it(string protocol)
    {
        // SslStream caches client sessions per certificate context, so a fixed client certificate resumes; nginx
        // (ssl_verify_client on) answers 400 to a request without a verified certificate, so 200 proves it carried over.
        var host = $"resume-{Guid.NewGuid():N}.test";
        var clientCa = _ca.WritePem(_dir);
        using var nginx = await StartNginxAsync(host, protocol, SessionModes["tickets"], clientCa);
        using var clientCertificate = _ca.Issue(["proxy.test"], client: true);
        var options = new TlsClientOptions
        {
            TargetHost = host,
            TrustedRoots = _ca.Roots,
            ClientCertificate = clientCertificate,
            EnabledProtocols = protocol == "TLSv1.3" ? SslProtocols.Tls13 : SslProtocols.Tls12,
            HandshakeTimeout = TimeSpan.FromSeconds(60),
        };
        await using var relay = await StartRelayAsync(new IPEndPoint(IPAddress.Loopback, nginx.Port), options, CoreSets.FirstText);

        await AskAsync(relay, nginx);

        Assert.Equal([".", "r", "r", "r"], nginx.ResumptionLog().Select(line => line.Split(' ')[1]));
        await AssertCountedAsync(options, resumed: Connections - 1);
    }

    [Fact]
    public async Task A_server_asked_for_by_ip_address_gets_full_handshakes_because_sslstream_keys_its_sessions_by_name()
    {
        // SslStream's client session cache skips an empty or IP-address target host (dotnet/runtime's
        // Interop.OpenSsl.AllocateSslHandle): no ticket is offered, so nginx, which would resume, never can.
        using var nginx = await StartNginxAsync($"resume-{Guid.NewGuid():N}.test", "TLSv1.2 TLSv1.3", SessionModes["tickets"]);
        var options = new TlsClientOptions { TargetHost = "127.0.0.1", Verify = false, HandshakeTimeout = TimeSpan.FromSeconds(60) };
        await using var relay = await StartRelayAsync(new IPEndPoint(IPAddress.Loopback, nginx.Port), options, CoreSets.FirstText);

        await AskAsync(relay, nginx);

        Assert.Equal([".", ".", ".", "."], nginx.ResumptionLog().Select(line => line.Split(' ')[1]));
        await AssertCountedAsync(options, resumed: 0);
    }

    private async Task<NginxTlsServer> StartNginxAsync(string host, string protocols, string directives, string? clientCaFile = null)
    {
        using var leaf = _ca.Issue([host]);
        var name = $"nginx-{Guid.NewGuid():N}";
        var (cert, key) = TestCertificates.WritePem(leaf, _dir, name);
        return await LoopbackPorts.StartPeerAsync(port =>
            NginxTlsServer.StartAsync(Path.Combine(_dir, name), port, cert, key, clientCaFile: clientCaFile, protocols: protocols, serverDirectives: directives, logResumption: true));
    }

    /// <summary>One relay connection after another, each a new TLS connection to nginx; returns once nginx logged them all.</summary>
    private static async Task AskAsync(FastsockServer relay, NginxTlsServer nginx)
    {
        for (int i = 0; i < Connections; i++)
        {
            using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
            await client.ConnectAsync(relay.EndPoints[0]).WaitAsync(Clients.Timeout);
            var answer = Encoding.UTF8.GetString(await Clients.ReadToEndAsync(client).WaitAsync(Clients.Timeout));
            Assert.StartsWith("HTTP/1.1 200 OK", answer, StringComparison.Ordinal);
        }

        await Eventually.AssertAsync(() => nginx.ResumptionLog().Length == Connections, () => $"nginx logged {string.Join(" | ", nginx.ResumptionLog())}: {nginx.ErrorLog()}");
    }

    private static async Task AssertCountedAsync(TlsClientOptions options, long resumed)
    {
        await Eventually.AssertAsync(() => options.Stats.Snapshot().Closed == Connections, () => $"the client connections did not close: {options.Stats.Snapshot()}");
        var stats = options.Stats.Snapshot();
        Assert.Equal((Connections, resumed, 0L), (stats.Handshakes, stats.Resumed, stats.Failures));
        long perWorker = 0;
        for (int worker = 0; worker < 2; worker++)
        {
            perWorker += options.Stats.Snapshot(worker).Resumed;
        }

        Assert.Equal(resumed, perWorker);
    }

    /// <summary>
    /// A relay (<see cref="TlsClientRelay"/>) that asks for one path with <c>Connection: close</c> over each new TLS
    /// connection and relays the answer.
    /// </summary>
    private static Task<FastsockServer> StartRelayAsync(EndPoint backend, TlsClientOptions options, string cores)
    {
        int asked = 0;
        return TlsClientRelay.StartAsync(backend, options, cores, async (connection, tls) =>
        {
            int n = Interlocked.Increment(ref asked);
            await tls.Transport.Output.WriteAsync(Encoding.ASCII.GetBytes($"GET /plaintext?{n} HTTP/1.1\r\nHost: {options.TargetHost}\r\nConnection: close\r\n\r\n"));
            var input = tls.Transport.Input;
            while (true)
            {
                var result = await input.ReadAsync();
                foreach (var segment in result.Buffer)
                {
                    await connection.Transport.Output.WriteAsync(segment);
                }

                input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    break;
                }
            }

            input.Complete();
            tls.Transport.Output.Complete();
        });
    }
}
