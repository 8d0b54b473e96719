namespace Fastsock.Engine;

/// <summary>Something registered in a worker's epoll: a listener, a connection, the wake-up eventfd.</summary>
internal interface IEpollHandler
{
    /// <summary>Called on the worker thread with the ready mask from <c>epoll_wait</c>.</summary>
    void OnEpollEvents(uint events);

    /// <summary>
    /// Starts loading what <see cref="OnEpollEvents"/> will touch beyond the handler itself (a connection's pipes),
    /// called for the next ready handler while the current one runs. A hint (see <see cref="CachePrefetch"/>).
    /// </summary>
    void PrefetchState()
    {
    }
}
