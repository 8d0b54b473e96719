using Fastsock.Engine;
using Fastsock.Native;

namespace Fastsock.Transport;

/// <summary>
/// AF_UNIX connects. They complete at once or fail at once, except when the listener's backlog is full: then the
/// non-blocking connect says EAGAIN and no epoll event tells when room frees up, so the connect is retried on each
/// timer tick until it succeeds, fails otherwise, is cancelled, or the connect timeout passes.
/// </summary>
internal sealed partial class OutboundConnection
{
    private readonly UnixSocketAddress? _unixAddress;
    private UnixRetryTimer? _unixRetry;
    private int _unixFd = -1;
    private long _unixDeadlineMs;
    private TimeSpan _unixTimeout;
    private CancellationToken _unixCancellation;

    /// <summary>Whether the remote is a unix socket path (no source port, no SO_INCOMING_CPU locality).</summary>
    internal bool IsUnix => _unixAddress is not null;

    internal UnixSocketAddress UnixAddress => _unixAddress!;

    /// <summary>The listener's backlog is full (connect said EAGAIN): try again each tick. Worker thread only.</summary>
    public void RetryUnixConnect(int fd, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var worker = _connector.Worker;
        _unixFd = fd;
        _unixTimeout = timeout;
        _unixDeadlineMs = timeout == Timeout.InfiniteTimeSpan ? long.MaxValue : worker.NowMs + TimerWheel.Milliseconds(timeout);
        _unixCancellation = cancellationToken;
        _unixRetry = new UnixRetryTimer(this);
        worker.Timers.Schedule(_unixRetry, worker.NowMs, 1);
    }

    private void OnUnixRetry()
    {
        int fd = _unixFd;
        if (fd < 0)
        {
            return;
        }

        var worker = _connector.Worker;
        int errno = WorkerConnector.TryConnectUnix(fd, _unixAddress!);
        bool cancelled = _unixCancellation.IsCancellationRequested;
        if (errno == Errno.EAGAIN && !cancelled && worker.NowMs < _unixDeadlineMs)
        {
            worker.Timers.Schedule(_unixRetry!, worker.NowMs, 1);
            return;
        }

        _unixFd = -1;
        if (errno == 0)
        {
            Established(fd);
            return;
        }

        FileCalls.Close(fd);
        Exception error = errno != Errno.EAGAIN ? new NativeCallException($"connect({_remote})", errno)
            : cancelled ? new OperationCanceledException($"connect({_remote}) was cancelled.")
            : new TimeoutException($"connect({_remote}) timed out after {_unixTimeout.TotalMilliseconds:0} ms on worker {WorkerIndex}: the listener's backlog stayed full. Check the backend, or raise Outbound.ConnectTimeout.");
        _connector.OnConnectFailed(this, error);
    }

    private sealed class UnixRetryTimer(OutboundConnection owner) : TimerEntry
    {
        public override void OnExpired() => owner.OnUnixRetry();
    }
}
