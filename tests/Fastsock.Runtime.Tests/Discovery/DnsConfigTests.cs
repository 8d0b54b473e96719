using System.Net;
using Fastsock.Samples.Proxy.Config;

namespace Fastsock.Tests.Discovery;

public sealed class DnsConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastsock-dns-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private ProxySettings Load(string backend, string? resolvers = null)
    {
        var path = Path.Combine(_dir, "proxy.json");
        File.WriteAllText(path, $$"""
            { "frontends": [ { "bind": ["127.0.0.1:80"], "backend": "app" } ],
              "backends": [ {{backend}} ]{{(resolvers is null ? "" : $", \"resolvers\": {resolvers}")}} }
            """);
        return ConfigLoader.Load(path);
    }

    [Fact]
    public void Dns_and_srv_addresses_are_kept_apart_from_fixed_servers_with_their_intervals()
    {
        var settings = Load("""
            { "name": "app", "resolveInterval": "2s", "servers": [
                { "name": "fixed", "address": "127.0.0.1:9000" },
                { "name": "web", "address": "dns:web.svc.test:8080", "weight": 3, "sendProxy": "v2" },
                { "name": "api", "address": "srv:_http._tcp.api.test.", "resolveInterval": "500ms" },
                { "address": "dns:default.test:81" } ] }
            """);
        var backend = Assert.Single(settings.Backends);
        Assert.Equal(["fixed"], backend.Servers.Select(s => s.Name));
        Assert.Equal(["web", "api", "server3"], backend.Discovered.Select(d => d.Name));
        var (web, api, third) = (backend.Discovered[0], backend.Discovered[1], backend.Discovered[2]);
        Assert.Equal(new DnsServerQuery(DnsQueryKind.Address, "web.svc.test", 8080), web.Query);
        Assert.Equal((3, ProxyHeaderMode.V2, TimeSpan.FromSeconds(2)), (web.Weight, web.SendProxy, web.ResolveInterval));
        Assert.Equal(new DnsServerQuery(DnsQueryKind.Service, "_http._tcp.api.test", 0), api.Query);
        Assert.Equal(TimeSpan.FromMilliseconds(500), api.ResolveInterval);
        Assert.Equal(TimeSpan.FromSeconds(2), third.ResolveInterval);
        Assert.Null(settings.Resolvers);
    }

    [Fact]
    public void Resolve_interval_defaults_to_ten_seconds_and_a_backend_may_have_only_dns_servers()
    {
        var backend = Assert.Single(Load("""{ "name": "app", "servers": [ { "address": "dns:web.test:80" } ] }""").Backends);
        Assert.Empty(backend.Servers);
        Assert.Equal(TimeSpan.FromSeconds(10), Assert.Single(backend.Discovered).ResolveInterval);
    }

    [Fact]
    public void Resolvers_section_gives_nameservers_with_port_53_by_default_and_a_timeout()
    {
        var settings = Load(
            """{ "name": "app", "servers": [ { "address": "dns:web.test:80" } ] }""",
            """{ "nameservers": ["127.0.0.1:5353", "10.0.0.2", "[::1]:53"], "timeout": "250ms", "retries": 3 }""");
        var resolvers = settings.Resolvers!;
        Assert.Equal([IPEndPoint.Parse("127.0.0.1:5353"), IPEndPoint.Parse("10.0.0.2:53"), IPEndPoint.Parse("[::1]:53")], resolvers.Nameservers);
        Assert.Equal((TimeSpan.FromMilliseconds(250), 3), (resolvers.Timeout, resolvers.Retries));
    }

    [Fact]
    public void Resolvers_without_nameservers_keep_resolv_conf_and_one_retry()
    {
        var resolvers = Load("""{ "name": "app", "servers": [ { "address": "dns:web.test:80" } ] }""", """{ "timeout": "2s" }""").Resolvers!;
        Assert.Empty(resolvers.Nameservers);
        Assert.Equal((TimeSpan.FromSeconds(2), 1), (resolvers.Timeout, resolvers.Retries));
        Assert.Equal((TimeSpan.FromSeconds(1), 1), (ResolverSettings.Default.Timeout, ResolverSettings.Default.Retries));
    }

    [Theory]
    [InlineData("""{ "name": "app", "servers": [ { "address": "dns:web.test" } ] }""", "backends[0].servers[0].address", "write dns:NAME:PORT")]
    [InlineData("""{ "name": "app", "servers": [ { "address": "dns:web.test:0" } ] }""", "backends[0].servers[0].address", "port from 1 to 65535")]
    [InlineData("""{ "name": "app", "servers": [ { "address": "dns:web.test:70000" } ] }""", "backends[0].servers[0].address", "port from 1 to 65535")]
    [InlineData("""{ "name": "app", "servers": [ { "address": "dns:10.0.0.1:80" } ] }""", "backends[0].servers[0].address", "write it without dns:, as 10.0.0.1:80")]
    [InlineData("""{ "name": "app", "servers": [ { "address": "dns:web..test:80" } ] }""", "backends[0].servers[0].address", "is not a DNS name")]
    [InlineData("""{ "name": "app", "servers": [ { "address": "dns:we b.test:80" } ] }""", "backends[0].servers[0].address", "is not a DNS name")]
    [InlineData("""{ "name": "app", "servers": [ { "address": "srv:web.test" } ] }""", "backends[0].servers[0].address", "write srv:_service._proto.NAME")]
    [InlineData("""{ "name": "app", "servers": [ { "address": "srv:_http._tcp.api.test", "weight": 2 } ] }""", "backends[0].servers[0].weight", "from the SRV records")]
    [InlineData("""{ "name": "app", "servers": [ { "address": "dns:web.test:80", "localFastPath": "unix:/run/a.sock" } ] }""", "backends[0].servers[0].localFastPath", "not for a dns: or srv: server")]
    [InlineData("""{ "name": "app", "servers": [ { "address": "dns:web.test:80", "resolveInterval": "10ms" } ] }""", "backends[0].servers[0].resolveInterval", "use 100ms to 1h")]
    [InlineData("""{ "name": "app", "servers": [ { "address": "dns:web.test:80", "resolveInterval": "2h" } ] }""", "backends[0].servers[0].resolveInterval", "use 100ms to 1h")]
    [InlineData("""{ "name": "app", "resolveInterval": "often", "servers": [ { "address": "dns:web.test:80" } ] }""", "backends[0].resolveInterval", "not a positive duration")]
    [InlineData("""{ "name": "app", "resolveInterval": "5s", "servers": [ { "address": "127.0.0.1:80" } ] }""", "backends[0].resolveInterval", "no server of this backend has a dns: or srv: address")]
    [InlineData("""{ "name": "app", "servers": [ { "address": "127.0.0.1:80", "resolveInterval": "5s" } ] }""", "backends[0].servers[0].resolveInterval", "its address is not a dns: or srv: name")]
    [InlineData("""{ "name": "app", "servers": [ { "name": "a", "address": "127.0.0.1:80" }, { "name": "a", "address": "dns:web.test:80" } ] }""", "backends[0].servers[1].name", "'a' is used twice")]
    [InlineData("""{ "name": "app", "servers": [ { "address": "dns:web.test:80", "weight": 0 } ] }""", "backends[0].servers", "every server has weight 0")]
    public void Bad_dns_server_is_refused_naming_the_key_and_what_to_write(string backend, string key, string reason)
    {
        var ex = Assert.Throws<ConfigException>(() => Load(backend));
        Assert.Equal(key, ex.Key);
        Assert.Contains(reason, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{ "nameservers": ["dns.example"] }""", "resolvers.nameservers[0]", "not an IP address")]
    [InlineData("""{ "timeout": "0s" }""", "resolvers.timeout", "not a positive duration")]
    [InlineData("""{ "timeout": "1m" }""", "resolvers.timeout", "use up to 30s")]
    [InlineData("""{ "retries": 11 }""", "resolvers.retries", "use 0 to 10")]
    public void Bad_resolvers_section_is_refused_naming_the_key(string resolvers, string key, string reason)
    {
        var ex = Assert.Throws<ConfigException>(() => Load("""{ "name": "app", "servers": [ { "address": "dns:web.test:80" } ] }""", resolvers));
        Assert.Equal(key, ex.Key);
        Assert.Contains(reason, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_misspelled_resolvers_key_is_refused_by_name()
    {
        var ex = Assert.Throws<ConfigException>(() => Load("""{ "name": "app", "servers": [ { "address": "dns:web.test:80" } ] }""", """{ "nameserver": ["127.0.0.1"] }"""));
        Assert.Contains("Nameserver", ex.Message, StringComparison.OrdinalIgnoreCase);
    }
}
