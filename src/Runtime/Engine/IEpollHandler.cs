namespace Fastsock.Engine;

/// <summary>Something registered in a worker's epoll: a listener, a connection, the wake-up eventfd.</summary>
internal interface IEpollHandler
{
    /// <summary>Called on the worker thread with the ready mask from <c>epoll_wait</c>.</summary>
    void OnEpollEvents(uint events);
}
