using Fastsock.Samples.Proxy.Config;

namespace Fastsock.Samples.Proxy.Reload;

/// <summary>
/// The settings a reload cannot change: they shape the workers, the listening sockets or runtime options that exist
/// once per process (cores, steering, forwarding, source ports, the admin listener, the sockets' idle timeout, the
/// http frontends' fixed options). A reload names those that changed and keeps them as they run.
/// </summary>
internal static class RestartOnlySettings
{
    /// <summary>Keys whose new value needs a restart (or a takeover): the workers, sockets or runtime options they shape exist once.</summary>
    public static List<string> ChangedKeys(ProxySettings running, ProxySettings next)
    {
        var keys = new List<string>();
        if (running.Cores?.ToString() != next.Cores?.ToString())
        {
            keys.Add("cores");
        }

        if (running.Steering != next.Steering)
        {
            keys.Add("steering");
        }

        if (running.Forwarding != next.Forwarding)
        {
            keys.Add("forwarding");
        }

        if (running.OutboundStrategy != next.OutboundStrategy)
        {
            keys.Add("outbound.strategy");
        }

        if (!Equals(running.Admin, next.Admin))
        {
            keys.Add("admin.bind");
        }

        if (running.AdminRemoteApi != next.AdminRemoteApi)
        {
            keys.Add("admin.remoteApi");
        }

        if (running.AdminSocket != next.AdminSocket)
        {
            keys.Add("admin.socket");
        }

        if (running.Timeouts.Client != next.Timeouts.Client)
        {
            keys.Add("timeouts.client");
        }

        if (running.HttpSpliceThreshold != next.HttpSpliceThreshold)
        {
            keys.Add("http.spliceThreshold");
        }

        if (running.HttpAbortOnClose != next.HttpAbortOnClose)
        {
            keys.Add("http.abortOnClose");
        }

        return keys;
    }

    /// <summary><paramref name="next"/> with the running values of the restart-only keys: what a reload applies.</summary>
    public static ProxySettings KeepRunning(ProxySettings running, ProxySettings next) => next with
    {
        Cores = running.Cores,
        Steering = running.Steering,
        Forwarding = running.Forwarding,
        OutboundStrategy = running.OutboundStrategy,
        Admin = running.Admin,
        AdminRemoteApi = running.AdminRemoteApi,
        AdminSocket = running.AdminSocket,
        Timeouts = next.Timeouts with { Client = running.Timeouts.Client },
        HttpSpliceThreshold = running.HttpSpliceThreshold,
        HttpAbortOnClose = running.HttpAbortOnClose,
    };
}
