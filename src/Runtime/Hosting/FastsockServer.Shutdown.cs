using Fastsock.Engine;
using Fastsock.Transport;

namespace Fastsock.Hosting;

public sealed partial class FastsockServer
{
    /// <summary>
    /// Graceful stop: every worker stops accepting, asks its connections to finish (their pending reads complete as
    /// cancelled), waits up to <see cref="FastsockServerOptions.ShutdownTimeout"/> for them to close, aborts the rest.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.CompareExchange(ref _state, 2, 1) != 1)
        {
            return;
        }

        // A hand-over under way finishes first; none starts from here on.
        _offer?.Dispose();
        long open = Active();
        long timeoutMs = TimerWheel.Milliseconds(_options.ShutdownTimeout);
        ServerLog.Stopping(_logger, open, timeoutMs);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(BclTimerDelay.From(_options.ShutdownTimeout));
        if (HandedOver.IsCompleted)
        {
            await KeepAliveGraceAsync(timeout.Token).ConfigureAwait(false);
        }

        await OnEachWorkerAsync(static worker =>
        {
            foreach (var handler in worker.SnapshotHandlers())
            {
                switch (handler)
                {
                    case LocalListener listener:
                        listener.Close();
                        break;
                    case SocketConnection connection:
                        connection.RequestShutdown();
                        break;
                    case OutboundConnection connecting:
                        connecting.CancelConnect("The server is shutting down: the connect was given up.");
                        break;
                }
            }
        }).ConfigureAwait(false);

        bool drained = await WaitForNoConnectionsAsync(timeout.Token).ConfigureAwait(false);
        if (!drained)
        {
            long remaining = Active();
            ServerLog.Aborting(_logger, remaining);
            await OnEachWorkerAsync(static worker =>
            {
                foreach (var handler in worker.SnapshotHandlers())
                {
                    (handler as SocketConnection)?.Abort();
                }
            }).ConfigureAwait(false);
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await WaitForNoConnectionsAsync(grace.Token).ConfigureAwait(false);
        }

        await TearDownAsync().ConfigureAwait(false);
        ServerLog.Stopped(_logger);
    }

    /// <summary>
    /// After a hand-over the clients of this server keep sending on their keep-alive connections. Closing one that is
    /// idle races with a request already on its way (the client sees a reset); so first every connection is told the
    /// server is stopping (its next response says <c>Connection: close</c>) while its reads continue, and only the
    /// connections still open after <see cref="ListenerHandoverOptions.KeepAliveGrace"/> get the usual shutdown.
    /// </summary>
    private async Task KeepAliveGraceAsync(CancellationToken token)
    {
        await OnEachWorkerAsync(static worker =>
        {
            foreach (var handler in worker.SnapshotHandlers())
            {
                (handler as SocketConnection)?.AnnounceShutdown();
            }
        }).ConfigureAwait(false);
        using var grace = CancellationTokenSource.CreateLinkedTokenSource(token);
        grace.CancelAfter(BclTimerDelay.From(_options.Handover.KeepAliveGrace));
        await WaitForNoConnectionsAsync(grace.Token).ConfigureAwait(false);
    }

    private long Active()
    {
        long active = 0;
        foreach (var worker in _workers)
        {
            active += worker.Counters.Active;
        }

        return active;
    }

    private async Task<bool> WaitForNoConnectionsAsync(CancellationToken token)
    {
        while (Active() > 0)
        {
            try
            {
                await Task.Delay(20, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return Active() == 0;
            }
        }

        return true;
    }

    /// <summary>Runs <paramref name="action"/> on every worker's own thread and waits for all of them.</summary>
    private Task OnEachWorkerAsync(Action<Worker> action) => WorkerFanOut.OnEachAsync(_workers, action);

    private async Task TearDownAsync()
    {
        _metrics?.Dispose();
        _metrics = null;
        Interlocked.Exchange(ref _offer, null)?.Dispose();

        // Claim the workers and groups before closing anything: DisposeAsync during a StopAsync still in flight
        // (state 2, so it does not wait for it) runs this too, and closing the same epoll, eventfd, listener and
        // pipe fds twice closes whatever the process reopened under those numbers meanwhile (the runtime's own
        // thread-start pipe once: "ResumeThread failed with error 6").
        var workers = Interlocked.Exchange(ref _workers, []);
        var groups = Interlocked.Exchange(ref _groups, []);

        // A start that failed half-way (a port in use, a bad CPU) leaves nulls where it stopped filling the arrays.
        foreach (var worker in workers)
        {
            worker?.Stop();
        }

        await Task.WhenAll(workers.Select(w => w is not null && w.Started.IsCompleted ? w.Exited : Task.CompletedTask)).ConfigureAwait(false);
        foreach (var group in groups)
        {
            group?.Dispose();
        }

        foreach (var worker in workers)
        {
            worker?.Dispose();
        }

        StopTcpFriends();
    }
}
