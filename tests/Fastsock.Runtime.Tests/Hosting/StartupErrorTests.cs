using System.Net;
using System.Net.Sockets;
using Fastsock.Locality;
using Fastsock.Native;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Hosting;

public sealed class StartupErrorTests
{
    [Fact]
    public async Task A_cpu_outside_the_affinity_mask_is_named_in_the_error()
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => TestServers.StartAsync(TestServers.Echo, o => o.Cores = CpuSet.Of(999)));
        Assert.Contains("999", error.Message, StringComparison.Ordinal);
        Assert.Contains("affinity", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("3-1")]
    [InlineData("abc")]
    [InlineData("")]
    public void A_malformed_cpu_set_is_a_format_error_that_quotes_the_text(string text)
    {
        var error = Assert.Throws<FormatException>(() => CpuSet.Parse(text));
        Assert.Contains(text.Length == 0 ? "empty" : $"'{text}'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_negative_shutdown_timeout_is_refused_in_one_line_that_says_what_to_give()
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => TestServers.StartAsync(TestServers.Echo, o => o.ShutdownTimeout = TimeSpan.FromSeconds(-1)));
        Assert.Equal(
            "ShutdownTimeout -00:00:01 is negative; give how long a stop waits for open connections before aborting them (e.g. 00:00:10), or zero to abort them at once.",
            error.Message);
    }

    [Fact]
    public async Task A_negative_keep_alive_grace_is_refused_in_one_line_that_says_what_to_give()
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => TestServers.StartAsync(TestServers.Echo, o => o.Handover.KeepAliveGrace = TimeSpan.FromMilliseconds(-1)));
        Assert.Equal(
            "Handover.KeepAliveGrace -00:00:00.0010000 is negative; give how long the old server's keep-alive connections may still bring a request after a hand-over (e.g. 00:00:02), or zero to close the idle ones at once.",
            error.Message);
    }

    [Fact]
    public async Task A_port_held_by_a_plain_listener_fails_with_bind_and_EADDRINUSE()
    {
        using var holder = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        holder.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        holder.Listen();
        await AssertPortInUseAsync((IPEndPoint)holder.LocalEndPoint!);
    }

    [Fact]
    public async Task A_port_held_by_another_reuseport_listener_still_fails_with_EADDRINUSE()
    {
        using var holder = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        holder.SetRawSocketOption(SocketCalls.SOL_SOCKET, SocketCalls.SO_REUSEPORT, BitConverter.GetBytes(1));
        holder.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        holder.Listen();
        await AssertPortInUseAsync((IPEndPoint)holder.LocalEndPoint!);
    }

    private static async Task AssertPortInUseAsync(IPEndPoint taken)
    {
        var error = await Assert.ThrowsAsync<NativeCallException>(() => TestServers.StartAsync(TestServers.Echo, endPoint: taken));
        Assert.Contains($"bind(127.0.0.1:{taken.Port})", error.Message, StringComparison.Ordinal);
        Assert.Contains("EADDRINUSE", error.Message, StringComparison.Ordinal);
    }
}
