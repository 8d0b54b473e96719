using System.Net;
using System.Net.Sockets;
using Fastsock.AspNetCore.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;

namespace Fastsock.AspNetCore.Tests;

/// <summary>Kestrel's lifecycle on Fastsock: binding (port 0, both families, port in use) and graceful shutdown.</summary>
public sealed class ShutdownAndBindingTests
{
    [Fact]
    public async Task Graceful_shutdown_stops_accepting_and_lets_the_request_in_flight_finish()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var app = await TestApp.StartAsync(a => a.MapGet("/slow", async () =>
        {
            started.TrySetResult();
            await release.Task;
            return "finished";
        }));
        try
        {
            var endPoint = app.EndPoint;
            using var client = app.Client();
            var inFlight = client.GetStringAsync("/slow");
            await started.Task.WaitAsync(Clients.Timeout);

            using var stopping = new CancellationTokenSource(Clients.Timeout);
            var stop = app.App.StopAsync(stopping.Token);

            // Unbound: the listening sockets are closed, so a new connection is refused.
            await Eventually.AssertAsync(() => Refuses(endPoint), () => $"{endPoint} still accepts connections during shutdown");
            Assert.False(stop.IsCompleted, "the stop finished while a request was still running");

            release.TrySetResult();
            Assert.Equal("finished", await inFlight.WaitAsync(Clients.Timeout));
            await stop.WaitAsync(Clients.Timeout);
        }
        finally
        {
            release.TrySetResult();
            await app.App.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_port_in_use_fails_the_start_as_kestrel_reports_it()
    {
        using var holder = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        holder.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        holder.Listen();
        int port = ((IPEndPoint)holder.LocalEndPoint!).Port;

        var error = await Assert.ThrowsAsync<IOException>(() => TestApp.StartAsync(_ => { }, url: $"http://127.0.0.1:{port}"));
        Assert.Contains("address already in use", error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.IsType<AddressInUseException>(error.InnerException);
        Assert.Contains(port.ToString(System.Globalization.CultureInfo.InvariantCulture), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wildcard_address_on_port_0_serves_ipv4_and_ipv6_on_one_port()
    {
        await using var app = await TestApp.StartAsync(a => a.MapGet("/", () => "both"), url: "http://*:0");
        int port = app.BaseUri.Port;
        Assert.NotEqual(0, port);
        using var client = new HttpClient { Timeout = Clients.Timeout };
        Assert.Equal("both", await client.GetStringAsync($"http://127.0.0.1:{port}/"));
        if (Socket.OSSupportsIPv6 && HasIpv6Loopback())
        {
            Assert.Equal("both", await client.GetStringAsync($"http://[::1]:{port}/"));
        }
    }

    [Fact]
    public async Task Localhost_is_served_on_the_ipv4_loopback_and_the_ipv6_one_when_there_is_one()
    {
        // Kestrel refuses port 0 for localhost: take a probed port, again on a fresh one if another process took it.
        await using var app = await LoopbackPorts.StartPeerAsync(port => TestApp.StartAsync(a => a.MapGet("/", () => "local"), url: $"http://localhost:{port}"));
        int bound = app.BaseUri.Port;
        using var client = new HttpClient { Timeout = Clients.Timeout };
        Assert.Equal("local", await client.GetStringAsync($"http://127.0.0.1:{bound}/"));
        if (HasIpv6Loopback())
        {
            Assert.Equal("local", await client.GetStringAsync($"http://[::1]:{bound}/"));
        }
    }

    [Ipv6Fact]
    public async Task An_ipv6_loopback_address_is_served()
    {
        await using var app = await TestApp.StartAsync(a => a.MapGet("/", () => "six"), url: "http://[::1]:0");
        Assert.Equal(AddressFamily.InterNetworkV6, app.EndPoint.AddressFamily);
        using var client = app.Client();
        Assert.Equal("six", await client.GetStringAsync("/"));
    }

    private static bool Refuses(IPEndPoint endPoint)
    {
        using var probe = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            probe.Connect(endPoint);
            return false;
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return true;
        }
    }

    internal static bool HasIpv6Loopback()
    {
        try
        {
            using var probe = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
            probe.Bind(new IPEndPoint(IPAddress.IPv6Loopback, 0));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}

/// <summary>A fact that needs an IPv6 loopback; skipped, saying why, where there is none.</summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class Ipv6FactAttribute : FactAttribute
{
    public Ipv6FactAttribute()
    {
        if (!ShutdownAndBindingTests.HasIpv6Loopback())
        {
            Skip = "This machine has no IPv6 loopback (::1) to bind.";
        }
    }
}
