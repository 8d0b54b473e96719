using System.Net;
using Fastsock.Locality;
using Fastsock.Samples.Proxy.Config;
using Fastsock.Samples.Proxy.Reload;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// What a reload says applies each restart-only key: a takeover where the hand-over accepts the new value, a restart
/// where it refuses it (another worker count, another steering, other listeners: see ListenerTakeover.Match).
/// </summary>
public sealed class RestartOnlySettingsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastsock-restart-only-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private ProxySettings Running()
    {
        var path = Path.Combine(_dir, "proxy.json");
        File.WriteAllText(path, """
            { "cores": "0", "admin": { "bind": "127.0.0.1:8404" },
              "frontends": [ { "name": "web", "bind": [ "127.0.0.1:8080" ], "mode": "http", "backend": "app" } ],
              "backends": [ { "name": "app", "servers": [ { "address": "127.0.0.1:9000" } ] } ] }
            """);
        return ConfigLoader.Load(path);
    }

    [Fact]
    public void Steering_another_worker_count_and_another_admin_bind_need_a_restart()
    {
        var running = Running();
        var next = running with
        {
            Cores = CpuSet.Parse("0-1"),
            Steering = ListenerSteering.Hash,
            Admin = new IPEndPoint(IPAddress.Loopback, 8405),
        };

        Assert.Equal([("cores", "a restart"), ("steering", "a restart"), ("admin.bind", "a restart")], RestartOnlySettings.ChangedKeys(running, next));
    }

    [Fact]
    public void Other_cpus_as_many_and_the_process_wide_options_can_also_be_applied_by_a_takeover()
    {
        var running = Running();
        var next = running with { Cores = CpuSet.Parse("1"), Forwarding = running.Forwarding == "copy" ? "splice" : "copy" };

        Assert.Equal([("cores", "a restart or --takeover"), ("forwarding", "a restart or --takeover")], RestartOnlySettings.ChangedKeys(running, next));
    }

    [Fact]
    public void The_drain_bound_is_an_http_option_a_restart_or_takeover_applies_and_a_reload_keeps_as_running()
    {
        var running = Running();
        var next = running with { HttpMaxDrainBody = 0 };

        Assert.Equal([("http.maxDrainBody", "a restart or --takeover")], RestartOnlySettings.ChangedKeys(running, next));
        Assert.Equal(64 * 1024, RestartOnlySettings.KeepRunning(running, next).HttpMaxDrainBody);
    }
}
