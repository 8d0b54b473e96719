using Fastsock.Samples.Proxy.Config;
using Fastsock.Samples.Proxy.Discovery;
using Fastsock.Samples.Proxy.Reload;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fastsock.Tests.Discovery;

/// <summary>
/// <c>--check</c> refuses what a start refuses: a config with <c>dns:</c> servers, no <c>resolvers</c> section and a
/// resolv.conf that names no nameserver passes the file's own checks but cannot start, and the check says so in the
/// same words.
/// </summary>
public sealed class ConfigCheckDnsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastsock-check-dns-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private ProxySettings Load(string? resolvers = null)
    {
        var path = Path.Combine(_dir, "proxy.json");
        File.WriteAllText(path, $$"""
            { "frontends": [ { "bind": ["127.0.0.1:80"], "backend": "app" } ],
              "backends": [ { "name": "app", "servers": [ { "address": "dns:app.test:8080" } ] } ]{{(resolvers is null ? "" : $", \"resolvers\": {resolvers}")}} }
            """);
        return ConfigLoader.Load(path);
    }

    private string ResolvConf(string text)
    {
        var path = Path.Combine(_dir, "resolv.conf");
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void Dns_servers_without_a_nameserver_fail_the_check_with_the_line_the_start_gives()
    {
        var settings = Load();
        var resolvConf = ResolvConf("search example.test\noptions ndots:2\n");

        var start = Assert.Throws<InvalidOperationException>(() => new DnsDiscovery(settings, _ => _ => { }, NullLogger.Instance, resolvConf));
        var check = ConfigCheck.Problem(settings, "proxy.json", resolvConf);

        Assert.NotNull(check);
        Assert.Equal(start.Message, check);
        Assert.Contains(resolvConf, check, StringComparison.Ordinal);
    }

    [Fact]
    public void Dns_servers_pass_the_check_with_a_resolvers_section_or_a_nameserver_in_resolv_conf()
    {
        var withoutNameserver = ResolvConf("search example.test\n");
        Assert.Null(ConfigCheck.Problem(Load("""{ "nameservers": ["127.0.0.1:5353"] }"""), "proxy.json", withoutNameserver));

        var withNameserver = ResolvConf("nameserver 10.0.0.2\n");
        Assert.Null(ConfigCheck.Problem(Load(), "proxy.json", withNameserver));
    }
}
