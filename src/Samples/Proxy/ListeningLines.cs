using System.Net;
using Fastsock.Samples.Proxy.Config;

namespace Fastsock.Samples.Proxy;

/// <summary>
/// One stdout line per listener with the address it actually got (a bind to port 0 picks a free port), in one
/// stable form people and scripts both read, the form fastsock-hello uses (<c>Listening on http://127.0.0.1:8080</c>)
/// with the listener's name in front: <c>Frontend web listening on http://127.0.0.1:43121</c>,
/// <c>Admin listening on http://127.0.0.1:8404</c>.
/// </summary>
internal static class ListeningLines
{
    /// <param name="bound">The server's endpoints in the order they were added: every frontend's binds, then the admin.</param>
    public static void Print(ProxySettings settings, IReadOnlyList<IPEndPoint> bound)
    {
        int next = 0;
        foreach (var frontend in settings.Frontends)
        {
            for (int i = 0; i < frontend.Binds.Count; i++)
            {
                Frontend(frontend, bound[next++]);
            }
        }

        if (settings.Admin is not null)
        {
            Console.WriteLine($"Admin listening on http://{bound[next]}");
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
