using System.Globalization;
using System.Net;
using Fastsock.Locality;
using Fastsock.Native;
using Fastsock.Transport;

namespace Fastsock.Hosting.Handover;

/// <summary>
/// systemd socket activation (sd_listen_fds(3)): when <c>LISTEN_PID</c> is this process, <c>LISTEN_FDS</c> sockets
/// start at fd 3. Each is matched to an endpoint by the address it is bound to (getsockname). One socket per worker
/// for an endpoint is used in fd order as its reuseport group; a single reuseport socket becomes the first member and
/// the other workers' sockets join it.
/// </summary>
internal static class SystemdListeners
{
    private const int FirstFd = 3;

    /// <summary>For each endpoint, the sockets systemd passed for it, or null; null altogether when none were passed.</summary>
    public static InheritedGroup?[]? Take(IReadOnlyList<IPEndPoint> requested, int workers, ListenerSteering steering)
    {
        if (!int.TryParse(Environment.GetEnvironmentVariable("LISTEN_PID"), NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
            || pid != Environment.ProcessId
            || !int.TryParse(Environment.GetEnvironmentVariable("LISTEN_FDS"), NumberStyles.None, CultureInfo.InvariantCulture, out int count)
            || count <= 0)
        {
            return null;
        }

        // Ours now: a child process must not take them again (sd_listen_fds with unset_environment).
        Environment.SetEnvironmentVariable("LISTEN_PID", null);
        Environment.SetEnvironmentVariable("LISTEN_FDS", null);
        Environment.SetEnvironmentVariable("LISTEN_FDNAMES", null);

        var bound = new IPEndPoint[count];
        for (int i = 0; i < count; i++)
        {
            int fd = FirstFd + i;
            PathCalls.Control(fd, PathCalls.F_SETFD, PathCalls.FD_CLOEXEC);
            if (SocketCalls.GetInt(fd, SocketCalls.SOL_SOCKET, DescriptorPassingCalls.SO_ACCEPTCONN) != 1)
            {
                throw new ListenerHandoverException($"LISTEN_FDS: fd {fd} is not a listening socket; pass only ListenStream= sockets to this server");
            }

            IPEndPoint? address = null;
            try
            {
                address = ListenSocket.LocalEndPoint(fd); // null for an AF_UNIX socket
            }
            catch (NativeCallException)
            {
            }

            bound[i] = address ?? throw new ListenerHandoverException($"LISTEN_FDS: fd {fd} is not a TCP socket bound to an IP address; pass only ListenStream=ADDRESS:PORT sockets to this server");
        }

        var used = new bool[count];
        var result = new InheritedGroup?[requested.Count];
        for (int e = 0; e < requested.Count; e++)
        {
            var fds = new List<int>();
            for (int i = 0; i < count; i++)
            {
                if (!used[i] && bound[i].Equals(requested[e]))
                {
                    used[i] = true;
                    fds.Add(FirstFd + i);
                }
            }

            if (fds.Count > 0)
            {
                result[e] = Group(requested[e], fds, workers, steering);
            }
        }

        int unused = Array.IndexOf(used, false);
        if (unused >= 0)
        {
            throw new ListenerHandoverException($"LISTEN_FDS: fd {FirstFd + unused} is bound to {bound[unused]}, which this server does not listen on ({string.Join(", ", requested)}); add it to the config or remove it from the socket unit");
        }

        return result;
    }

    private static InheritedGroup Group(IPEndPoint endPoint, List<int> fds, int workers, ListenerSteering steering)
    {
        const string Origin = "systemd";
        if (steering == ListenerSteering.Single)
        {
            if (fds.Count != 1)
            {
                throw new ListenerHandoverException($"LISTEN_FDS: {fds.Count} sockets for {endPoint}, and steering 'single' shares one; pass one, or use steering cpu or hash");
            }

            return new InheritedGroup([.. fds], [], Origin);
        }

        if (fds.Count == workers || (fds.Count == 1 && workers > 1))
        {
            foreach (int fd in fds)
            {
                if (fds.Count < workers && SocketCalls.GetInt(fd, SocketCalls.SOL_SOCKET, SocketCalls.SO_REUSEPORT) != 1)
                {
                    throw new ListenerHandoverException($"LISTEN_FDS: fd {fd} ({endPoint}) has no SO_REUSEPORT, and {workers} workers need one listener each; add ReusePort=yes to the socket unit, or use steering single");
                }
            }

            int[] workerBySlot = [.. Enumerable.Range(0, fds.Count)];
            return new InheritedGroup([.. fds], workerBySlot, Origin);
        }

        throw new ListenerHandoverException($"LISTEN_FDS: {fds.Count} sockets for {endPoint} and {workers} workers; pass one socket (ReusePort=yes) or one per worker");
    }
}
