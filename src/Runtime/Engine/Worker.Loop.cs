using System.Runtime.InteropServices;
using Fastsock.Locality;
using Fastsock.Native;
using Microsoft.Extensions.Logging;

namespace Fastsock.Engine;

internal sealed unsafe partial class Worker
{
    private void Run()
    {
        _threadId = Environment.CurrentManagedThreadId;
        NativeThreadId = ThreadCalls.GetThreadId();
        try
        {
            CpuAffinity.PinCurrentThread(Cpu);
        }
        catch (Exception ex)
        {
            _started.TrySetException(ex);
            _exited.TrySetResult();
            return;
        }

        Pool.SetOwner(_threadId);
        SynchronizationContext.SetSynchronizationContext(new WorkerSynchronizationContext(this));
        _started.TrySetResult();
        WorkerLog.Started(_logger, Index, Cpu, NativeThreadId);

        var events = (EpollEvent*)NativeMemory.Alloc(MaxEventsPerWait, (nuint)sizeof(EpollEvent));
        try
        {
            while (!_stopping)
            {
                Turn(events);
            }

            // Run what was posted before the stop (closing work), then send what it produced.
            _queue.RunPending();
            FlushAll();
        }
        catch (Exception ex)
        {
            // A bug in the loop itself: the worker cannot go on, and saying so beats a silent hang.
            WorkerLog.LoopFailed(_logger, ex, Index);
            throw;
        }
        finally
        {
            NativeMemory.Free(events);
            _exited.TrySetResult();
        }
    }

    private void Turn(EpollEvent* events)
    {
        int timeout = _queue.HasLocalWork || _queue.HasRemoteWork || _flushHead is not null ? 0 : Timers.SleepBudget(NowMs);
        int count = EpollCalls.Wait(_epollFd, events, MaxEventsPerWait, timeout);
        NowMs = Environment.TickCount64;
        if (count < 0)
        {
            int errno = Errno.Last;
            if (errno != Errno.EINTR)
            {
                throw new NativeCallException($"epoll_wait(worker {Index})", errno);
            }

            count = 0;
        }

        // Start loading every ready handler before the first one runs: with many connections they are cold.
        for (int i = 0; i < count; i++)
        {
            CachePrefetch.Object(_slots.Find(events[i].Data));
        }

        for (int i = 0; i < count; i++)
        {
            ulong data = events[i].Data;
            if (data == WakeupToken)
            {
                ulong drained;
                FileCalls.Read(_eventFd, (byte*)&drained, sizeof(ulong));
                _queue.ClearSignal();
                continue;
            }

            if (i + 1 < count)
            {
                // Its object was asked for above and has arrived by now; what it points to has not.
                _slots.Find(events[i + 1].Data)?.PrefetchState();
            }

            try
            {
                // Looked up again, not taken from the prefetch pass: an earlier event in this batch may have closed it.
                _slots.Find(data)?.OnEpollEvents(events[i].Events);
            }
            catch (Exception ex)
            {
                ReportFault(ex);
            }
        }

        _queue.RunPending();
        try
        {
            Timers.Advance(NowMs);
        }
        catch (Exception ex)
        {
            ReportFault(ex);
        }

        FlushAll();
    }

    /// <summary>
    /// A callback threw where nothing expected it (a bug): log it and keep serving the worker's other connections,
    /// instead of letting one connection's failure take the process down.
    /// </summary>
    private void ReportFault(Exception exception) => WorkerLog.CallbackFailed(_logger, exception, Index);

    private void FlushAll()
    {
        while (_flushHead is { } flushable)
        {
            _flushHead = flushable.NextFlush;
            if (_flushHead is null)
            {
                _flushTail = null;
            }

            flushable.NextFlush = null;
            try
            {
                flushable.Flush();
            }
            catch (Exception ex)
            {
                ReportFault(ex);
            }
        }
    }
}

/// <summary>Something that gathers its pending output and sends it once per loop turn.</summary>
internal interface IFlushable
{
    IFlushable? NextFlush { get; set; }

    void Flush();
}

internal static partial class WorkerLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "Worker {Index} started on CPU {Cpu} (tid {ThreadId})")]
    public static partial void Started(ILogger logger, int index, int cpu, int threadId);

    [LoggerMessage(EventId = 2, Level = LogLevel.Critical, Message = "Worker {Index} event loop failed; its connections are lost")]
    public static partial void LoopFailed(ILogger logger, Exception exception, int index);

    [LoggerMessage(EventId = 3, Level = LogLevel.Critical, Message = "Worker {Index}: a callback failed unexpectedly; the worker goes on")]
    public static partial void CallbackFailed(ILogger logger, Exception exception, int index);
}
