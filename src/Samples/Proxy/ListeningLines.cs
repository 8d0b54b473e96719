using System.Net;
using Fastsock.Samples.Proxy.Config;
using Fastsock.Samples.Proxy.Reload;

namespace Fastsock.Samples.Proxy;

/// <summary>
/// One stdout line per listener with the address it actually got (a bind to port 0 picks a free port), in one
/// stable form people and scripts both read, the form fastsock-hello uses (<c>Listening on http://127.0.0.1:8080</c>)
/// with the listener's name in front: <c>Frontend web listening on http://127.0.0.1:43121</c>,
/// <c>Admin listening on http://127.0.0.1:8404</c>. Where requests go follows once per backend
/// (<c>Backend app (frontend web): 127.0.0.1:9000, dns:app.example:8080</c>), so each line says one thing once.
/// </summary>
internal static class ListeningLines
{
    /// <summary>The start-up lines, from the endpoints <see cref="LiveConfig.Started"/> recorded (worked out once, there).</summary>
    /// <param name="admin">Where the admin endpoint got bound, or null without one.</param>
    public static void Print(LiveConfig live, IPEndPoint? admin)
    {
        foreach (var frontend in live.Frontends)
        {
            foreach (var bind in frontend.Settings.Binds)
            {
                Frontend(frontend.Settings, frontend.Bound[bind]);
            }
        }

        if (admin is not null)
        {
            Console.WriteLine($"Admin listening on http://{admin}"); // /stats, /stats?format=json, /metrics: see the README
        }

        foreach (var backend in live.Settings.Backends)
        {
            var frontends = live.Settings.Frontends.Where(f => f.Backend.Name == backend.Name).Select(f => f.Name).ToList();
            if (frontends.Count > 0)
            {
                var servers = backend.Servers.Select(s => s.Address.ToString()).Concat(backend.Discovered.Select(d => d.Query.ToString()));
                Console.WriteLine($"Backend {backend.Name} (frontend {string.Join(", ", frontends)}): {string.Join(", ", servers)}");
            }
        }
    }

    /// <summary>The line of one frontend bind (also printed when a reload adds one).</summary>
    public static void Frontend(FrontendSettings frontend, IPEndPoint bound) =>
        Console.WriteLine($"Frontend {frontend.Name} listening on {Scheme(frontend)}://{bound}");

    private static string Scheme(FrontendSettings frontend) => (frontend.Mode, frontend.Tls) switch
    {
        (ProxyMode.Http, null) => "http",
        (ProxyMode.Http, _) => "https",
        (_, null) => "tcp",
        _ => "tls",
    };
}
