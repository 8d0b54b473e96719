using Fastsock.Samples.Proxy.Config;

namespace Fastsock.Samples.Proxy.Reload;

/// <summary><c>fastsock-proxy --check --config F</c> (as <c>haproxy -c</c>): the checks a start or a reload makes, then exit.</summary>
internal static class ConfigCheck
{
    /// <summary>0 and "config F is valid" on stdout, or 2 and the one-line reason on stderr.</summary>
    public static int Run(ProxySettings settings, string source)
    {
        try
        {
            LiveConfig.CheckInProcessApps(settings, source, [DemoHelloApp.Name]);
        }
        catch (ConfigException ex)
        {
            Console.Error.WriteLine($"fastsock-proxy: {ex.Message}");
            return 2;
        }

        Console.WriteLine($"config {source} is valid");
        return 0;
    }
}
