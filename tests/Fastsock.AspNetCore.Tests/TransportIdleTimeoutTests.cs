using System.Diagnostics;
using System.Net.Sockets;
using Fastsock.AspNetCore.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Fastsock.AspNetCore.Tests;

/// <summary>
/// The transport's idle limit (<c>FastsockTransportOptions.Connection.IdleTimeout</c>, 1 hour by default here) reaches
/// the workers: a short one closes an idle connection long before Kestrel's own keep-alive timeout (130 s) would,
/// and <see cref="Timeout.InfiniteTimeSpan"/> turns it off. Real Kestrel, raw sockets.
/// </summary>
public sealed class TransportIdleTimeoutTests
{
    private const string Body = "still here";

    [Fact]
    public void The_transport_idle_limit_is_an_hour_unless_set()
    {
        Assert.Equal(TimeSpan.FromHours(1), new FastsockTransportOptions().Connection.IdleTimeout);
    }

    [Fact]
    public async Task A_connection_idle_past_a_short_transport_limit_is_closed_by_the_transport()
    {
        // No request at all: nothing the app does (a first request's JIT, on a slow machine) can look like idleness,
        // and Kestrel would only close this connection after its 130 s keep-alive timeout.
        var limit = TimeSpan.FromMilliseconds(300);
        await using var app = await StartAsync(limit);
        var idleSince = Stopwatch.StartNew(); // the server's last activity (the accept) comes after this
        long bytes;
        try
        {
            using var socket = await RawHttp.ConnectAsync(app.EndPoint);
            (bytes, _) = await Clients.ReadUntilClosedAsync(socket); // a FIN or a reset: gives up after Clients.Timeout
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
        {
            // On a busy machine the client's connect can complete (in the thread pool) after the limit's reset has
            // arrived: the close came all the same, and its time is checked below.
            bytes = 0;
        }

        var elapsed = idleSince.Elapsed;

        Assert.Equal(0L, bytes);
        Assert.True(elapsed >= limit - TimeSpan.FromMilliseconds(Clients.CoarseClockSlackMs), $"closed after {elapsed.TotalMilliseconds:F0} ms, before the {limit.TotalMilliseconds} ms limit");
        Assert.True(elapsed < Clients.Timeout, $"closed only after {elapsed.TotalSeconds:F1} s");
    }

    [Fact]
    public async Task With_an_infinite_transport_limit_an_idle_keep_alive_connection_stays_open_for_its_next_request()
    {
        await using var app = await StartAsync(Timeout.InfiniteTimeSpan);
        using var socket = await RawHttp.ConnectAsync(app.EndPoint);
        await RawHttp.SendAsync(socket, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        await RawHttp.ReadUntilAsync(socket, Body, 1);

        // Many timer-wheel ticks (50 ms each) and three times the short limit above: a limit wrongly armed with the
        // infinite value (-1 ms) has closed the connection by then.
        await Task.Delay(TimeSpan.FromSeconds(1));
        await RawHttp.SendAsync(socket, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        var text = await RawHttp.ReadToEndAsync(socket);

        Assert.Contains(Body, text, StringComparison.Ordinal);
    }

    private static Task<TestApp> StartAsync(TimeSpan idleTimeout) => TestApp.StartAsync(
        a => a.MapGet("/", () => Body),
        configure: b => b.Services.Configure<FastsockTransportOptions>(o => o.Connection.IdleTimeout = idleTimeout));
}
