using Fastsock.Engine;
using Fastsock.Transport.Forwarding;

namespace Fastsock.Transport;

/// <summary>
/// Forwards bytes both ways between two connections of one worker until both directions ended: the engine behind a
/// TCP proxy or an HTTP tunnel. A FIN on one side is passed on to the other (half-close), a reset or abort on one
/// side aborts the other. No byte is lost, duplicated or reordered, including bytes already buffered in an input
/// pipe when the forward starts. The forward owns both connections: when the task completes, all their pipe ends
/// are complete and they close.
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
        if (mode != ForwardingMode.Copy && SpliceForwarder.TryStart(worker, first, second, options, out var spliced))
        {
            return spliced;
        }

        return CopyForwarder.RunAsync(first, second, worker);
    }

    /// <summary>The worker whose thread is running the caller, if any.</summary>
    internal static Worker? CurrentWorker() =>
        SynchronizationContext.Current is WorkerSynchronizationContext { Worker: { IsCurrentThread: true } worker } ? worker : null;
}
