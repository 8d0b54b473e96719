using System.Runtime.InteropServices;
using Fastsock.Memory;
using Fastsock.Native;
using Microsoft.Extensions.Logging;

namespace Fastsock.Engine;

/// <summary>
/// One core's reactor: a thread pinned to one CPU with its own epoll, eventfd, run queue, timer wheel, buffer pool
/// and counters. Everything a connection needs hangs off its worker; other threads talk to it only by posting work.
/// </summary>
internal sealed unsafe partial class Worker : IDisposable
{
    // A turn receives for every ready connection, then runs their handlers, then sends: each connection's state and
    // buffer block stay in flight across the whole turn. 128 events keep that working set closer to the caches than
    // 512 did and fewer blocks in flight at once (proxy at 1,000 clients: 35 pool slabs instead of 48, ~2-5 MiB less
    // RSS; req/s ahead in 18 of 24 alternating rounds at 256 and 1,000 clients, 7 of 16 at 64; perf/results/proxy-http.md).
    // The extra epoll_wait calls cost one syscall per 128 events.
    private const int MaxEventsPerWait = 128;
    private const ulong WakeupToken = ulong.MaxValue;

    private int _epollFd;
    private int _eventFd;
    private readonly EpollSlotTable _slots = new();
    private readonly WorkQueue _queue;
    private readonly ILogger _logger;
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Thread? _thread;
    private int _threadId = -1;
    private volatile bool _stopping;
    private IFlushable? _flushHead;
    private IFlushable? _flushTail;

    public Worker(int index, int cpu, ILogger logger)
    {
        Index = index;
        Cpu = cpu;
        _logger = logger;
        _queue = new WorkQueue(ReportFault);
        Scheduler = new WorkerScheduler(this);
        Pool = new CoreMemoryPool();
        Timers = new TimerWheel(Environment.TickCount64);
        _epollFd = EpollCalls.Create(EpollCalls.EPOLL_CLOEXEC);
        if (_epollFd < 0)
        {
            throw Errno.Exception("epoll_create1");
        }

        _eventFd = FileCalls.EventFd(0, FileCalls.EFD_CLOEXEC | FileCalls.EFD_NONBLOCK);
        if (_eventFd < 0)
        {
            int errno = Errno.Last;
            FileCalls.Close(_epollFd);
            throw new NativeCallException("eventfd", errno);
        }

        var ev = new EpollEvent { Events = EpollCalls.EPOLLIN, Data = WakeupToken };
        if (EpollCalls.Control(_epollFd, EpollCalls.EPOLL_CTL_ADD, _eventFd, ref ev) != 0)
        {
            throw Errno.Exception("epoll_ctl(ADD eventfd)");
        }
    }

    public int Index { get; }

    public int Cpu { get; }

    public WorkerScheduler Scheduler { get; }

    public CoreMemoryPool Pool { get; }

    /// <summary>Empty kernel pipes for splice forwarding; none exist until the first splice.</summary>
    public KernelPipeCache Pipes { get; } = new();

    public TimerWheel Timers { get; }

    public WorkerCounters Counters { get; } = new();

    /// <summary>Scratch for pinning output segments around one writev (worker thread only).</summary>
    public System.Buffers.MemoryHandle[] PinScratch { get; } = new System.Buffers.MemoryHandle[64];

    public ILogger Logger => _logger;

    /// <summary>The kernel thread id, for tests and diagnostics (read /proc/self/task/TID).</summary>
    public int NativeThreadId { get; private set; }

    /// <summary>Milliseconds (TickCount64) at the start of the current loop turn.</summary>
    public long NowMs { get; private set; } = Environment.TickCount64;

    public bool IsCurrentThread => Environment.CurrentManagedThreadId == _threadId;

    /// <summary>Handlers registered in this worker's epoll (listeners and connections).</summary>
    public int RegisteredCount => _slots.Count;

    /// <summary>Completes when the thread runs pinned to its CPU; faults when pinning fails.</summary>
    public Task Started => _started.Task;

    /// <summary>Completes when the loop has exited.</summary>
    public Task Exited => _exited.Task;

    public void Start()
    {
        _thread = new Thread(Run, maxStackSize: 1 << 20)
        {
            Name = $"fastsock-w{Index}",
            IsBackground = true,
        };
        _thread.Start();
    }

    /// <summary>Runs <paramref name="action"/> on this worker: inline-queued on its own thread, woken from others.</summary>
    public void Post(Action<object?> action, object? state)
    {
        if (IsCurrentThread)
        {
            _queue.EnqueueLocal(action, state);
        }
        else if (_queue.EnqueueRemote(action, state))
        {
            Wake();
        }
    }

    /// <summary>Registers an fd once, for the life of the fd (no epoll_ctl per request).</summary>
    public ulong Register(int fd, IEpollHandler handler, uint events)
    {
        ulong token = _slots.Add(handler);
        var ev = new EpollEvent { Events = events, Data = token };
        if (EpollCalls.Control(_epollFd, EpollCalls.EPOLL_CTL_ADD, fd, ref ev) != 0)
        {
            var error = Errno.Exception($"epoll_ctl(ADD fd {fd})");
            _slots.Remove(token);
            throw error;
        }

        return token;
    }

    /// <summary>Forgets a registration. Closing the fd removes it from the epoll set; this frees the slot.</summary>
    public void Unregister(ulong token) => _slots.Remove(token);

    /// <summary>Explicit removal, for fds shared with other workers (the single listener) that stay open.</summary>
    public void Deregister(int fd, ulong token)
    {
        var ev = default(EpollEvent);
        EpollCalls.Control(_epollFd, EpollCalls.EPOLL_CTL_DEL, fd, ref ev);
        _slots.Remove(token);
    }

    /// <summary>Queues a connection to send at the end of this loop turn (one writev per connection per turn).</summary>
    public void QueueFlush(IFlushable flushable)
    {
        flushable.NextFlush = null;
        if (_flushTail is null)
        {
            _flushHead = flushable;
        }
        else
        {
            _flushTail.NextFlush = flushable;
        }

        _flushTail = flushable;
    }

    /// <summary>Every registered handler, for shutdown; call on the worker thread.</summary>
    public List<IEpollHandler> SnapshotHandlers()
    {
        var list = new List<IEpollHandler>(_slots.Count);
        _slots.CopyTo(list);
        return list;
    }

    public void Stop()
    {
        _stopping = true;
        Wake();
    }

    private void Wake()
    {
        ulong one = 1;
        FileCalls.Write(_eventFd, (byte*)&one, sizeof(ulong));
    }

    public void Dispose()
    {
        Stop();
        if (_thread is not null && _thread.IsAlive && !IsCurrentThread)
        {
            _thread.Join();
        }

        // -1 once closed: a second Dispose, or a Post (Wake) that comes after it, must not reach whatever the
        // process opened under these numbers since.
        int eventFd = Interlocked.Exchange(ref _eventFd, -1);
        int epollFd = Interlocked.Exchange(ref _epollFd, -1);
        if (eventFd >= 0)
        {
            FileCalls.Close(eventFd);
        }

        if (epollFd >= 0)
        {
            FileCalls.Close(epollFd);
        }

        Pool.Dispose();
        Pipes.Dispose();
    }
}
