using Fastsock.Samples.Proxy.Config;
using Fastsock.Samples.Proxy.Discovery;

namespace Fastsock.Samples.Proxy.Reload;

/// <summary><c>fastsock-proxy --check --config F</c> (as <c>haproxy -c</c>): the checks a start or a reload makes, then exit.</summary>
internal static class ConfigCheck
{
    /// <summary>0 and "config F is valid" on stdout, or 2 and the one-line reason on stderr.</summary>
    public static int Run(ProxySettings settings, string source)
    {
        if (Problem(settings, source) is { } problem)
        {
            Console.Error.WriteLine($"fastsock-proxy: {problem}");
            return 2;
        }

        Console.WriteLine($"config {source} is valid");
        return 0;
    }

    /// <summary>What a start would refuse beyond the file's own checks (the same message), or null.</summary>
    /// <param name="resolvConf">Where the nameservers of DNS names come from without a <c>resolvers</c> section.</param>
    public static string? Problem(ProxySettings settings, string source, string resolvConf = ResolvConf.DefaultPath)
    {
        try
        {
            LiveConfig.CheckInProcessApps(settings, source, [DemoHelloApp.Name]);
            DnsDiscovery.Nameservers(settings, resolvConf);
            return null;
        }
        catch (Exception ex) when (ex is ConfigException or InvalidOperationException)
        {
            return ex.Message;
        }
    }
}
