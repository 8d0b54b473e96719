using System.Collections.Concurrent;

namespace Fastsock.Engine;

/// <summary>
/// A worker's run queue. Work queued by the worker itself (pipe continuations, the common case) goes into a plain
/// ring with no synchronisation; work from other threads goes into a concurrent queue, and the worker is woken
/// through its eventfd only when it is not already signalled.
/// </summary>
internal sealed class WorkQueue
{
    private WorkItem[] _ring = new WorkItem[1024];
    private int _head;
    private int _count;
    private readonly ConcurrentQueue<WorkItem> _remote = new();
    private int _signalled;
    private readonly Action<Exception> _onFault;

    public WorkQueue(Action<Exception> onFault) => _onFault = onFault;

    public bool HasLocalWork => _count > 0;

    public bool HasRemoteWork => !_remote.IsEmpty;

    public void EnqueueLocal(Action<object?> action, object? state)
    {
        if (_count == _ring.Length)
        {
            GrowRing();
        }

        _ring[(_head + _count) & (_ring.Length - 1)] = new WorkItem(action, state);
        _count++;
    }

    /// <summary>Queues from another thread; returns true when the caller must wake the worker.</summary>
    public bool EnqueueRemote(Action<object?> action, object? state)
    {
        _remote.Enqueue(new WorkItem(action, state));
        return Interlocked.CompareExchange(ref _signalled, 1, 0) == 0;
    }

    /// <summary>Called by the worker after it drained its eventfd, before it runs remote work.</summary>
    public void ClearSignal() => Volatile.Write(ref _signalled, 0);

    /// <summary>
    /// Runs queued work, including work queued while running (a handler's continuation queues the send), so one
    /// loop turn carries a request from read to write. The budget keeps a continuation that reschedules itself
    /// forever from starving the epoll.
    /// </summary>
    public void RunPending()
    {
        // IsEmpty first: ConcurrentQueue.Count snapshots the segments, which every turn would pay for nothing.
        if (!_remote.IsEmpty)
        {
            int remote = _remote.Count;
            while (remote-- > 0 && _remote.TryDequeue(out var item))
            {
                EnqueueLocal(item.Action, item.State);
            }
        }

        int budget = 4096;
        while (_count > 0 && budget-- > 0)
        {
            var item = _ring[_head];
            _ring[_head] = default;
            _head = (_head + 1) & (_ring.Length - 1);
            _count--;
            if (_count > 0)
            {
                // The next item's state (a continuation's state machine, a connection) is likely cold: load it now.
                CachePrefetch.Object(_ring[_head].State);
            }

            try
            {
                item.Action(item.State);
            }
            catch (Exception ex)
            {
                _onFault(ex);
            }
        }
    }

    private void GrowRing()
    {
        var larger = new WorkItem[_ring.Length * 2];
        for (int i = 0; i < _count; i++)
        {
            larger[i] = _ring[(_head + i) & (_ring.Length - 1)];
        }

        _ring = larger;
        _head = 0;
    }

    private readonly record struct WorkItem(Action<object?> Action, object? State);
}
