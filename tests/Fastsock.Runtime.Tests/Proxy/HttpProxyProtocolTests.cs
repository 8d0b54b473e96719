using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Fastsock.Tests.Samples;
using static Fastsock.Tests.Proxy.AdminStatsTests;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// The PROXY protocol on http frontends (<c>acceptProxy</c>) and http-mode servers (<c>sendProxy</c>): the announced
/// client is the one X-Forwarded-For names and the one the server is told about, once per backend connection.
/// </summary>
[Trait("Category", "Slow")] // real processes, peers or long loads: skip with --filter Category!=Slow
public sealed partial class HttpProxyProtocolTests : HttpProxyHarness
{
    [Fact]
    public async Task A_v1_header_from_the_client_reaches_a_v1_server_once_per_backend_connection_and_sets_x_forwarded_for()
    {
        await using var backend = new RawBackend(c => AnswerWithWhatArrivedAsync(c, v2: false));
        var (_, web, _) = await StartFrontendAsync(backend.Port, "v1");

        using (var client = await RawHttpClient.ConnectAsync(web))
        {
            await client.SendAsync("PROXY TCP4 203.0.113.7 192.0.2.1 5555 80\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\n");
            var first = (await client.ReadResponseAsync()).Body;
            Assert.Matches(@"^proxy=PROXY TCP4 203\.0\.113\.7 127\.0\.0\.1 5555 \d+ xff=203\.0\.113\.7 request=1$", first);
            await client.SendAsync("GET /b HTTP/1.1\r\nHost: x\r\n\r\n");
            Assert.Matches(@"^proxy=PROXY TCP4 203\.0\.113\.7 127\.0\.0\.1 5555 \d+ xff=203\.0\.113\.7 request=2$", (await client.ReadResponseAsync()).Body);
        }

        // Another client: its own backend connection with its own header, never the first client's.
        using (var client = await RawHttpClient.ConnectAsync(web))
        {
            await client.SendAsync("PROXY TCP4 198.51.100.9 192.0.2.1 6666 80\r\nGET /c HTTP/1.1\r\nHost: x\r\n\r\n");
            Assert.Matches(@"^proxy=PROXY TCP4 198\.51\.100\.9 127\.0\.0\.1 6666 \d+ xff=198\.51\.100\.9 request=1$", (await client.ReadResponseAsync()).Body);
        }

        Assert.Equal(2, backend.Accepted);
    }

    [Fact]
    public async Task A_v2_header_from_the_client_reaches_a_v2_server_with_the_announced_source()
    {
        await using var backend = new RawBackend(c => AnswerWithWhatArrivedAsync(c, v2: true));
        var (_, web, _) = await StartFrontendAsync(backend.Port, "v2");
        // Written out from haproxy's proxy-protocol.txt, not by our writer: TCP over IPv6, [2001:db8::5]:4321 -> [2001:db8::1]:443.
        byte[] header =
        [
            0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x21, 0x21, 0x00, 0x24,
            0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x05,
            0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
            0x10, 0xE1, 0x01, 0xBB,
        ];

        using var client = await RawHttpClient.ConnectAsync(web);
        await client.SendAsync([.. header, .. "GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8]);
        var body = (await client.ReadResponseAsync()).Body;
        // The destination is the frontend's own IPv4 address: a mixed pair travels as IPv6 (IPv4-mapped).
        Assert.Equal("proxy=v2 source=[2001:db8::5]:4321 xff=2001:db8::5 request=1", body);
    }

    [Fact]
    public async Task A_malformed_proxy_header_closes_the_connection_and_is_counted()
    {
        await using var backend = new RawBackend(c => AnswerWithWhatArrivedAsync(c, v2: false));
        var (proxy, web, admin) = await StartFrontendAsync(backend.Port, "none");

        var answer = await ExchangeUntilCloseAsync(web, "PROXY TCP4 999.1.1.1 192.0.2.1 5555 80\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.Equal("", answer);
        Assert.Equal("", await ExchangeUntilCloseAsync(web, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")); // no header at all
        await proxy.WaitForLineAsync("closing the connection from");

        using (var client = await RawHttpClient.ConnectAsync(web))
        {
            await client.SendAsync("PROXY TCP4 203.0.113.7 192.0.2.1 5555 80\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
            Assert.Contains("xff=203.0.113.7", (await client.ReadResponseAsync()).Body, StringComparison.Ordinal);
        }

        using var stats = await RawHttpClient.ConnectAsync(admin);
        var json = await PollJsonAsync(stats, s => Frontend(s, "web").GetProperty("current").GetInt64() == 0);
        Assert.Equal(2, Frontend(json, "web").GetProperty("http").GetProperty("proxyHeaderErrors").GetInt64());
        Assert.Equal(1, Frontend(json, "web").GetProperty("http").GetProperty("requests").GetInt64());
        Assert.Equal(1, backend.Accepted);
    }

    private async Task<(Fastsock.Tests.Support.SampleProcess Proxy, IPEndPoint Web, IPEndPoint Admin)> StartFrontendAsync(int backendPort, string sendProxy)
    {
        var (proxy, _) = await StartProxyWithConfigAsync($$"""
            { "admin": { "bind": "127.0.0.1:0" }, "retries": 1,
              "timeouts": { "server": "10s", "httpRequest": "10s", "connect": "1s" },
              "frontends": [ { "name": "web", "bind": ["127.0.0.1:0"], "mode": "http", "backend": "b", "acceptProxy": true } ],
              "backends": [ { "name": "b", "servers": [ { "address": "127.0.0.1:{{backendPort}}", "sendProxy": "{{sendProxy}}" } ] } ] }
            """);
        return (proxy, await proxy.ListeningOnAsync("frontend web"), await proxy.ListeningOnAsync("admin"));
    }

    /// <summary>Reads the PROXY header once, then answers each request with that header, its X-Forwarded-For and its number.</summary>
    private static async Task AnswerWithWhatArrivedAsync(RawBackend.Conversation c, bool v2)
    {
        string proxy;
        if (v2)
        {
            // Decoded by hand from the spec's layout, not by our parser.
            var fixedPart = Encoding.Latin1.GetBytes(await c.ReadAsync(16));
            Assert.Equal("\r\n\r\n\0\r\nQUIT\n"u8.ToArray(), fixedPart[..12]);
            Assert.Equal(0x21, fixedPart[12]); // version 2, PROXY
            Assert.Equal(0x21, fixedPart[13]); // AF_INET6, STREAM: the destination is IPv4, so the pair travels as IPv6
            int length = (fixedPart[14] << 8) | fixedPart[15];
            Assert.Equal(36, length);
            var block = Encoding.Latin1.GetBytes(await c.ReadAsync(length));
            var source = new IPEndPoint(new IPAddress(block[..16]), (block[32] << 8) | block[33]);
            var destination = new IPAddress(block[16..32]);
            Assert.True(destination.IsIPv4MappedToIPv6, $"destination {destination} is not an IPv4-mapped address");
            proxy = $"v2 source={source}";
        }
        else
        {
            var head = await c.ReadHeadAsync();
            int line = head.IndexOf("\r\n", StringComparison.Ordinal);
            proxy = head[..line];
            await AnswerAsync(c, proxy, head[(line + 2)..], 1);
        }

        for (int request = v2 ? 1 : 2; ; request++)
        {
            await AnswerAsync(c, proxy, await c.ReadHeadAsync(), request);
        }
    }

    private static Task AnswerAsync(RawBackend.Conversation c, string proxy, string head, int request)
    {
        var xff = XffField().Match(head).Groups[1].Value;
        var body = $"proxy={proxy} xff={xff} request={request}";
        return c.SendAsync($"HTTP/1.1 200 OK\r\nContent-Length: {body.Length}\r\n\r\n{body}");
    }

    [GeneratedRegex(@"(?im)^X-Forwarded-For: *([^\r\n]*)\r?$")]
    private static partial Regex XffField();
}
