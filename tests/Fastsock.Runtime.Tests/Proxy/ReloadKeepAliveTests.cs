using System.Collections.Concurrent;
using Fastsock.Tests.Samples;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// A keep-alive client connection outlives reloads: from its next request on it uses the reloaded values (here the
/// server timeout, the replay limit), read from the live config per exchange, not the ones in force when it connected.
/// </summary>
[Trait("Category", "Slow")] // real processes: skip with --filter Category!=Slow
public sealed class ReloadKeepAliveTests : IDisposable
{
    private readonly ConfigReloadTests _proxies = new();

    public void Dispose() => _proxies.Dispose();

    private static string Config(int backendPort, string serverTimeout, string backendMore = """, "retryOn": ["none"]""") => $$"""
        { "frontends": [ { "name": "web", "bind": ["127.0.0.1:0"], "mode": "http", "backend": "app" } ],
          "backends": [ { "name": "app", "servers": [ { "name": "raw", "address": "127.0.0.1:{{backendPort}}" } ]{{backendMore}} } ],
          "timeouts": { "server": "{{serverTimeout}}" } }
        """;

    [Fact]
    public async Task A_keep_alive_client_gets_the_reloaded_server_timeout_at_its_next_request()
    {
        await using var backend = new RawBackend(async conversation =>
        {
            while (true)
            {
                var head = await conversation.ReadHeadAsync();
                if (head.StartsWith("GET /slow", StringComparison.Ordinal))
                {
                    await conversation.ReadHeadAsync(); // never answers: holds the connection until the proxy gives up
                    return;
                }

                await conversation.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            }
        });
        var proxy = await _proxies.StartAsync(Config(backend.Port, "10m"), CoreSets.FirstText);
        using var client = await RawHttpClient.ConnectAsync(await proxy.ListeningOnAsync("frontend web"));
        await client.SendAsync("GET /fast HTTP/1.1\r\nHost: t\r\n\r\n");
        Assert.Equal(200, (await client.ReadResponseAsync()).Status);

        await _proxies.ReloadAsync(proxy, Config(backend.Port, "300ms"));
        await client.SendAsync("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");

        // With the value it connected under, the answer would come after 10 minutes.
        var response = await client.ReadResponseAsync().WaitAsync(Clients.Timeout);
        Assert.Equal(504, response.Status);
    }

    [Fact]
    public async Task A_keep_alive_client_gets_the_reloaded_retry_body_limit_at_its_next_request()
    {
        var bodies = new ConcurrentQueue<string>();
        int conversations = 0;
        await using var backend = new RawBackend(async conversation =>
        {
            bool first = Interlocked.Increment(ref conversations) == 1;
            await conversation.ReadHeadAsync();
            if (first)
            {
                // Serves the GET and is pooled, then dies under the POST without answering.
                await conversation.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na");
                await conversation.ReadHeadAsync();
                bodies.Enqueue(await conversation.ReadAsync(5));
                conversation.Socket.LingerState = new System.Net.Sockets.LingerOption(true, 0);
                conversation.Socket.Close();
                return;
            }

            bodies.Enqueue(await conversation.ReadAsync(5));
            await conversation.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb");
        });
        const string BufferedBodies = """, "retryOn": ["conn-failure", "empty-response", "buffered-body"]""";
        var proxy = await _proxies.StartAsync(Config(backend.Port, "10s", BufferedBodies), CoreSets.FirstText);
        using var client = await RawHttpClient.ConnectAsync(await proxy.ListeningOnAsync("frontend web"));
        await client.SendAsync("GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
        Assert.Equal(200, (await client.ReadResponseAsync()).Status);

        // With the limit it connected under (16384) the 5-byte body would be held and sent again on a new connection.
        await _proxies.ReloadAsync(proxy, Config(backend.Port, "10s", BufferedBodies + """, "retryBodyLimit": 0"""));
        await client.SendAsync("POST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello");

        Assert.Equal(502, (await client.ReadResponseAsync().WaitAsync(Clients.Timeout)).Status);
        Assert.Equal(["hello"], bodies);
        Assert.Equal(1, backend.Accepted);
    }
}
