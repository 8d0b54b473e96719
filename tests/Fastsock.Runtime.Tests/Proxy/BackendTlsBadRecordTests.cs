using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using System.Text.Json;
using Fastsock.Tests.Samples;
using Fastsock.Tests.Support;
using Fastsock.Tests.Transport.Tls;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// A TLS server behind the proxy that, after a good handshake, sends a record the proxy cannot accept: a corrupted one
/// in place of the response head, a corrupted one inside the body (below and above the splice threshold, and right
/// after small good records in the same segment), or one cut short by its FIN inside the body. The proxy stays up and
/// logs one warning naming the backend, the server and what happened; the client gets a 502 for a bad head, or every
/// byte of the good records before the bad one and then the end of its connection; the server's connection is closed,
/// not pooled (the server sees it close), the record is counted on the admin endpoint, and the next request works.
/// In tcp mode the same record is counted and logged once, naming the frontend too, and the client gets every byte
/// before it, then a reset. The server is SslStream on a
/// TcpListener in the test process.
/// </summary>
[Trait("Category", "Slow")] // real processes and peers
public sealed class BackendTlsBadRecordTests : IDisposable
{
    private const string RejectedLine = "Backend b, server s1: the server sent a TLS record that failed to decrypt or verify";
    private const string TruncatedLine = "Backend b, server s1: the server closed its connection inside a TLS record";
    private const string TcpRejectedLine = "Frontend raw, backend b, server s1: the server sent a TLS record that failed to decrypt or verify";
    private const string TcpTruncatedLine = "Frontend raw, backend b, server s1: the server closed its connection inside a TLS record";

    private readonly BackendTlsTestBed _bed = new("fastsock-tlsbadrecord-");

    public static TheoryData<string, string> Cases
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var cores in CoreSets.OneAndTwoWorkers)
            {
                data.Add("/bad-head", cores);
                data.Add("/bad-body/50000/20000", cores); // under the splice threshold: copied
                data.Add("/bad-body/8388608/2097152", cores); // a large body, over the threshold
                data.Add("/cut-body/50000/20000", cores);
            }

            return data;
        }
    }

    public static TheoryData<SslProtocols, string> ProtocolCases
    {
        get
        {
            var data = new TheoryData<SslProtocols, string>();
            foreach (var cores in CoreSets.OneAndTwoWorkers)
            {
                data.Add(SslProtocols.Tls12, cores);
                data.Add(SslProtocols.Tls13, cores);
            }

            return data;
        }
    }

    public static TheoryData<string, SslProtocols, string> TcpCases
    {
        get
        {
            var data = new TheoryData<string, SslProtocols, string>();
            foreach (var cores in CoreSets.OneAndTwoWorkers)
            {
                data.Add("/burst-body/10000/4000", SslProtocols.Tls12, cores);
                data.Add("/burst-body/10000/4000", SslProtocols.Tls13, cores);
                data.Add("/cut-body/50000/20000", SslProtocols.Tls12 | SslProtocols.Tls13, cores);
            }

            return data;
        }
    }

    public void Dispose() => _bed.Dispose();

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task A_bad_record_from_a_tls_server_ends_only_its_exchange_is_logged_counted_and_not_pooled(string path, string cores) =>
        await BadRecordEndsOnlyItsExchangeAsync(path, cores, SslProtocols.Tls12 | SslProtocols.Tls13);

    [Theory]
    [MemberData(nameof(ProtocolCases))]
    public async Task Good_records_in_the_same_segment_as_a_bad_one_all_reach_the_client_before_its_fin(SslProtocols protocol, string cores) =>
        await BadRecordEndsOnlyItsExchangeAsync("/burst-body/10000/4000", cores, protocol); // the head, 4 good records and the bad one in one send

    [Theory]
    [MemberData(nameof(TcpCases))]
    public async Task In_tcp_mode_a_bad_record_from_a_tls_server_is_logged_once_and_counted(string path, SslProtocols protocol, string cores)
    {
        using var leaf = _bed.Ca.Issue(["backend.test"]);
        await using var backend = new FaultyTlsHttpBackend(leaf, protocol);
        var caFile = _bed.Ca.WritePem(_bed.Dir);
        var proxy = await _bed.StartProxyAsync($$"""
            { "admin": { "bind": "127.0.0.1:0" },
              "frontends": [ { "name": "raw", "bind": ["127.0.0.1:0"], "mode": "tcp", "backend": "b" } ],
              "backends": [ { "name": "b", "servers": [ { "name": "s1", "address": "127.0.0.1:{{backend.EndPoint.Port}}",
                              "tls": { "enabled": true, "caFile": "{{caFile}}", "sni": "backend.test", "handshakeTimeout": "60s" } } ] } ] }
            """, cores);
        var raw = await proxy.ListeningOnAsync("frontend raw");

        // The tunnel carries the client's request to the server as it is. When the server's read fails, the forward
        // aborts the server's connection at once and resets the client's once everything forwarded to it before has
        // arrived: the client gets the whole answer up to the bad record, then the reset.
        bool cut = path.StartsWith("/cut", StringComparison.Ordinal);
        string[] parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var (received, reset) = await ReadUntilClosedAsync(raw, path);
        Assert.True(reset, "the client's connection ended with a FIN, not the reset the log line says");
        byte[] answer =
        [
            .. Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {parts[1]}\r\n\r\n"),
            .. Enumerable.Range(0, int.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture)).Select(i => FaultyTlsHttpBackend.BodyByte(i)),
        ];
        Assert.True(received.Length == answer.Length, $"the client got {received.Length} of the {answer.Length} B the server sent before the bad record");
        Assert.True(received.AsSpan().SequenceEqual(answer), "the bytes the client got are not the server's answer");

        Assert.True(backend.Faults == 1, $"the server got the request {backend.Faults} times: {proxy.Stdout}");
        await Eventually.AssertAsync(() => backend.ClosedByPeer == 1, () => $"the proxy did not close the server's connection: {proxy.Stdout}{proxy.Stderr}");

        using var admin = await RawHttpClient.ConnectAsync(await proxy.ListeningOnAsync("admin"));
        var json = await AdminStatsTests.PollJsonAsync(admin, s => Sum(s, cut ? "truncatedRecords" : "badRecords") == 1);
        Assert.Equal(cut ? (0L, 1L) : (1L, 0L), (Sum(json, "badRecords"), Sum(json, "truncatedRecords")));

        // One warning line, naming the frontend, the backend and the server, and what the client got.
        string line = cut ? TcpTruncatedLine : TcpRejectedLine;
        await proxy.WaitForLineAsync(line);
        string[] lines = proxy.Stdout.Split('\n').Where(l => l.Contains(line, StringComparison.Ordinal)).ToArray();
        Assert.True(lines.Length == 1, $"expected one line with '{line}': {proxy.Stdout}");
        Assert.Contains("the client's connection was reset", lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain(cut ? TcpRejectedLine : TcpTruncatedLine, proxy.Stdout, StringComparison.Ordinal);
        Assert.True(proxy.Stderr.Length == 0, $"the proxy wrote to stderr: {proxy.Stderr}");
        Assert.DoesNotContain("Exception", proxy.Stdout, StringComparison.Ordinal);
    }

    private async Task BadRecordEndsOnlyItsExchangeAsync(string path, string cores, SslProtocols protocol)
    {
        using var leaf = _bed.Ca.Issue(["backend.test"]);
        await using var backend = new FaultyTlsHttpBackend(leaf, protocol);
        var caFile = _bed.Ca.WritePem(_bed.Dir);
        var proxy = await _bed.StartProxyAsync($$"""
            { "admin": { "bind": "127.0.0.1:0" },
              "frontends": [ { "name": "web", "bind": ["127.0.0.1:0"], "mode": "http", "backend": "b" } ],
              "backends": [ { "name": "b", "servers": [ { "name": "s1", "address": "127.0.0.1:{{backend.EndPoint.Port}}",
                              "tls": { "enabled": true, "caFile": "{{caFile}}", "sni": "backend.test", "handshakeTimeout": "60s" } } ] } ] }
            """, cores);
        var web = await proxy.ListeningOnAsync("frontend web");

        bool cut = path.StartsWith("/cut", StringComparison.Ordinal);
        if (path == "/bad-head")
        {
            using var client = await RawHttpClient.ConnectAsync(web);
            await client.SendAsync($"GET {path} HTTP/1.1\r\nHost: backend.test\r\n\r\n");
            var response = await client.ReadResponseAsync();
            Assert.True(response.Status == 502, $"{response.Status} {response.Body}: {proxy.Stdout}{proxy.Stderr}");
        }
        else
        {
            string[] parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
            int sent = int.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture);
            var (head, body, reset) = await GetUntilClosedAsync(web, path);
            Assert.False(reset, "the client's connection was reset after the bad record, not closed with a FIN");
            Assert.StartsWith("HTTP/1.1 200 ", head, StringComparison.Ordinal);
            Assert.Contains($"Content-Length: {parts[1]}\r\n", head, StringComparison.OrdinalIgnoreCase);
            Assert.Equal(sent, body.Length); // every byte before the bad record, none after it
            for (int i = 0; i < body.Length; i++)
            {
                Assert.True(body[i] == FaultyTlsHttpBackend.BodyByte(i), $"body byte {i} is {body[i]}, not {FaultyTlsHttpBackend.BodyByte(i)}");
            }
        }

        // The request was not sent again (a bad record is an answer, if a bad one), and the server's connection was
        // closed by the proxy: dropped, not kept in the pool.
        Assert.True(backend.Faults == 1, $"the server got the request {backend.Faults} times: {proxy.Stdout}");
        await Eventually.AssertAsync(() => backend.ClosedByPeer == 1, () => $"the proxy did not close the server's connection: {proxy.Stdout}{proxy.Stderr}");

        // The next request works, on a new connection to the server (a new handshake).
        using (var next = await RawHttpClient.ConnectAsync(web))
        {
            await next.SendAsync("GET /ok HTTP/1.1\r\nHost: backend.test\r\n\r\n");
            var response = await next.ReadResponseAsync();
            Assert.True(response.Status == 200 && response.Body == "ok", $"{response.Status} {response.Body}: {proxy.Stdout}{proxy.Stderr}");
        }

        Assert.Equal(2, backend.Handshakes);

        using var admin = await RawHttpClient.ConnectAsync(await proxy.ListeningOnAsync("admin"));
        string key = cut ? "truncatedRecords" : "badRecords";
        var json = await AdminStatsTests.PollJsonAsync(admin, s => Sum(s, key) == 1);
        Assert.Equal((cut ? 0 : 1, cut ? 1 : 0), (Sum(json, "badRecords"), Sum(json, "truncatedRecords")));
        Assert.Equal(0, json.GetProperty("tlsServers").EnumerateArray().Sum(r => r.GetProperty("failures").EnumerateObject().Sum(f => f.Value.GetInt64())));
        var metrics = AdminStatsTests.ParseMetrics((await AdminStatsTests.GetAsync(admin, "/metrics")).Body);
        double Series(string reason) => metrics
            .Where(m => m.Key.StartsWith("fastsock_tls_client_bad_records_total{backend=\"b\",server=\"s1\",", StringComparison.Ordinal)
                && m.Key.Contains($"reason=\"{reason}\"", StringComparison.Ordinal))
            .Sum(m => m.Value);
        Assert.Equal((cut ? 0 : 1, cut ? 1 : 0), (Series("rejected"), Series("truncated")));

        // One warning line, naming the backend and the server, what came from the server and what the client got.
        string line = cut ? TruncatedLine : RejectedLine;
        string[] lines = proxy.Stdout.Split('\n').Where(l => l.Contains(line, StringComparison.Ordinal)).ToArray();
        Assert.True(lines.Length == 1, $"expected one line with '{line}': {proxy.Stdout}");
        Assert.Contains(path == "/bad-head" ? "answered 502 to the client" : "the response to the client was cut short", lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain(cut ? RejectedLine : TruncatedLine, proxy.Stdout, StringComparison.Ordinal);

        // No exception escaped anywhere in the proxy: nothing on its stderr, and it still serves.
        Assert.True(proxy.Stderr.Length == 0, $"the proxy wrote to stderr: {proxy.Stderr}");
        Assert.DoesNotContain("Exception", proxy.Stdout, StringComparison.Ordinal);
    }

    private static long Sum(JsonElement stats, string key) =>
        stats.TryGetProperty("tlsServers", out var rows) ? rows.EnumerateArray().Sum(r => r.GetProperty(key).GetInt64()) : 0;

    /// <summary>
    /// Sends a GET for <paramref name="path"/> on a new connection and reads until the proxy closes it: the response
    /// head, the body bytes, and whether the close was a reset. The server sends its bad record right after the good
    /// ones: nothing here waits for the good bytes first.
    /// </summary>
    private static async Task<(string Head, byte[] Body, bool Reset)> GetUntilClosedAsync(EndPoint proxy, string path)
    {
        var (all, reset) = await ReadUntilClosedAsync(proxy, path);
        int headEnd = all.AsSpan().IndexOf("\r\n\r\n"u8);
        Assert.True(headEnd >= 0, $"no response head in {all.Length} bytes");
        return (Encoding.Latin1.GetString(all, 0, headEnd + 4), all[(headEnd + 4)..], reset);
    }

    /// <summary>Sends a GET for <paramref name="path"/> on a new connection; every byte received until the proxy closed it, and whether with a reset.</summary>
    private static async Task<(byte[] Received, bool Reset)> ReadUntilClosedAsync(EndPoint proxy, string path)
    {
        using var socket = new Socket(proxy.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(proxy).WaitAsync(Clients.Timeout);
        await socket.SendAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: backend.test\r\n\r\n"), SocketFlags.None).WaitAsync(Clients.Timeout);
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
            // Closed with a reset: what was received before it is still checked.
            reset = true;
        }

        return (received.ToArray(), reset);
    }
}
