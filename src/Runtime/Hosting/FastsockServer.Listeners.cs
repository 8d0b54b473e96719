using System.Net;
using Fastsock.Transport;
using Microsoft.Extensions.Logging;

namespace Fastsock.Hosting;

// Listeners added to and removed from a running server (a proxy's config reload adds and removes frontends).
public sealed partial class FastsockServer
{
    private SocketConnectionPool[] _pools = [];

    /// <summary>
    /// Opens <paramref name="endPoint"/> on a running server: one socket per worker with the steering the server
    /// started with, registered by each worker on its own thread. Returns the endpoint as bound (port 0 resolved).
    /// Throws with the bind's one-line reason (e.g. <c>EADDRINUSE</c>) and leaves nothing open when it cannot.
    /// </summary>
    public async Task<IPEndPoint> AddListenerAsync(IPEndPoint endPoint, ConnectionHandler handler)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        ArgumentNullException.ThrowIfNull(handler);
        EnsureRunning();
        var group = ListenerGroup.Open(endPoint, _options.Steering, _options.ListenBacklog, _options.Connection.NoDelay, _pools, handler);
        try
        {
            await OnEachWorkerAsync(worker => group.ListenerFor(worker.Index)!.Register()).ConfigureAwait(false);
        }
        catch
        {
            await OnEachWorkerAsync(worker => group.ListenerFor(worker.Index)?.Close()).ConfigureAwait(false);
            group.Dispose();
            throw;
        }

        ListenerGroup[] before;
        do
        {
            before = Volatile.Read(ref _groups);
        }
        while (Interlocked.CompareExchange(ref _groups, [.. before, group], before) != before);

        ServerLog.Listening(_logger, group.BoundEndPoint, group.Steering);
        return group.BoundEndPoint;
    }

    /// <summary>
    /// Stops accepting on <paramref name="boundEndPoint"/> (as listed in <see cref="EndPoints"/>): each worker closes
    /// its socket on its own thread. Connections already accepted carry on until they end; connections queued on the
    /// closed sockets but not yet accepted are reset by the kernel.
    /// </summary>
    /// <exception cref="ArgumentException">No listener on that endpoint.</exception>
    public async Task RemoveListenerAsync(IPEndPoint boundEndPoint)
    {
        ArgumentNullException.ThrowIfNull(boundEndPoint);
        EnsureRunning();
        ListenerGroup[] before;
        ListenerGroup? group;
        do
        {
            before = Volatile.Read(ref _groups);
            group = Array.Find(before, g => g.BoundEndPoint.Equals(boundEndPoint))
                ?? throw new ArgumentException($"No listener on {boundEndPoint}; listening on: {string.Join(", ", before.Select(g => g.BoundEndPoint))}.", nameof(boundEndPoint));
        }
        while (Interlocked.CompareExchange(ref _groups, [.. before.Where(g => g != group)], before) != before);

        await OnEachWorkerAsync(worker => group.ListenerFor(worker.Index)?.Close()).ConfigureAwait(false);
        group.Dispose();
        StoppedListening(_logger, boundEndPoint);
    }

    [LoggerMessage(EventId = 110, Level = LogLevel.Information, Message = "Stopped listening on {EndPoint}; connections already accepted carry on")]
    private static partial void StoppedListening(ILogger logger, IPEndPoint endPoint);

    private void EnsureRunning()
    {
        if (Volatile.Read(ref _state) != 1)
        {
            throw new InvalidOperationException("The server is not running: listeners can be added or removed only between StartAsync and StopAsync.");
        }
    }
}
