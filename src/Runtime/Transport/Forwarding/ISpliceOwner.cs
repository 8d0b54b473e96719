namespace Fastsock.Transport.Forwarding;

/// <summary>What a socket lent for splicing reports to the object that borrowed it (worker thread only).</summary>
internal interface ISpliceOwner
{
    /// <summary>Epoll events of the lent socket, routed here instead of to the socket's own read and send paths.</summary>
    void OnEpollEvents(SocketConnection socket, uint events);

    /// <summary>The socket closed while lent (abort, idle timeout, shutdown).</summary>
    void OnSocketClosed(SocketConnection socket);
}
