using System.Net;
using Fastsock.Samples.Proxy.Config;
using Fastsock.Samples.Proxy.Discovery;

namespace Fastsock.Tests.Discovery;

public sealed class ResolvConfTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastsock-resolv-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string text)
    {
        var path = Path.Combine(_dir, "resolv.conf");
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void Nameserver_lines_are_read_in_order_on_port_53()
    {
        var path = Write("""
            # generated
            search example.test
            nameserver 10.0.0.2
            options edns0
            nameserver	fe80::1%eth0
            nameserver not-an-address
            ;nameserver 10.0.0.9
            nameserver ::1
            """);

        Assert.Equal([IPEndPoint.Parse("10.0.0.2:53"), IPEndPoint.Parse("[fe80::1]:53"), IPEndPoint.Parse("[::1]:53")], ResolvConf.Nameservers(path));
    }

    [Fact]
    public void A_missing_file_names_no_nameserver() => Assert.Empty(ResolvConf.Nameservers(Path.Combine(_dir, "absent")));

    [Fact]
    public void Dns_servers_without_any_nameserver_stop_the_start_with_what_to_add()
    {
        var backend = new BackendSettings("app", BalanceAlgorithm.RoundRobin, [], null, -1, TimeSpan.FromSeconds(30), null,
            [new DnsServerTemplate("web", new DnsServerQuery(DnsQueryKind.Address, "web.test", 80), 1, ProxyHeaderMode.None, TimeSpan.FromSeconds(1))]);
        var settings = new ProxySettings(null, Fastsock.Locality.ListenerSteering.Cpu, "auto", default, null!, 0, null, [], [backend]);
        var empty = Write("search example.test\n");

        var ex = Assert.Throws<InvalidOperationException>(() => new DnsDiscovery(settings, _ => _ => { }, new RecordingLogger(), empty));

        Assert.Contains($"{empty} names none; add one to the config", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_dns_servers_there_is_nothing_to_resolve()
    {
        var backend = new BackendSettings("app", BalanceAlgorithm.RoundRobin, [], null, -1, TimeSpan.FromSeconds(30));
        var settings = new ProxySettings(null, Fastsock.Locality.ListenerSteering.Cpu, "auto", default, null!, 0, null, [], [backend]);

        Assert.Empty(new DnsDiscovery(settings, _ => _ => { }, new RecordingLogger(), Path.Combine(_dir, "absent")).Backends);
    }
}
