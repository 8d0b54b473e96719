using System.Net;
using System.Runtime.InteropServices;
using Fastsock.Engine;
using Fastsock.Locality;
using Fastsock.Transport;
using Microsoft.Extensions.Logging;

namespace Fastsock.Hosting;

/// <summary>
/// A running set of pinned workers and their listeners. Build one with <see cref="CreateBuilder"/>, then
/// <see cref="RunAsync"/> (stops on SIGTERM / Ctrl+C) or <see cref="StartAsync"/> / <see cref="StopAsync"/>.
/// </summary>
public sealed partial class FastsockServer : IAsyncDisposable
{
    private readonly FastsockServerOptions _options;
    private readonly (IPEndPoint EndPoint, ConnectionHandler Handler)[] _bindings;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private Worker[] _workers = [];
    private ListenerGroup[] _groups = [];
    private WorkerConnector[] _connectors = [];
    private FastsockMetrics? _metrics;
    private int _state; // 0 new, 1 started, 2 stopping/stopped

    internal FastsockServer(FastsockServerOptions options, (IPEndPoint, ConnectionHandler)[] bindings, ILoggerFactory loggerFactory)
    {
        _options = options;
        _bindings = bindings;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("Fastsock.Hosting.FastsockServer");
    }

    /// <summary>Starts configuring a server: options, logging, endpoints and their handlers.</summary>
    public static FastsockServerBuilder CreateBuilder() => new();

    /// <summary>The bound endpoints, in the order they were configured (port 0 resolved).</summary>
    public IReadOnlyList<IPEndPoint> EndPoints => [.. _groups.Select(g => g.BoundEndPoint)];

    /// <summary>Worker index → CPU, after start.</summary>
    public IReadOnlyList<(int Worker, int Cpu, int ThreadId)> Workers => [.. _workers.Select(w => (w.Index, w.Cpu, w.NativeThreadId))];

    internal IReadOnlyList<Worker> WorkerList => _workers;

    internal IReadOnlyList<ListenerGroup> ListenerGroups => _groups;

    internal IReadOnlyList<WorkerConnector> Connectors => _connectors;

    /// <summary>Opens the listeners and starts one pinned worker per CPU. Throws with a one-line reason when it cannot.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0)
        {
            throw new InvalidOperationException("The server was already started.");
        }

        if (RuntimeInformation.ProcessArchitecture != Architecture.X64)
        {
            throw new PlatformNotSupportedException($"Fastsock runs on Linux x86-64; this process is {RuntimeInformation.ProcessArchitecture}.");
        }

        _options.Validate();
        var cores = _options.ResolveCores();
        var logger = _loggerFactory.CreateLogger("Fastsock.Worker");
        Handover.InheritedGroup?[]? inherited = null;
        try
        {
            StartTcpFriends();
            _workers = new Worker[cores.Count];
            var pools = _pools = new SocketConnectionPool[cores.Count];
            for (int i = 0; i < cores.Count; i++)
            {
                _workers[i] = new Worker(i, cores[i], logger);
                pools[i] = new SocketConnectionPool(_workers[i], _options.Connection, _options.PooledConnectionsPerWorker);
            }

            _connectors = WorkerConnector.CreateAll(_workers, pools, _options.Outbound, _loggerFactory.CreateLogger("Fastsock.Outbound"));

            inherited = TakeInheritedListeners(cores.Count);
            _groups = new ListenerGroup[_bindings.Length];
            for (int i = 0; i < _bindings.Length; i++)
            {
                _groups[i] = OpenGroup(i, inherited, pools);
                foreach (var worker in _workers)
                {
                    _groups[i].ListenerFor(worker.Index)!.Register();
                }
            }

            foreach (var worker in _workers)
            {
                worker.Start();
            }

            await Task.WhenAll(_workers.Select(w => w.Started)).WaitAsync(cancellationToken).ConfigureAwait(false);
            CompleteHandoverStart();
        }
        catch (Exception ex)
        {
            AbandonTakeover(ex, inherited);
            await TearDownAsync().ConfigureAwait(false);
            throw;
        }

        _metrics = new FastsockMetrics(this);
        foreach (var group in _groups)
        {
            ServerLog.Listening(_logger, group.BoundEndPoint, group.Steering);
        }

        ServerLog.Started(_logger, _workers.Length, cores);
    }

    /// <summary>Starts, runs until SIGTERM, SIGINT (Ctrl+C), SIGQUIT or <paramref name="cancellationToken"/>, then stops gracefully.</summary>
    public async Task RunAsync(CancellationToken cancellationToken = default)
    {
        await StartAsync(cancellationToken).ConfigureAwait(false);
        await WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// For a started server: waits for SIGTERM, SIGINT, SIGQUIT, <paramref name="cancellationToken"/> or the hand-over of
    /// its listeners to a successor (<see cref="HandedOver"/>), then stops gracefully. The signal handlers are
    /// registered before this method returns its task, so a caller may announce that Ctrl+C works once it has the task.
    /// </summary>
    public async Task WaitForShutdownAsync(CancellationToken cancellationToken = default)
    {
        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            ServerLog.SignalReceived(_logger, context.Signal);
            stop.TrySetResult();
        }

        using (PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal))
        using (PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal))
        using (PosixSignalRegistration.Create(PosixSignal.SIGQUIT, OnSignal))
        using (cancellationToken.Register(() => stop.TrySetResult()))
        {
            await Task.WhenAny(stop.Task, HandedOver).ConfigureAwait(false);
        }

        await StopAsync(CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>Counters of every worker, read now.</summary>
    public IReadOnlyList<WorkerStats> GetStats()
    {
        var stats = new WorkerStats[_workers.Length];
        for (int i = 0; i < stats.Length; i++)
        {
            var w = _workers[i];
            var c = w.Counters;
            stats[i] = new WorkerStats(
                w.Index,
                w.Cpu,
                w.NativeThreadId,
                Volatile.Read(ref c.Accepted),
                c.Active,
                Volatile.Read(ref c.Closed),
                Volatile.Read(ref c.Aborted),
                Volatile.Read(ref c.HandlerErrors),
                Volatile.Read(ref c.BytesReceived),
                Volatile.Read(ref c.BytesSent),
                Volatile.Read(ref c.PassiveLocal),
                Volatile.Read(ref c.PassiveRemote),
                w.Pool.Rented,
                w.Pool.Recycled,
                w.Pool.Slabs,
                w.Pool.InUse,
                Volatile.Read(ref c.Connected),
                Volatile.Read(ref c.ActiveLocal),
                Volatile.Read(ref c.ActiveRemote),
                Volatile.Read(ref c.ConnectFailed),
                Volatile.Read(ref c.PortsExhausted),
                Volatile.Read(ref c.BytesSpliced),
                Volatile.Read(ref c.BytesCopied),
                w.Pipes.Open,
                w.Pipes.Cached)
            {
                SendCalls = Volatile.Read(ref c.SendCalls),
            };
        }

        return stats;
    }

    /// <summary>Stops the server gracefully if it runs (see <see cref="StopAsync"/>), then releases its workers and sockets.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Volatile.Read(ref _state) == 1)
        {
            await StopAsync().ConfigureAwait(false);
        }

        await TearDownAsync().ConfigureAwait(false);
    }
}
