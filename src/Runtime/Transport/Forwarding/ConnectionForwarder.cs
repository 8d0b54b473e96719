using Fastsock.Engine;
using Fastsock.Transport.Forwarding;

namespace Fastsock.Transport;

/// <summary>
/// Forwards bytes both ways between two connections of one worker until both directions ended: the engine behind a
/// TCP proxy or an HTTP tunnel. A FIN on one side is passed on to the other (half-close), a reset or abort on one
/// side aborts the other (once the bytes forwarded to it before have reached its peer, waiting a few seconds at most;
/// a failed write aborts both at once). No byte is lost, duplicated or reordered, including bytes already buffered in
/// an input pipe when the forward starts. The forward owns both connections: when the task completes, all their pipe
/// ends are complete and they close.
/// </summary>
public static class ConnectionForwarder
{

    /// <summary>
    /// Forwards between <paramref name="first"/> and <paramref name="second"/>. Call it on the connections' worker (a
    /// connection handler or its continuations), with no read pending on their inputs.
    /// </summary>
    /// <returns>Bytes moved each way, the engine used, and what ended the forward when it did not end cleanly.</returns>
    public static Task<ForwardResult> ForwardAsync(Connection first, Connection second, ForwardingMode mode = ForwardingMode.Auto, ForwardingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        options ??= ForwardingOptions.Default;
        options.Validate();
        var worker = CurrentWorker();
        var watch = ForwardIdleWatch.Start(worker, first, second, options.IdleTimeout);
        var forward = Start(worker, first, second, mode, options);
        return watch is null ? forward : watch.WatchAsync(forward);
    }

    private static Task<ForwardResult> Start(Worker? worker, Connection first, Connection second, ForwardingMode mode, ForwardingOptions options)
    {
        if (mode != ForwardingMode.Copy)
        {
            var readiness = SpliceForwarder.Check(worker, first, second);
            if (readiness == SpliceReadiness.Ready && SpliceForwarder.TryStart(worker, first, second, options, out var spliced))
            {
                return spliced;
            }

            if (readiness == SpliceReadiness.OutputPending)
            {
                // The handler flushed bytes (a greeting, "200 Connection established") that go out at the end of
                // this loop turn: splice once they are sent.
                var deferred = new DeferredSplice(worker!, first, second, options);
                deferred.Schedule();
                return deferred.Completion;
            }
        }

        return CopyForwarder.RunAsync(first, second, worker, options);
    }

    /// <summary>
    /// Moves exactly <paramref name="count"/> bytes from <paramref name="from"/>'s input to <paramref name="to"/>'s
    /// output with <c>splice(2)</c>, starting with what <paramref name="from"/>'s input pipe already holds, then gives
    /// both connections back to their pipes so they go on (an HTTP body of known length between keep-alive
    /// messages). Output flushed just before goes out first. Call it on the connections' worker with no read pending
    /// on their inputs and nothing written to their outputs until the task completes.
    /// </summary>
    /// <returns>
    /// <see cref="ForwardingMode.Splice"/> with <c>FirstToSecond == count</c> when done; with an error when it failed:
    /// both connections are then aborted when <paramref name="to"/> failed, only <paramref name="from"/> when it ended
    /// or failed before the count (<paramref name="to"/> then has every byte taken from it, and is left to its owner to
    /// close). <see cref="ForwardingMode.Copy"/> with nothing moved when splice cannot be used (an end is not a socket of
    /// this worker, the kernel refused splice, output is stuck): copy instead.
    /// </returns>
    public static Task<ForwardResult> SpliceExactlyAsync(Connection from, Connection to, long count, ForwardingOptions? options = null) =>
        SpliceExactlyAsync(from, to, count, keepSourceWithin: 0, sourceTimeout: default, options).AsTask();

    /// <summary>
    /// <see cref="SpliceExactlyAsync(Connection, Connection, long, ForwardingOptions?)"/>, except when the target fails
    /// with at most <paramref name="keepSourceWithin"/> bytes of the count not delivered to it: then only the target is
    /// aborted and <paramref name="from"/> goes back to its input pipe (<see cref="ForwardResult.SourceKept"/>), so that
    /// its reader can read the rest of the count and go on (an HTTP response body whose client left, drained to keep the
    /// backend connection); and when <paramref name="sourceTimeout"/> is positive, except when <paramref name="from"/>
    /// sends nothing for that long while the splice waits on it (not while <paramref name="to"/> holds it up): then only
    /// <paramref name="from"/> is aborted and <paramref name="to"/> goes back to its pipes
    /// (<see cref="ForwardResult.SourceTimedOut"/>), as for a copied HTTP response body whose server stalls.
    /// The entry point of the HTTP forwarder: no allocation per call; await the result once.
    /// </summary>
    internal static ValueTask<ForwardResult> SpliceExactlyAsync(
        Connection from, Connection to, long count, long keepSourceWithin, TimeSpan sourceTimeout = default, ForwardingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        options ??= ForwardingOptions.Default;
        options.Validate();
        return BoundedSplice.Start(CurrentWorker(), from, to, count, keepSourceWithin, sourceTimeout, options);
    }

    /// <summary>The worker whose thread is running the caller, if any.</summary>
    internal static Worker? CurrentWorker() =>
        SynchronizationContext.Current is WorkerSynchronizationContext { Worker: { IsCurrentThread: true } worker } ? worker : null;
}
