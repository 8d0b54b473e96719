using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Fastsock.Tests.Samples;
using static Fastsock.Tests.Proxy.AdminStatsTests;

namespace Fastsock.Tests.Proxy;

/// <summary>http mode with forwarding auto: bodies of known length from <c>http.spliceThreshold</c> on are spliced, exactly, keep-alive after.</summary>
[Trait("Category", "Slow")] // real processes, peers or long loads: skip with --filter Category!=Slow
public sealed class HttpSpliceTests : HttpProxyHarness
{
    private const int BigSize = 8 * 1024 * 1024;

    [Theory]
    [InlineData("auto")]
    [InlineData("copy")]
    public async Task A_large_response_from_nginx_is_byte_exact_and_spliced_only_in_auto_mode(string forwarding)
    {
        var file = RandomNumberGenerator.GetBytes(BigSize);
        var nginx = await StartNginxAsync(file);
        var (web, admin) = await StartAsync($$"""[ { "address": "127.0.0.1:{{nginx.Port}}" } ]""", forwarding);

        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(web);
        using var reader = new ResponseReader(client);
        await client.SendAsync("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());
        var (head, body) = await reader.ReadAsync();
        Assert.StartsWith("HTTP/1.1 200 ", head, StringComparison.Ordinal);
        Assert.Equal(SHA256.HashData(file), SHA256.HashData(body));

        await client.SendAsync("GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray()); // the same connection, kept alive
        var (_, hello) = await reader.ReadAsync();
        Assert.Equal("Hello", Encoding.ASCII.GetString(hello));

        using var stats = await RawHttpClient.ConnectAsync(admin);
        var json = await PollJsonAsync(stats, _ => true);
        long spliced = json.GetProperty("workers")[0].GetProperty("bytesSpliced").GetInt64();
        if (forwarding == "auto")
        {
            Assert.InRange(spliced, BigSize - (1024 * 1024), BigSize + 1024);
        }
        else
        {
            Assert.Equal(0, spliced);
        }

        var frontend = Frontend(json, "web");
        Assert.True(frontend.GetProperty("bytesOut").GetInt64() >= BigSize);
        Assert.Equal(2, frontend.GetProperty("http").GetProperty("responses2xx").GetInt64());
    }

    [Fact]
    public async Task A_large_request_body_with_content_length_reaches_the_server_exactly_and_the_connection_goes_on()
    {
        await using var backend = new RawBackend(async c =>
        {
            while (true)
            {
                var head = await c.ReadHeadAsync();
                int length = int.Parse(System.Text.RegularExpressions.Regex.Match(head, @"(?i)Content-Length: *(\d+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                var body = Encoding.Latin1.GetBytes(await c.ReadAsync(length));
                var hash = Convert.ToHexString(SHA256.HashData(body));
                await c.SendAsync($"HTTP/1.1 200 OK\r\nContent-Length: {hash.Length}\r\n\r\n{hash}");
            }
        });
        var (web, admin) = await StartAsync($$"""[ { "address": "127.0.0.1:{{backend.Port}}" } ]""", "auto");
        var payload = RandomNumberGenerator.GetBytes((2 * 1024 * 1024) + 3);

        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(web);
        using var reader = new ResponseReader(client);
        for (int i = 0; i < 2; i++)
        {
            await client.SendAsync(Encoding.ASCII.GetBytes($"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: {payload.Length}\r\n\r\n"));
            await client.SendAsync(payload);
            var (_, answer) = await reader.ReadAsync();
            Assert.Equal(Convert.ToHexString(SHA256.HashData(payload)), Encoding.ASCII.GetString(answer));
        }

        Assert.Equal(1, backend.Accepted);
        using var stats = await RawHttpClient.ConnectAsync(admin);
        var json = await PollJsonAsync(stats, _ => true);
        Assert.True(json.GetProperty("workers")[0].GetProperty("bytesSpliced").GetInt64() >= payload.Length, "the request bodies were not spliced");
    }

    private async Task<(IPEndPoint Web, IPEndPoint Admin)> StartAsync(string servers, string forwarding)
    {
        var (proxy, _) = await StartProxyWithConfigAsync($$"""
            { "admin": { "bind": "127.0.0.1:0" }, "forwarding": "{{forwarding}}", "http": { "spliceThreshold": 65536 },
              "timeouts": { "server": "10s", "httpRequest": "10s", "connect": "1s" },
              "frontends": [ { "name": "web", "bind": ["127.0.0.1:0"], "mode": "http", "backend": "b" } ],
              "backends": [ { "name": "b", "servers": {{servers}} } ] }
            """);
        return (await proxy.ListeningOnAsync("frontend web"), await proxy.ListeningOnAsync("admin"));
    }

    /// <summary>Binary responses framed by Content-Length, read off one keep-alive connection.</summary>
    private sealed class ResponseReader(Socket socket) : IDisposable
    {
        private readonly MemoryStream _pending = new();

        public void Dispose() => _pending.Dispose();

        public async Task<(string Head, byte[] Body)> ReadAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            int end;
            while ((end = _pending.GetBuffer().AsSpan(0, (int)_pending.Length).IndexOf("\r\n\r\n"u8)) < 0)
            {
                await MoreAsync(timeout.Token);
            }

            var head = Encoding.Latin1.GetString(_pending.GetBuffer(), 0, end + 4);
            int length = int.Parse(System.Text.RegularExpressions.Regex.Match(head, @"(?i)Content-Length: *(\d+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            while (_pending.Length < end + 4 + length)
            {
                await MoreAsync(timeout.Token);
            }

            var body = _pending.GetBuffer().AsSpan(end + 4, length).ToArray();
            var rest = _pending.GetBuffer().AsSpan(end + 4 + length, (int)_pending.Length - end - 4 - length).ToArray();
            _pending.SetLength(0);
            _pending.Write(rest);
            return (head, body);
        }

        private async Task MoreAsync(CancellationToken cancellationToken)
        {
            var buffer = new byte[256 * 1024];
            int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
            if (n == 0)
            {
                throw new EndOfStreamException("the proxy closed the connection");
            }

            _pending.Write(buffer, 0, n);
        }
    }
}
