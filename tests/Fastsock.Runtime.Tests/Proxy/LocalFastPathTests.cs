using Fastsock.Samples.Proxy.Balancing;
using Fastsock.Samples.Proxy.Config;
using Fastsock.Samples.Proxy.Routing;

namespace Fastsock.Tests.Proxy;

/// <summary>A server's localFastPath is looked up on the file system at most once per interval, not per connection.</summary>
public sealed class LocalFastPathTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastsock-fastpath-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_socket_file_that_appears_is_used_from_the_next_look_on_and_not_before()
    {
        var path = Path.Combine(_dir, "app.sock");
        var fastPath = new LocalFastPath(path);
        long interval = (long)LocalFastPath.RecheckInterval.TotalMilliseconds;
        Assert.False(fastPath.IsWorthTrying(nowMs: 10_000));
        File.WriteAllText(path, "");
        Assert.False(fastPath.IsWorthTrying(nowMs: 10_000 + interval - 1)); // the answer is kept until the interval ends
        Assert.True(fastPath.IsWorthTrying(nowMs: 10_000 + interval));
        File.Delete(path);
        Assert.True(fastPath.IsWorthTrying(nowMs: 10_000 + interval + 1));
        Assert.False(fastPath.IsWorthTrying(nowMs: 10_000 + (2 * interval)));
    }

    [Fact]
    public void A_refused_socket_file_is_not_tried_again_until_the_next_look()
    {
        var path = Path.Combine(_dir, "stale.sock");
        File.WriteAllText(path, "");
        var fastPath = new LocalFastPath(path);
        long interval = (long)LocalFastPath.RecheckInterval.TotalMilliseconds;
        Assert.True(fastPath.IsWorthTrying(nowMs: 0));
        fastPath.Refused(nowMs: 5);
        Assert.False(fastPath.IsWorthTrying(nowMs: 5 + interval - 1));
        Assert.True(fastPath.IsWorthTrying(nowMs: 5 + interval));
    }

    [Fact]
    public void The_fallback_host_of_a_server_is_its_address_as_ascii_bytes_made_once()
    {
        var route = new ServerRoute(new ServerState(new ServerSettings("s", new ServerAddress(ServerKind.Tcp, new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 9000), null), 1, ProxyHeaderMode.None), 0));
        Assert.Equal("127.0.0.1:9000"u8.ToArray(), route.FallbackHost);
        Assert.Same(route.FallbackHost, route.FallbackHost);
        Assert.Null(route.LocalFastPath);
        var inProcess = new ServerRoute(new ServerState(new ServerSettings("h", new ServerAddress(ServerKind.InProc, null, "hello"), 1, ProxyHeaderMode.None), 0));
        Assert.Equal("localhost"u8.ToArray(), inProcess.FallbackHost);
    }
}
