using System.Net;
using System.Text.Json;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// A server that hangs (nginx stopped with SIGSTOP: its sockets accept, nothing answers): the server timeout answers
/// 504, passive health marks it DOWN after observe.errorLimit timeouts, the other server serves the rest, and the
/// active check brings it back once it runs again; with retryOn response-timeout the client never sees the timeout.
/// </summary>
public sealed class HungServerTests : HttpProxyHarness
{
    [Fact]
    public async Task A_stopped_server_gets_504s_until_passive_health_marks_it_down_then_the_other_server_serves_everything_until_the_check_brings_it_back()
    {
        var hung = await StartNginxAsync("hung");
        var ok = await StartNginxAsync("ok");
        // fall 100: the active check alone would not take it down during the test; its timeout fails while nginx is stopped.
        var (proxy, front, admin) = await StartProxyWithAdminAsync($$"""
            [ { "name": "hung", "address": "127.0.0.1:{{hung.Port}}" }, { "name": "ok", "address": "127.0.0.1:{{ok.Port}}" } ],
            "healthCheck": { "type": "http", "path": "/big", "interval": "200ms", "timeout": "300ms", "rise": 1, "fall": 100 },
            "observe": { "errorLimit": 2 }
            """, serverTimeout: "500ms");
        await GetAsync(front); // both servers answer before the stop (round robin), so both have pooled connections
        await GetAsync(front);

        hung.Signal("STOP");
        try
        {
            int timeouts = 0;
            bool down = await RedispatchTests.EventuallyAsync(async () =>
            {
                int status = await GetAsync(front);
                Assert.True(status is 200 or 504, $"answered {status}");
                timeouts += status == 504 ? 1 : 0;
                return Status(await RedispatchTests.ServerStatsAsync(admin, "hung")) == "DOWN";
            });
            Assert.True(down, "the stopped server was never marked DOWN");
            Assert.Equal(2, timeouts); // errorLimit timeouts in a row, then no more requests go there
            await proxy.WaitForLineAsync("is DOWN after 2 errors in a row on live traffic");

            for (int i = 0; i < 6; i++)
            {
                Assert.Equal(200, await GetAsync(front));
            }

            var failures = (await RedispatchTests.ServerStatsAsync(admin, "hung")).GetProperty("failures");
            Assert.Equal(2, failures.GetProperty("responseTimeout").GetInt64());
            Assert.Equal(1, failures.GetProperty("passiveMarkDowns").GetInt64());
            Assert.Equal(0, (await RedispatchTests.ServerStatsAsync(admin, "ok")).GetProperty("failures").GetProperty("responseTimeout").GetInt64());
        }
        finally
        {
            hung.Signal("CONT");
        }

        await proxy.WaitForLineAsync("hung (127.0.0.1:" + hung.Port + ") is UP after 1 good checks");
        long before = Answered2xx(await RedispatchTests.ServerStatsAsync(admin, "hung"));
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal(200, await GetAsync(front));
        }

        Assert.True(Answered2xx(await RedispatchTests.ServerStatsAsync(admin, "hung")) > before, "no request went to the server back UP");
    }

    [Fact]
    public async Task With_retry_on_response_timeout_a_get_sent_to_a_stopped_server_is_answered_by_the_other_server()
    {
        var hung = await StartNginxAsync("hung");
        var ok = await StartNginxAsync("ok");
        // The hung server weighs 10 against 1, and passive health is off: requests keep being sent to it first.
        var (_, front, admin) = await StartProxyWithAdminAsync($$"""
            [ { "name": "hung", "address": "127.0.0.1:{{hung.Port}}", "weight": 10 }, { "name": "ok", "address": "127.0.0.1:{{ok.Port}}" } ],
            "retryOn": [ "conn-failure", "empty-response", "response-timeout" ], "observe": { "onError": "none" }
            """, serverTimeout: "500ms");
        hung.Signal("STOP");
        try
        {
            for (int i = 0; i < 3; i++)
            {
                Assert.Equal(200, await GetAsync(front));
            }

            var failures = (await RedispatchTests.ServerStatsAsync(admin, "hung")).GetProperty("failures");
            Assert.InRange(failures.GetProperty("responseTimeout").GetInt64(), 1, 3);
            Assert.Equal(failures.GetProperty("responseTimeout").GetInt64(), failures.GetProperty("redispatches").GetInt64());
            Assert.Equal(3, Answered2xx(await RedispatchTests.ServerStatsAsync(admin, "ok")));
        }
        finally
        {
            hung.Signal("CONT");
        }
    }

    private static long Answered2xx(JsonElement server) => server.GetProperty("http").GetProperty("responses2xx").GetInt64();

    private static string? Status(JsonElement server) => server.GetProperty("status").GetString();

    /// <summary>One GET on its own client connection (a 504 closes the client connection); the status answered.</summary>
    private static async Task<int> GetAsync(IPEndPoint front)
    {
        var response = await ExchangeUntilCloseAsync(front, "GET /plaintext HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 ", response, StringComparison.Ordinal);
        return int.Parse(response.AsSpan(9, 3), System.Globalization.CultureInfo.InvariantCulture);
    }
}
