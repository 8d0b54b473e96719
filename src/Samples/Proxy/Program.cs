using System.CommandLine;
using Fastsock.Samples.Proxy;
using Fastsock.Samples.Proxy.Config;
using Fastsock.Samples.Proxy.Reload;
using Microsoft.Extensions.Logging;

var config = new Option<string?>("--config") { Description = "JSON config file (frontends, backends, timeouts); none: the built-in demo on 127.0.0.1:8080" };
var cores = new Option<string?>("--cores") { Description = "CPUs to run one worker each on (overrides the config): all, 0-3 or 0,2,5" };
var steering = new Option<string?>("--steering") { Description = "cpu, hash or single (overrides the config)" };
var forwarding = new Option<string?>("--forwarding") { Description = "auto, copy or splice (overrides the config)" };
var outbound = new Option<string?>("--outbound-strategy") { Description = "Source ports of backend connections: kernel, modulo or rss (overrides the config)" };
var takeover = new Option<string?>("--takeover") { Description = "Take the listening sockets of the proxy running with admin.socket PATH instead of binding; it drains and exits" };
var tcpFriends = new Option<bool>("--tcp-friends") { Description = "Loopback connections in the proxy's cgroup exchange data by BPF socket redirect, skipping TCP/IP (root, cgroup v2; as tcpFriends.enabled)" };
var logLevel = new Option<LogLevel>("--log-level") { Description = "Minimum log level", DefaultValueFactory = _ => LogLevel.Information };
var check = new Option<bool>("--check") { Description = "Check the config and exit: 0 when valid, 2 with the reason when not (as haproxy -c)" };

var root = new RootCommand("fastsock-proxy: an HAProxy-like proxy on the Fastsock per-core runtime.")
{
    config, cores, steering, forwarding, outbound, tcpFriends, logLevel, check, takeover,
};
root.SetAction(parse =>
{
    var path = parse.GetValue(config);
    var source = path ?? DemoConfig.Source;
    ProxySettings settings;
    // The command line wins over the file, at start and at every reload.
    void Overrides(ProxyConfig raw)
    {
        raw.Cores = parse.GetValue(cores) ?? raw.Cores;
        raw.Steering = parse.GetValue(steering) ?? raw.Steering;
        raw.Forwarding = parse.GetValue(forwarding) ?? raw.Forwarding;
        raw.Outbound.Strategy = parse.GetValue(outbound) ?? raw.Outbound.Strategy;
        if (parse.GetValue(tcpFriends))
        {
            raw.TcpFriends = new TcpFriendsConfig { Enabled = true, Cgroup = raw.TcpFriends?.Cgroup };
        }
    }

    try
    {
        var file = path is null ? null : ConfigLoader.LoadRaw(path);
        var raw = file ?? DemoConfig.Raw();
        Overrides(raw);
        settings = ConfigValidator.Validate(raw, source);
    }
    catch (ConfigException ex)
    {
        Console.Error.WriteLine($"fastsock-proxy: {ex.Message}");
        return 2;
    }

    if (parse.GetValue(check))
    {
        return ConfigCheck.Run(settings, source);
    }

    return ProxyApp.Run(settings, source, parse.GetValue(logLevel), new ReloadSource(path, Overrides), parse.GetValue(takeover));
});

// The runtime handles SIGTERM/SIGINT itself (graceful drain), so the command line library must not.
return root.Parse(args).Invoke(new InvocationConfiguration { ProcessTerminationTimeout = null });
