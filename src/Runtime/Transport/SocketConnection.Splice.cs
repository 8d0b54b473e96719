using Fastsock.Transport.Forwarding;

namespace Fastsock.Transport;

/// <summary>
/// Splice mode: the connection lends its fd to a splicer on the same worker (<see cref="SpliceForwarder"/>, <see cref="BoundedSplice"/>). The fd stays
/// registered and owned here (slot, idle timer, close, pooling); only its epoll events are routed to the forwarder,
/// and the transport stops reading into the input pipe. Bytes already in the input pipe are the forwarder's to send
/// first. When the forwarder is done the connection's input ends (or the connection is aborted) and the handler
/// completes its pipe ends as usual, which closes the fd.
/// </summary>
internal sealed partial class SocketConnection
{
    private ISpliceOwner? _splicer;

    /// <summary>The worker that owns this connection.</summary>
    internal Engine.Worker Worker => _worker;

    /// <summary>
    /// True when the fd can be lent: open, on its worker's thread, not lent already, output not finished, and nothing
    /// the handler wrote is stuck behind a full socket buffer or left unflushed (spliced bytes must not overtake it).
    /// Never a possible TCP friend: data redirected into its receive queue by sk_msg is invisible to splice(2).
    /// </summary>
    internal bool CanSplice =>
        _fd >= 0 && !_closed && _splicer is null && _worker.IsCurrentThread && !_sendEnded && !_waitingWritable &&
        _output.Writer.UnflushedBytes == 0 && !MayBeFriend();

    /// <summary>
    /// A loopback connection while TCP friends is on in this process. Conservative on purpose: whether the peer joined
    /// the map is not knowable race-free (its sockops callback may run after our connect completes), ours is.
    /// </summary>
    private bool MayBeFriend() =>
        Friends.TcpFriends.ActiveInProcess && RemoteEndPoint is System.Net.IPEndPoint { Address: var address } &&
        (System.Net.IPAddress.IsLoopback(address) || (address.IsIPv4MappedToIPv6 && System.Net.IPAddress.IsLoopback(address.MapToIPv4())));

    /// <summary>Output flushed by the handler that the end-of-turn send has not taken yet: lending waits a turn.</summary>
    internal bool HasPendingOutput => _hasOutput || _flushQueued;

    /// <summary>Everything the handler flushed is in the socket: none waits for the end-of-turn send or for EPOLLOUT.</summary>
    internal bool OutputInSocket => !_hasOutput && !_flushQueued && !_waitingWritable;

    /// <summary>Routes the fd's events to <paramref name="splicer"/> and stops reading into the input pipe.</summary>
    internal void BeginSplice(ISpliceOwner splicer) => _splicer = splicer;

    /// <summary>Forwarding ended cleanly (the peer's FIN was forwarded): the input pipe ends too.</summary>
    internal void EndSplice()
    {
        _splicer = null;
        EndReceive(null);
    }

    /// <summary>Forwarding failed: reset this connection (nothing happens if it is closed already).</summary>
    internal void AbortSplice(Exception error)
    {
        _splicer = null;
        if (!_closed)
        {
            _worker.Counters.Aborted++;
            CloseNow(abort: true, error);
            TryRelease();
        }
    }

    /// <summary>Splice turned out unsupported: back to reading into the input pipe, with a read now (the edge may be gone).</summary>
    internal void LeaveSplice()
    {
        _splicer = null;
        _worker.Post(static state => ((SocketConnection)state!).Receive(), this);
    }

    /// <summary>Accounts bytes the forwarder moved through this fd, and keeps the idle timer from firing on a busy tunnel.</summary>
    internal void NoteSpliced(long received, long sent)
    {
        _worker.Counters.BytesReceived += received;
        _worker.Counters.BytesSent += sent;
        _lastActivityMs = _worker.NowMs;
    }

    /// <summary>Hook for CloseNow: a connection closed under the forwarder (abort, idle timeout, shutdown) ends the forward.</summary>
    private void NotifySplicerClosed()
    {
        if (_splicer is { } splicer)
        {
            _splicer = null;
            splicer.OnSocketClosed(this);
        }
    }
}
