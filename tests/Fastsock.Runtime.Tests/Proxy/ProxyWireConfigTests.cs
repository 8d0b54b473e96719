using Fastsock.Samples.Proxy.Config;
using Fastsock.Samples.Proxy.Routing;

namespace Fastsock.Tests.Proxy;

/// <summary>The config keys and header bytes of the proxy's wire features: localFastPath, sendProxy, acceptProxy.</summary>
public sealed class ProxyWireConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastsock-wireconfig-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string server)
    {
        var path = Path.Combine(_dir, "proxy.json");
        File.WriteAllText(path, $$"""
            { "frontends": [ { "bind": [ "127.0.0.1:8080" ], "mode": "tcp", "backend": "app", "acceptProxy": true } ],
              "backends": [ { "name": "app", "servers": [ {{server}} ] } ] }
            """);
        return path;
    }

    [Fact]
    public void Local_fast_path_and_send_proxy_are_read_into_the_server_settings()
    {
        var settings = ConfigLoader.Load(Write("""{ "address": "127.0.0.1:9000", "sendProxy": "v2", "localFastPath": "unix:/run/app.sock" }"""));
        var server = Assert.Single(settings.Backends[0].Servers);
        Assert.Equal("/run/app.sock", server.LocalFastPath);
        Assert.Equal(ProxyHeaderMode.V2, server.SendProxy);
        Assert.True(settings.Frontends[0].AcceptProxy);
    }

    [Theory]
    [InlineData("127.0.0.1:9001")]
    [InlineData("unix:run/app.sock")]
    [InlineData("inproc:hello")]
    public void Local_fast_path_that_is_not_an_absolute_unix_socket_is_refused_naming_the_key(string fastPath)
    {
        var path = Write($$"""{ "address": "127.0.0.1:9000", "localFastPath": "{{fastPath}}" }""");
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path));
        Assert.Equal("backends[0].servers[0].localFastPath", error.Key);
        Assert.Contains("unix:/run/app.sock", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Header_for_a_client_without_ip_endpoints_is_unknown_in_v1_and_local_in_v2()
    {
        var v1 = new System.Buffers.ArrayBufferWriter<byte>();
        ProxyHeaderExchange.Write(v1, ProxyHeaderMode.V1, new ClientEndPoints(null, null));
        Assert.Equal("PROXY UNKNOWN\r\n", System.Text.Encoding.ASCII.GetString(v1.WrittenSpan));
        var v2 = new System.Buffers.ArrayBufferWriter<byte>();
        ProxyHeaderExchange.Write(v2, ProxyHeaderMode.V2, new ClientEndPoints(null, null));
        Assert.Equal(16, v2.WrittenCount);
        Assert.Equal(0x20, v2.WrittenSpan[12]);
    }
}
