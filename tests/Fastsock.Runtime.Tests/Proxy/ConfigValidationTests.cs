using Fastsock.Samples.Proxy.Config;

namespace Fastsock.Tests.Proxy;

public sealed class ConfigValidationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastsock-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string json)
    {
        var path = Path.Combine(_dir, "proxy.json");
        File.WriteAllText(path, json);
        return path;
    }

    private const string Valid = """
        {
          "frontends": [ { "name": "web", "bind": [ "127.0.0.1:8080" ], "mode": "http", "backend": "app" } ],
          "backends": [ { "name": "app", "balance": "leastconn",
                          "servers": [ { "address": "127.0.0.1:9000", "weight": 3 }, { "name": "b", "address": "unix:/run/app.sock" }, { "address": "inproc:hello" } ],
                          "healthCheck": { "type": "http", "path": "/health", "interval": "500ms" } } ],
          "timeouts": { "connect": "2s" }
        }
        """;

    [Fact]
    public void Valid_config_is_read_with_haproxy_like_defaults()
    {
        var settings = ConfigLoader.Load(Write(Valid));
        var frontend = Assert.Single(settings.Frontends);
        Assert.Equal("web", frontend.Name);
        Assert.Equal(ProxyMode.Http, frontend.Mode);
        Assert.Equal(10_000, frontend.MaxConn);
        Assert.Equal(64 * 1024, settings.HttpSpliceThreshold);
        Assert.Equal(64 * 1024, settings.HttpMaxDrainBody);
        var backend = frontend.Backend;
        Assert.Equal(BalanceAlgorithm.LeastConn, backend.Balance);
        Assert.Equal([ServerKind.Tcp, ServerKind.Unix, ServerKind.InProc], backend.Servers.Select(s => s.Address.Kind));
        Assert.Equal(["server0", "b", "server2"], backend.Servers.Select(s => s.Name));
        Assert.Equal(3, backend.Servers[0].Weight);
        Assert.Equal(TimeSpan.FromMilliseconds(500), backend.HealthCheck!.Interval);
        Assert.Equal((2, 3, 200), (backend.HealthCheck.Rise, backend.HealthCheck.Fall, backend.HealthCheck.ExpectStatus));
        Assert.Equal(TimeSpan.FromSeconds(2), settings.Timeouts.Connect);
        Assert.Equal(TimeSpan.FromSeconds(30), settings.Timeouts.Server);
        Assert.Equal(2, settings.Retries);
    }

    [Theory]
    [InlineData("""{ "frontends": [] , "backends": [] }""", "frontends", "no frontend")]
    [InlineData("""{ "frontends": [ { "bind": ["127.0.0.1:99999"], "backend": "app" } ], "backends": [ { "name": "app", "servers": [ { "address": "127.0.0.1:1" } ] } ] }""", "frontends[0].bind[0]", "65535")]
    [InlineData("""{ "frontends": [ { "bind": ["127.0.0.1:80"], "backend": "nope" } ], "backends": [ { "name": "app", "servers": [ { "address": "127.0.0.1:1" } ] } ] }""", "frontends[0].backend", "'nope' is not a backend")]
    [InlineData("""{ "frontends": [ { "bind": ["127.0.0.1:80"], "mode": "udp", "backend": "app" } ], "backends": [ { "name": "app", "servers": [ { "address": "127.0.0.1:1" } ] } ] }""", "frontends[0].mode", "'udp' is not one of http, tcp")]
    [InlineData("""{ "frontends": [ { "bind": ["127.0.0.1:80"], "backend": "app" } ], "backends": [ { "name": "app", "servers": [ { "address": "127.0.0.1:1", "weight": 300 } ] } ] }""", "backends[0].servers[0].weight", "0 to 256")]
    [InlineData("""{ "frontends": [ { "bind": ["127.0.0.1:80"], "backend": "app" } ], "backends": [ { "name": "app", "servers": [ { "address": "unix:relative.sock" } ] } ] }""", "backends[0].servers[0].address", "must be absolute")]
    [InlineData("""{ "frontends": [ { "bind": ["127.0.0.1:80"], "backend": "app" } ], "backends": [ { "name": "app", "servers": [ { "address": "db.local:5432" } ] } ] }""", "backends[0].servers[0].address", "not an IP address")]
    [InlineData("""{ "frontends": [ { "bind": ["127.0.0.1:80"], "backend": "app" } ], "backends": [ { "name": "app", "balance": "fastest", "servers": [ { "address": "127.0.0.1:1" } ] } ] }""", "backends[0].balance", "roundrobin, leastconn, source, random")]
    [InlineData("""{ "http": { "spliceThreshold": 100 }, "frontends": [ { "bind": ["127.0.0.1:80"], "backend": "app" } ], "backends": [ { "name": "app", "servers": [ { "address": "127.0.0.1:1" } ] } ] }""", "http.spliceThreshold", "100 is out of range; use 4096")]
    [InlineData("""{ "http": { "maxDrainBody": -1 }, "frontends": [ { "bind": ["127.0.0.1:80"], "backend": "app" } ], "backends": [ { "name": "app", "servers": [ { "address": "127.0.0.1:1" } ] } ] }""", "http.maxDrainBody", "-1 is out of range; use 0 to 1073741824")]
    [InlineData("""{ "http": { "maxDrainBody": "64KiB" }, "frontends": [ { "bind": ["127.0.0.1:80"], "backend": "app" } ], "backends": [ { "name": "app", "servers": [ { "address": "127.0.0.1:1" } ] } ] }""", "http.maxDrainBody", "'64KiB'")]
    [InlineData("""{ "timeouts": { "connect": "soon" }, "frontends": [ { "bind": ["127.0.0.1:80"], "backend": "app" } ], "backends": [ { "name": "app", "servers": [ { "address": "127.0.0.1:1" } ] } ] }""", "timeouts.connect", "'soon' is not a positive duration")]
    [InlineData("""{ "timeouts": { "client": "99999999999999h" }, "frontends": [ { "bind": ["127.0.0.1:80"], "backend": "app" } ], "backends": [ { "name": "app", "servers": [ { "address": "127.0.0.1:1" } ] } ] }""", "timeouts.client", "'99999999999999h' is too large; the largest duration is 256204778h")]
    [InlineData("""{ "timeouts": { "client": "0s" }, "frontends": [ { "bind": ["127.0.0.1:80"], "backend": "app" } ], "backends": [ { "name": "app", "servers": [ { "address": "127.0.0.1:1" } ] } ] }""", "timeouts.client", "'0s' is not a positive duration")]
    [InlineData("""{ "timeouts": { "tunnel": "forever" }, "frontends": [ { "bind": ["127.0.0.1:80"], "backend": "app" } ], "backends": [ { "name": "app", "servers": [ { "address": "127.0.0.1:1" } ] } ] }""", "timeouts.tunnel", "'forever' is not a positive duration")]
    [InlineData("""{ "timeouts": { "tunnel": "0s" }, "frontends": [ { "bind": ["127.0.0.1:80"], "backend": "app" } ], "backends": [ { "name": "app", "servers": [ { "address": "127.0.0.1:1" } ] } ] }""", "timeouts.tunnel", "'0s' is not a positive duration")]
    [InlineData("""{ "cores": "2-1", "frontends": [ { "bind": ["127.0.0.1:80"], "backend": "app" } ], "backends": [ { "name": "app", "servers": [ { "address": "127.0.0.1:1" } ] } ] }""", "cores", "runs backwards")]
    [InlineData("""{ "frontends": [ { "bind": ["127.0.0.1:80"], "backend": "app", "maxconn": "lots" } ], "backends": [ { "name": "app", "servers": [ { "address": "127.0.0.1:1" } ] } ] }""", "frontends[0].maxConn", "'lots'")]
    [InlineData("""{ "frontend": [] }""", "'frontend'", "properties were not found")] // an unknown key: named by the binder, there is no known path to show
    public void Invalid_config_names_the_file_the_key_and_the_reason(string json, string key, string reason)
    {
        var path = Write(json);
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path));
        Assert.StartsWith(path + ": ", error.Message, StringComparison.Ordinal);
        Assert.Contains(key, error.Message, StringComparison.Ordinal);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Malformed_json_and_missing_files_are_reported_with_the_path()
    {
        var path = Write("{ \"frontends\": [ ");
        Assert.Contains("not valid JSON", Assert.Throws<ConfigException>(() => ConfigLoader.Load(path)).Message, StringComparison.Ordinal);
        var missing = Path.Combine(_dir, "none.json");
        Assert.Equal($"{missing}: file not found; pass an existing JSON file with --config, or none for the demo",
            Assert.Throws<ConfigException>(() => ConfigLoader.Load(missing)).Message);
    }

    [Theory]
    [InlineData("500ms", 500)]
    [InlineData("5s", 5000)]
    [InlineData("2m", 120_000)]
    [InlineData("1.5s", 1500)]
    [InlineData("250", 250)]
    public void Durations_are_written_like_haproxy(string text, int milliseconds)
    {
        Assert.True(Duration.TryParse(text, out var value));
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), value);
    }

    [Theory]
    [InlineData("timeouts.client", "99999999999999h")]
    [InlineData("timeouts.connect", "256204779h")] // an hour past the largest
    [InlineData("timeouts.server", "922337203685478ms")]
    [InlineData("timeouts.tunnel", "99999999999999h")]
    public void A_duration_too_large_for_a_timespan_is_refused_in_one_line_that_gives_the_largest(string key, string written)
    {
        var section = key.Split('.')[1];
        var path = Write($$"""
            { "timeouts": { "{{section}}": "{{written}}" },
              "frontends": [ { "bind": ["127.0.0.1:80"], "backend": "app" } ], "backends": [ { "name": "app", "servers": [ { "address": "127.0.0.1:1" } ] } ] }
            """);

        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path));

        Assert.Equal($"{path}: {key}: '{written}' is too large; the largest duration is 256204778h (about 29,000 years)", error.Message);
    }

    [Fact]
    public void The_largest_duration_the_message_gives_is_accepted()
    {
        var path = Write("""
            { "timeouts": { "client": "256204778h" },
              "frontends": [ { "bind": ["127.0.0.1:80"], "backend": "app" } ], "backends": [ { "name": "app", "servers": [ { "address": "127.0.0.1:1" } ] } ] }
            """);

        Assert.Equal(TimeSpan.FromHours(256204778), ConfigLoader.Load(path).Timeouts.Client);
    }

    [Fact]
    public void Without_timeouts_tunnel_a_tunnel_is_bounded_by_the_shorter_of_the_client_and_server_timeouts()
    {
        const string Rest = """ "frontends": [ { "bind": ["127.0.0.1:80"], "backend": "app" } ], "backends": [ { "name": "app", "servers": [ { "address": "127.0.0.1:1" } ] } ] }""";
        var unset = ConfigLoader.Load(Write("""{ "timeouts": { "client": "40s", "server": "20s" },""" + Rest)).Timeouts;
        Assert.Null(unset.Tunnel);
        Assert.Equal(TimeSpan.FromSeconds(20), unset.TunnelIdle);

        var set = ConfigLoader.Load(Write("""{ "timeouts": { "client": "40s", "server": "20s", "tunnel": "1h" },""" + Rest)).Timeouts;
        Assert.Equal(TimeSpan.FromHours(1), set.TunnelIdle);
    }

    [Fact]
    public void A_duration_keeps_its_fraction_of_a_millisecond_for_the_timeouts_to_round_up()
    {
        Assert.True(Duration.TryParse("200.5ms", out var value));
        Assert.Equal(TimeSpan.FromTicks(2_005_000), value);
    }
}
