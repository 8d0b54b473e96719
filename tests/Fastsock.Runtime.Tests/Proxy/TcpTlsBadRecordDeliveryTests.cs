using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using System.Text.Json;
using Fastsock.Tests.Samples;
using Fastsock.Tests.Support;
using Fastsock.Tests.Transport.Tls;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// The proxy in tcp mode, with megabytes of good TLS records, then a corrupted one, coming from one side while the
/// other side is slow to read: every good byte queued for the slow side (in its output pipe and in the socket's send
/// queue) reaches it, and only then is its connection reset, so that it can tell the stream was cut. From a TLS server
/// to a plain client (records one per write, or all in one send), and from a TLS client to a plain server. The slow
/// side starts reading only once the whole stream, bad record included, has left the sending peer: the proxy then
/// holds most of it, as a slow reader makes it, when it meets the bad record. A side that reads nothing is reset
/// anyway once the wait runs out.
/// </summary>
[Trait("Category", "Slow")] // real processes and peers
public sealed class TcpTlsBadRecordDeliveryTests : IDisposable
{
    private const int GoodBytes = 2 * 1024 * 1024;
    private const int SlowReceiveBuffer = 64 * 1024;
    private const int RoomyBuffer = 4 * 1024 * 1024; // net.core.wmem_max's usual value; the kernel doubles it
    private const string TcpRejectedLine = "Frontend raw, backend b, server s1: the server sent a TLS record that failed to decrypt or verify";

    private readonly BackendTlsTestBed _bed = new("fastsock-tcptlsloss-");

    public static TheoryData<string, SslProtocols, string> ServerCases
    {
        get
        {
            var data = new TheoryData<string, SslProtocols, string>();
            foreach (var cores in CoreSets.OneAndTwoWorkers)
            {
                foreach (var protocol in new[] { SslProtocols.Tls12, SslProtocols.Tls13 })
                {
                    data.Add($"/bad-body/{GoodBytes + 1_000_000}/{GoodBytes}", protocol, cores); // a record per write
                    data.Add($"/burst-body/{GoodBytes + 1_000_000}/{GoodBytes}", protocol, cores); // all in one send
                }
            }

            return data;
        }
    }

    public static TheoryData<string, SslProtocols, string> ClientCases
    {
        get
        {
            var data = new TheoryData<string, SslProtocols, string>();
            foreach (var cores in CoreSets.OneAndTwoWorkers)
            {
                foreach (var protocol in new[] { SslProtocols.Tls12, SslProtocols.Tls13 })
                {
                    data.Add("openssl", protocol, cores);
                    data.Add("sslstream", protocol, cores);
                }
            }

            return data;
        }
    }

    public void Dispose() => _bed.Dispose();

    [Theory]
    [MemberData(nameof(ServerCases))]
    public async Task Every_good_byte_from_a_tls_server_reaches_a_slow_client_before_the_reset_that_a_bad_record_causes(string path, SslProtocols protocol, string cores)
    {
        using var leaf = _bed.Ca.Issue(["backend.test"]);
        await using var backend = new FaultyTlsHttpBackend(leaf, protocol, sendBufferSize: RoomyBuffer);
        var caFile = _bed.Ca.WritePem(_bed.Dir);
        var proxy = await _bed.StartProxyAsync($$"""
            { "admin": { "bind": "127.0.0.1:0" },
              "frontends": [ { "name": "raw", "bind": ["127.0.0.1:0"], "mode": "tcp", "backend": "b" } ],
              "backends": [ { "name": "b", "servers": [ { "name": "s1", "address": "127.0.0.1:{{backend.EndPoint.Port}}",
                              "tls": { "enabled": true, "caFile": "{{caFile}}", "sni": "backend.test", "handshakeTimeout": "60s" } } ] } ] }
            """, cores);
        var raw = await proxy.ListeningOnAsync("frontend raw");

        using var socket = new Socket(raw.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = SlowReceiveBuffer };
        await socket.ConnectAsync(raw).WaitAsync(Clients.Timeout);
        await socket.SendAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: backend.test\r\n\r\n"), SocketFlags.None).WaitAsync(Clients.Timeout);

        // Not a byte read until the server has written its last good record and the bad one.
        await Eventually.AssertAsync(() => backend.Faults == 1, () => $"the server did not get to its bad record: {proxy.Stdout}{proxy.Stderr}");
        var (received, reset) = await ReadUntilClosedAsync(socket);

        string[] parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        byte[] head = Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {parts[1]}\r\n\r\n");
        Assert.True(received.Length == head.Length + GoodBytes, $"the client got {received.Length} of the {head.Length + GoodBytes} B the server sent before its bad record (reset: {reset})");
        Assert.True(received.AsSpan(0, head.Length).SequenceEqual(head), "the response head did not come first");
        for (int i = 0; i < GoodBytes; i++)
        {
            Assert.True(received[head.Length + i] == FaultyTlsHttpBackend.BodyByte(i), $"body byte {i} is {received[head.Length + i]}, not {FaultyTlsHttpBackend.BodyByte(i)}");
        }

        Assert.True(reset, "the client's connection ended with a FIN after the good bytes: it cannot tell the stream was cut");
        await Eventually.AssertAsync(() => backend.ClosedByPeer == 1, () => $"the proxy did not close the server's connection: {proxy.Stdout}{proxy.Stderr}");

        using (var admin = await RawHttpClient.ConnectAsync(await proxy.ListeningOnAsync("admin")))
        {
            var json = await AdminStatsTests.PollJsonAsync(admin, s => Sum(s, "badRecords") == 1);
            Assert.Equal((1L, 0L), (Sum(json, "badRecords"), Sum(json, "truncatedRecords")));
        }

        await proxy.WaitForLineAsync(TcpRejectedLine);
        string[] lines = proxy.Stdout.Split('\n').Where(l => l.Contains(TcpRejectedLine, StringComparison.Ordinal)).ToArray();
        Assert.True(lines.Length == 1, $"expected one line with '{TcpRejectedLine}': {proxy.Stdout}");
        Assert.Contains("the client's connection was reset", lines[0], StringComparison.Ordinal);

        // The proxy still serves: the next connection gets its answer.
        using (var next = new Socket(raw.AddressFamily, SocketType.Stream, ProtocolType.Tcp))
        {
            await next.ConnectAsync(raw).WaitAsync(Clients.Timeout);
            await next.SendAsync("GET /ok HTTP/1.1\r\nHost: backend.test\r\n\r\n"u8.ToArray(), SocketFlags.None).WaitAsync(Clients.Timeout);
            byte[] ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"u8.ToArray();
            Assert.Equal(ok, await Clients.ReceiveExactlyAsync(next, ok.Length).WaitAsync(Clients.Timeout));
        }

        Assert.True(proxy.Stderr.Length == 0, $"the proxy wrote to stderr: {proxy.Stderr}");
        Assert.DoesNotContain("Exception", proxy.Stdout, StringComparison.Ordinal);
    }

    /// <summary>
    /// The wait for the queued bytes is bounded: a client that reads nothing is reset anyway (after a few seconds), and
    /// then finds the bytes its socket had taken, in order, and the reset.
    /// </summary>
    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task A_client_that_reads_nothing_is_reset_once_the_wait_for_its_queued_bytes_runs_out(string cores)
    {
        string path = $"/bad-body/{GoodBytes + 1_000_000}/{GoodBytes}";
        using var leaf = _bed.Ca.Issue(["backend.test"]);
        await using var backend = new FaultyTlsHttpBackend(leaf, SslProtocols.Tls13, sendBufferSize: RoomyBuffer);
        var caFile = _bed.Ca.WritePem(_bed.Dir);
        var proxy = await _bed.StartProxyAsync($$"""
            { "frontends": [ { "name": "raw", "bind": ["127.0.0.1:0"], "mode": "tcp", "backend": "b" } ],
              "backends": [ { "name": "b", "servers": [ { "name": "s1", "address": "127.0.0.1:{{backend.EndPoint.Port}}",
                              "tls": { "enabled": true, "caFile": "{{caFile}}", "sni": "backend.test", "handshakeTimeout": "60s" } } ] } ] }
            """, cores);
        var raw = await proxy.ListeningOnAsync("frontend raw");

        using var socket = new Socket(raw.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = SlowReceiveBuffer };
        await socket.ConnectAsync(raw).WaitAsync(Clients.Timeout);
        await socket.SendAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: backend.test\r\n\r\n"), SocketFlags.None).WaitAsync(Clients.Timeout);
        await Eventually.AssertAsync(() => backend.Faults == 1, () => $"the server did not get to its bad record: {proxy.Stdout}{proxy.Stderr}");

        // The line is written when the forward has ended, the client's connection reset: the client has read nothing.
        await proxy.WaitForLineAsync(TcpRejectedLine);
        var (received, reset) = await ReadUntilClosedAsync(socket);
        Assert.True(reset, $"the client's connection was not reset after {received.Length} B");
        Assert.True(received.Length < GoodBytes, $"the client that read nothing still got {received.Length} B: the wait did not run out");
        byte[] head = Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {GoodBytes + 1_000_000}\r\n\r\n");
        Assert.True(received.Length >= head.Length && received.AsSpan(0, head.Length).SequenceEqual(head), $"the {received.Length} B the client got do not start with the response head");
        for (int i = head.Length; i < received.Length; i++)
        {
            Assert.True(received[i] == FaultyTlsHttpBackend.BodyByte(i - head.Length), $"body byte {i - head.Length} is {received[i]}, not {FaultyTlsHttpBackend.BodyByte(i - head.Length)}");
        }

        Assert.True(proxy.Stderr.Length == 0, $"the proxy wrote to stderr: {proxy.Stderr}");
        Assert.DoesNotContain("Exception", proxy.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(ClientCases))]
    public async Task Every_good_byte_from_a_tls_client_reaches_a_slow_server_before_a_bad_record_closes_it(string engine, SslProtocols protocol, string cores)
    {
        using var site = TestCertificates.Create("secure.test", ["secure.test"]);
        var (cert, key) = TestCertificates.WritePem(site, _bed.Dir, "secure");
        using var listener = new Socket(SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = SlowReceiveBuffer }; // accepted sockets inherit it
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(8);
        var proxy = await _bed.StartProxyAsync($$"""
            { "admin": { "bind": "127.0.0.1:0" },
              "frontends": [ { "name": "secure", "bind": ["127.0.0.1:0"], "mode": "tcp", "backend": "b",
                               "tls": { "certificates": [ { "cert": "{{cert}}", "key": "{{key}}" } ], "handshakeTimeout": "60s", "engine": "{{engine}}" } } ],
              "backends": [ { "name": "b", "servers": [ { "name": "s1", "address": "127.0.0.1:{{((IPEndPoint)listener.LocalEndPoint!).Port}}" } ] } ] }
            """, cores);
        var frontend = await proxy.ListeningOnAsync("frontend secure");

        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp) { SendBufferSize = RoomyBuffer };
        await client.ConnectAsync(frontend).WaitAsync(Clients.Timeout);
        var faults = new RecordFaultStream(client);
        await using var ssl = new SslStream(faults, leaveInnerStreamOpen: true, (_, certificate, _, _) => certificate is not null);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "secure.test", EnabledSslProtocols = protocol }).WaitAsync(Clients.Timeout);
        using var server = await listener.AcceptAsync().WaitAsync(Clients.Timeout);

        // 16 KiB records, then a corrupted one; all of it leaves the client (into its roomy send buffer) before the
        // server reads a byte.
        var sent = new byte[GoodBytes];
        new Random(17).NextBytes(sent);
        for (int at = 0; at < sent.Length; at += 16 * 1024)
        {
            await ssl.WriteAsync(sent.AsMemory(at, 16 * 1024)).AsTask().WaitAsync(Clients.Timeout);
        }

        faults.CorruptNextWrite = true;
        await ssl.WriteAsync(new byte[16 * 1024]).AsTask().WaitAsync(Clients.Timeout);

        var (received, reset) = await ReadUntilClosedAsync(server);
        Assert.True(received.Length == sent.Length, $"the server got {received.Length} of the {sent.Length} B the client sent before its bad record (reset: {reset})");
        Assert.True(received.AsSpan().SequenceEqual(sent), "the bytes the server got differ from the client's");
        Assert.True(reset, "the server's connection ended with a FIN after the good bytes: it cannot tell the stream was cut");

        using (var admin = await RawHttpClient.ConnectAsync(await proxy.ListeningOnAsync("admin")))
        {
            var json = await AdminStatsTests.PollJsonAsync(admin, s => FrontendBadRecords(s) == 1);
            Assert.Equal(1L, FrontendBadRecords(json));
        }

        Assert.True(proxy.Stderr.Length == 0, $"the proxy wrote to stderr: {proxy.Stderr}");
        Assert.DoesNotContain("Exception", proxy.Stdout, StringComparison.Ordinal);
    }

    private static long Sum(JsonElement stats, string key) =>
        stats.TryGetProperty("tlsServers", out var rows) ? rows.EnumerateArray().Sum(r => r.GetProperty(key).GetInt64()) : 0;

    /// <summary>Bad records the frontends' TLS layers counted (the <c>tls.frontends</c> rows of the admin JSON).</summary>
    private static long FrontendBadRecords(JsonElement stats) =>
        stats.TryGetProperty("tls", out var tls) && tls.TryGetProperty("frontends", out var rows) ? rows.EnumerateArray().Sum(r => r.GetProperty("badRecords").GetInt64()) : 0;

    /// <summary>Every byte received until the peer closed, and whether it closed with a reset.</summary>
    private static async Task<(byte[] Received, bool Reset)> ReadUntilClosedAsync(Socket socket)
    {
        var received = new MemoryStream();
        var buffer = new byte[64 * 1024];
        bool reset = false;
        try
        {
            int n;
            while ((n = await socket.ReceiveAsync(buffer.AsMemory()).AsTask().WaitAsync(Clients.Timeout)) > 0)
            {
                received.Write(buffer, 0, n);
            }
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset)
        {
            reset = true;
        }

        return (received.ToArray(), reset);
    }
}
