using System.Net;
using System.Net.Sockets;
using Fastsock.Engine;
using Fastsock.Locality;
using Fastsock.Native;

namespace Fastsock.Transport;

/// <summary>
/// The local listen table for one endpoint (Fastsocket's per-core listen socket): one SO_REUSEPORT listener per
/// worker; in <see cref="ListenerSteering.Cpu"/> mode each has SO_INCOMING_CPU set to its CPU and a BPF program
/// that maps the CPU processing a SYN to that CPU's listener. In <see cref="ListenerSteering.Single"/> mode one
/// listener is shared by every worker instead.
/// </summary>
internal sealed class ListenerGroup : IDisposable
{
    private readonly Lock _membership = new();
    private readonly List<LocalListener> _bySlot = [];
    private readonly LocalListener?[] _byWorker;
    private int _sharedFd = -1;
    private EndPoint? _listenEndPoint;

    private ListenerGroup(IPEndPoint requested, ListenerSteering steering, int workerCount)
    {
        RequestedEndPoint = requested;
        BoundEndPoint = requested;
        Steering = steering;
        _byWorker = new LocalListener?[workerCount];
    }

    public IPEndPoint RequestedEndPoint { get; }

    /// <summary>The endpoint as bound: port 0 resolved to the port every worker shares.</summary>
    public IPEndPoint BoundEndPoint { get; private set; }

    public ListenerSteering Steering { get; }

    /// <summary>Group index → worker index, mirroring the kernel's reuseport array (tests check it).</summary>
    internal int[] WorkerBySlot
    {
        get
        {
            lock (_membership)
            {
                return [.. _bySlot.Select(l => l.Worker.Index)];
            }
        }
    }

    public LocalListener? ListenerFor(int workerIndex) => _byWorker[workerIndex];

    /// <summary>Opens the group's sockets for every worker. Nothing is accepted until the workers start.</summary>
    public static ListenerGroup Open(IPEndPoint endPoint, ListenerSteering steering, int backlog, bool noDelay, IReadOnlyList<SocketConnectionPool> pools, ConnectionHandler handler)
    {
        var group = new ListenerGroup(endPoint, steering, pools.Count);
        try
        {
            if (steering == ListenerSteering.Single)
            {
                group._sharedFd = ListenSocket.Open(endPoint, reusePort: false, incomingCpu: -1, backlog, noDelay);
                group.BoundEndPoint = ListenSocket.LocalEndPoint(group._sharedFd);
                foreach (var pool in pools)
                {
                    group._byWorker[pool.Worker.Index] = new LocalListener(group, group._sharedFd, shared: true, pool, handler);
                }

                return group;
            }

            if (endPoint.Port != 0)
            {
                ListenSocket.EnsurePortFree(endPoint);
            }

            var bindTo = endPoint;
            foreach (var pool in pools)
            {
                // SO_INCOMING_CPU only in cpu mode: since Linux 6.1 it steers reuseport selection by itself, and
                // hash mode is the no-locality baseline.
                int incomingCpu = steering == ListenerSteering.Cpu ? pool.Worker.Cpu : -1;
                int fd = ListenSocket.Open(bindTo, reusePort: true, incomingCpu, backlog, noDelay);
                var listener = new LocalListener(group, fd, shared: false, pool, handler);
                group._bySlot.Add(listener);
                group._byWorker[pool.Worker.Index] = listener;
                if (bindTo.Port == 0)
                {
                    // Port 0: the first worker's bind picks the port; the others join it.
                    group.BoundEndPoint = bindTo = ListenSocket.LocalEndPoint(fd);
                }
            }

            if (steering == ListenerSteering.Cpu)
            {
                group.AttachSteering();
            }

            return group;
        }
        catch
        {
            group.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Takes over listening sockets another process opened (<paramref name="fdsBySlot"/>, in the kernel's group order,
    /// <paramref name="workerBySlot"/>[i] the worker serving slot i) instead of binding: the group, its order and its
    /// queued connections stay as they are, and the steering program is rebuilt for this process's CPUs. Workers with
    /// no socket yet get new ones that join the group after the inherited ones. One socket and no slots: the single
    /// shared listener. The group owns every fd it is given, also when this throws.
    /// </summary>
    public static ListenerGroup Adopt(IPEndPoint requested, ListenerSteering steering, IReadOnlyList<int> fdsBySlot, IReadOnlyList<int> workerBySlot, int backlog, bool noDelay, IReadOnlyList<SocketConnectionPool> pools, ConnectionHandler handler)
    {
        var group = new ListenerGroup(requested, steering, pools.Count);
        try
        {
            if (steering == ListenerSteering.Single)
            {
                group._sharedFd = fdsBySlot[0];
                ListenSocket.Adopt(group._sharedFd, requested, incomingCpu: -1, backlog, noDelay);
                group.BoundEndPoint = ListenSocket.LocalEndPoint(group._sharedFd);
                foreach (var pool in pools)
                {
                    group._byWorker[pool.Worker.Index] = new LocalListener(group, group._sharedFd, shared: true, pool, handler);
                }

                return group;
            }

            // Owned first (so a failure below closes them all), prepared second.
            for (int slot = 0; slot < fdsBySlot.Count; slot++)
            {
                var pool = pools[workerBySlot[slot]];
                var listener = new LocalListener(group, fdsBySlot[slot], shared: false, pool, handler);
                group._bySlot.Add(listener);
                group._byWorker[pool.Worker.Index] = listener;
            }

            group.BoundEndPoint = ListenSocket.LocalEndPoint(fdsBySlot[0]);
            foreach (var listener in group._bySlot)
            {
                int incomingCpu = steering == ListenerSteering.Cpu ? listener.Worker.Cpu : -1;
                ListenSocket.Adopt(listener.Fd, group.BoundEndPoint, incomingCpu, backlog, noDelay);
            }

            foreach (var pool in pools)
            {
                if (group._byWorker[pool.Worker.Index] is null)
                {
                    int incomingCpu = steering == ListenerSteering.Cpu ? pool.Worker.Cpu : -1;
                    int fd = ListenSocket.Open(group.BoundEndPoint, reusePort: true, incomingCpu, backlog, noDelay);
                    var listener = new LocalListener(group, fd, shared: false, pool, handler);
                    group._bySlot.Add(listener);
                    group._byWorker[pool.Worker.Index] = listener;
                }
            }

            if (steering == ListenerSteering.Cpu)
            {
                group.AttachSteering();
            }

            return group;
        }
        catch
        {
            group.Dispose();
            throw;
        }
    }

    /// <summary>The group's sockets in the kernel's order with the worker of each, or the one shared listener and no slots.</summary>
    internal (int[] Fds, int[] WorkerBySlot) SnapshotSlots()
    {
        lock (_membership)
        {
            if (_sharedFd >= 0)
            {
                return ([_sharedFd], []);
            }

            var fds = new int[_bySlot.Count];
            var workers = new int[_bySlot.Count];
            for (int i = 0; i < fds.Length; i++)
            {
                fds[i] = _bySlot[i].Fd;
                workers[i] = _bySlot[i].Worker.Index;
            }

            return (fds, workers);
        }
    }

    /// <summary>
    /// An AF_UNIX endpoint: one listening socket shared by every worker (EPOLLEXCLUSIVE wakes one per connection), as in
    /// <see cref="ListenerSteering.Single"/> mode; unix sockets have no reuseport group and no CPU to steer by.
    /// </summary>
    public static ListenerGroup OpenUnix(UnixDomainSocketEndPoint endPoint, int backlog, IReadOnlyList<SocketConnectionPool> pools, ConnectionHandler handler)
    {
        var group = new ListenerGroup(new IPEndPoint(IPAddress.None, 0), ListenerSteering.Single, pools.Count) { ListenEndPoint = endPoint };
        group._sharedFd = ListenSocket.OpenUnix(endPoint, backlog);
        foreach (var pool in pools)
        {
            group._byWorker[pool.Worker.Index] = new LocalListener(group, group._sharedFd, shared: true, pool, handler);
        }

        return group;
    }

    /// <summary>What the group listens on, for logs: <see cref="BoundEndPoint"/>, or the unix socket's path.</summary>
    public EndPoint ListenEndPoint
    {
        get => _listenEndPoint ?? BoundEndPoint;
        private init => _listenEndPoint = value;
    }

    /// <summary>
    /// A listener is closing (worker thread). The kernel fills the freed group index with the last socket; mirror
    /// that and re-attach the program, or the CPU of the moved listener would be steered to a wrong index.
    /// </summary>
    internal void CloseMember(LocalListener listener)
    {
        lock (_membership)
        {
            int slot = _bySlot.IndexOf(listener);
            if (slot < 0)
            {
                return;
            }

            FileCalls.Close(listener.Fd);
            int last = _bySlot.Count - 1;
            _bySlot[slot] = _bySlot[last];
            _bySlot.RemoveAt(last);
            _byWorker[listener.Worker.Index] = null;
            if (Steering == ListenerSteering.Cpu && _bySlot.Count > 0)
            {
                AttachSteering();
            }
        }
    }

    private void AttachSteering()
    {
        var cpuBySlot = new int[_bySlot.Count];
        for (int i = 0; i < cpuBySlot.Length; i++)
        {
            cpuBySlot[i] = _bySlot[i].Worker.Cpu;
        }

        ReusePortSteering.Attach(_bySlot[0].Fd, cpuBySlot, BoundEndPoint.ToString());
    }

    public void Dispose()
    {
        lock (_membership)
        {
            foreach (var listener in _bySlot)
            {
                FileCalls.Close(listener.Fd);
            }

            _bySlot.Clear();
            Array.Clear(_byWorker);
            if (_sharedFd >= 0)
            {
                FileCalls.Close(_sharedFd);
                _sharedFd = -1;
            }
        }
    }
}
