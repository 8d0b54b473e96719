using System.Net;
using System.Net.Sockets;

namespace Fastsock.Tests.Support;

/// <summary>
/// Ports for what cannot bind port 0 and report it: a port that refuses connections, and external peers (nginx,
/// redis) that take a port number on their command line. Our own servers and samples bind port 0 instead
/// (<see cref="SampleProcess.ListeningOnAsync"/>, <c>FastsockServer.EndPoints</c>).
/// </summary>
internal static class LoopbackPorts
{
    private const int Attempts = 5;

    /// <summary>
    /// A loopback port bound but never listened on, held until disposed: connections to it are refused (RST), and no
    /// other socket can be given it meanwhile, unlike a number probed and released.
    /// </summary>
    public static RefusingPort Refusing() => new();

    /// <summary>
    /// Starts an external peer on a port it binds itself. The number is probed free just before, so another process
    /// can take it in between; when <paramref name="start"/> fails with "address in use" it is tried again on a fresh
    /// port (up to <see cref="Attempts"/> times) instead of failing the test by chance.
    /// </summary>
    public static async Task<T> StartPeerAsync<T>(Func<int, Task<T>> start)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await start(ProbeFreePort());
            }
            catch (Exception ex) when (attempt < Attempts && IsAddressInUse(ex))
            {
            }
        }
    }

    private static bool IsAddressInUse(Exception ex) =>
        ex.ToString().Contains("Address already in use", StringComparison.OrdinalIgnoreCase)
        || ex.ToString().Contains("EADDRINUSE", StringComparison.Ordinal);

    private static int ProbeFreePort()
    {
        using var probe = new Socket(SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }
}
