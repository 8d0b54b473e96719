using Fastsock.Locality;
using Fastsock.Samples.Proxy.Config;

namespace Fastsock.Samples.Proxy.Reload;

/// <summary>
/// The settings a reload cannot change: they shape the workers, the listening sockets or runtime options that exist
/// once per process (cores, steering, forwarding, source ports, the admin listener, the sockets' idle timeout, the
/// http frontends' fixed options). A reload names those that changed, with what applies each, and keeps them as they
/// run. A takeover applies most of them, but refuses a set of listening sockets shaped differently (the hand-over's
/// matching: the worker count, the steering and every endpoint, the admin listener's among them), so those need a restart.
/// </summary>
internal static class RestartOnlySettings
{
    private const string Restart = "a restart";
    private const string RestartOrTakeover = "a restart or --takeover";

    /// <summary>
    /// Keys whose new value needs a restart (or a takeover, where the hand-over accepts it), each with what applies it:
    /// the workers, sockets or runtime options they shape exist once.
    /// </summary>
    public static List<(string Key, string AppliedBy)> ChangedKeys(ProxySettings running, ProxySettings next)
    {
        var keys = new List<(string, string)>();
        if (running.Cores?.ToString() != next.Cores?.ToString())
        {
            // Other CPUs, as many: a successor takes the sockets over (their group order maps the slots to its workers).
            keys.Add(("cores", WorkerCount(running) == WorkerCount(next) ? RestartOrTakeover : Restart));
        }

        if (running.Steering != next.Steering)
        {
            keys.Add(("steering", Restart));
        }

        if (running.Forwarding != next.Forwarding)
        {
            keys.Add(("forwarding", RestartOrTakeover));
        }

        if (running.OutboundStrategy != next.OutboundStrategy)
        {
            keys.Add(("outbound.strategy", RestartOrTakeover));
        }

        if (!Equals(running.Admin, next.Admin))
        {
            keys.Add(("admin.bind", Restart)); // the successor's listeners would differ
        }

        if (running.AdminRemoteApi != next.AdminRemoteApi)
        {
            keys.Add(("admin.remoteApi", RestartOrTakeover));
        }

        if (running.AdminSocket != next.AdminSocket)
        {
            keys.Add(("admin.socket", RestartOrTakeover));
        }

        if (running.Timeouts.Client != next.Timeouts.Client)
        {
            keys.Add(("timeouts.client", RestartOrTakeover));
        }

        if (running.HttpSpliceThreshold != next.HttpSpliceThreshold)
        {
            keys.Add(("http.spliceThreshold", RestartOrTakeover));
        }

        if (running.HttpAbortOnClose != next.HttpAbortOnClose)
        {
            keys.Add(("http.abortOnClose", RestartOrTakeover));
        }

        if (running.HttpMaxDrainBody != next.HttpMaxDrainBody)
        {
            keys.Add(("http.maxDrainBody", RestartOrTakeover));
        }

        return keys;
    }

    private static int WorkerCount(ProxySettings settings) => (settings.Cores ?? CpuSet.Allowed()).Count;

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
        HttpMaxDrainBody = running.HttpMaxDrainBody,
    };
}
