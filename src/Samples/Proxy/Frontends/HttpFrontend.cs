using Fastsock.Engine;
using Fastsock.Http.Proxying;
using Fastsock.Samples.Proxy.Balancing;
using Fastsock.Samples.Proxy.Config;
using Fastsock.Samples.Proxy.Routing;
using Fastsock.Samples.Proxy.Stats;
using Fastsock.Transport;
using Microsoft.Extensions.Logging;

namespace Fastsock.Samples.Proxy.Frontends;

/// <summary>
/// <c>mode http</c>: each client connection is an <see cref="HttpProxySession"/> that parses requests strictly, picks a
/// server per request and forwards request and response with their framing, keeping both sides alive. Backend
/// connections come from keep-alive pools per worker per server, so a request never touches another core's state.
/// </summary>
internal sealed partial class HttpFrontend
{
    private int _maxConnPerWorker;
    private HttpForwarderOptions? _forwarderOptions;
    private readonly WorkerSessions[] _workers;
    private readonly BackendConnectionPool?[] _pools;
    private readonly ServerState?[] _poolServers; // whose connections each pool holds: a slot may change hands on a reload
    private readonly int _serverCount;

    public HttpFrontend(FrontendSettings settings, BackendPool backend, ServerConnector connector, TimeoutSettings timeouts, int retries, int workerCount, ILogger logger)
    {
        Settings = settings;
        Backend = backend;
        Connector = connector;
        Timeouts = timeouts;
        Retries = retries;
        Logger = logger;
        // maxconn is enforced per worker, as in tcp mode: a global counter would be written by every core.
        _maxConnPerWorker = Math.Max(1, settings.MaxConn / workerCount);
        _workers = new WorkerSessions[workerCount];
        _serverCount = BackendPool.MaxServers; // one pool per slot: servers come and go with reloads
        // Each worker creates its own pools on first use, so they sit among that worker's allocations.
        _pools = new BackendConnectionPool?[workerCount * _serverCount];
        _poolServers = new ServerState?[workerCount * _serverCount];
        ProxyHeaders = new ProxyHeaderExchange(logger, ProxyHeaderExchange.DefaultTimeout);
    }

    /// <summary>How often a worker with idle backend connections looks at them when no request does.</summary>
    private static TimeSpan SweepInterval => TimeSpan.FromSeconds(1);

    /// <summary>Replaced whole by a reload (<see cref="Reconfigure"/>); sessions read it per request.</summary>
    public FrontendSettings Settings { get; private set; }

    public BackendPool Backend { get; }

    public ServerConnector Connector { get; }

    public TimeoutSettings Timeouts { get; private set; }

    public int Retries { get; private set; }

    public ILogger Logger { get; }

    /// <summary>How bodies of known length from <see cref="SpliceThreshold"/> on move: Copy never splices.</summary>
    public ForwardingMode Forwarding { get; init; } = ForwardingMode.Auto;

    /// <summary>The smallest Content-Length spliced rather than copied.</summary>
    public long SpliceThreshold { get; init; } = ProxySettings.DefaultSpliceThreshold;

    /// <summary>
    /// True (nginx's way): a client whose FIN arrives while its response is awaited has left; the backend request is
    /// aborted. False (HAProxy's default, no <c>abortonclose</c>): a half-closed client still gets its response.
    /// </summary>
    public bool AbortOnClose { get; init; } = true;

    /// <summary>Bytes of a response read and discarded after its client left, so that its backend connection is kept; 0: closed.</summary>
    public long MaxDrainBody { get; init; } = ProxySettings.DefaultMaxDrainBody;

    /// <summary>
    /// The forwarding options of every session of this frontend, as the live config has them: one object for all the
    /// frontend's connections (a copy per connection was 64 B each), rebuilt at the first request after a reload that
    /// changed one of them. Sessions on several workers may rebuild it at once after a reload; each then gets an equal
    /// object and the last write stays, which is harmless.
    /// </summary>
    public HttpForwarderOptions ForwarderOptions
    {
        get
        {
            var options = _forwarderOptions;
            var responseTimeout = Timeouts.Server;
            long maxReplayBody = Backend.Settings.Faults.RetryBodyLimit;
            string forwardedProto = Settings.Tls is null ? "http" : "https";
            if (options is null || options.ResponseTimeout != responseTimeout || options.MaxReplayBody != maxReplayBody
                || options.ForwardedProto != forwardedProto)
            {
                options = new HttpForwarderOptions
                {
                    ResponseTimeout = responseTimeout,
                    MaxReplayBody = maxReplayBody,
                    SpliceThreshold = SpliceThreshold,
                    Forwarding = Forwarding,
                    AbortOnClose = AbortOnClose,
                    MaxDrainBody = MaxDrainBody,
                    ForwardedProto = forwardedProto,
                };
                _forwarderOptions = options;
            }

            return options;
        }
    }

    /// <summary>Reads the PROXY header of a frontend with <c>acceptProxy</c>.</summary>
    public ProxyHeaderExchange ProxyHeaders { get; }

    /// <summary>Where sessions, requests, responses, bytes and errors are counted (the admin endpoint reads them); null: not counted.</summary>
    public FrontendCounters? Counters { get; init; }

    /// <summary>
    /// A reload changed this frontend's settings but not its mode or backend: new requests use the new ones, and
    /// the keep-alive pools (which belong to this object) stay. Each value is one reference or int write.
    /// </summary>
    public void Reconfigure(FrontendSettings settings, TimeoutSettings timeouts, int retries)
    {
        Settings = settings;
        Timeouts = timeouts;
        Retries = retries;
        _maxConnPerWorker = Math.Max(1, settings.MaxConn / _workers.Length);
    }

    public async Task HandleAsync(Connection client)
    {
        int worker = client.WorkerIndex;
        ref var sessions = ref _workers[worker];
        if (sessions.Open >= _maxConnPerWorker)
        {
            MaxConnReached(Logger, Settings.Name, Settings.MaxConn);
            return;
        }

        sessions.Open++;
        Counters?.SessionStarted(worker);
        try
        {
            var session = new HttpProxySession(this, client);
            await session.RunAsync().ConfigureAwait(true);
        }
        finally
        {
            _workers[worker].Open--;
            Counters?.SessionEnded(worker);
            if (client.IsShutdownRequested)
            {
                // Idle backend connections would otherwise hold the graceful drain open.
                CloseIdle(worker);
            }
        }
    }

    /// <summary>The idle connections of <paramref name="worker"/> to server <paramref name="server"/>; that worker only.</summary>
    public BackendConnectionPool PoolFor(int worker, int server)
    {
        int at = (worker * _serverCount) + server;
        var owner = Backend.ServerAt(server);
        var pool = _pools[at];
        if (pool is not null && _poolServers[at] == owner)
        {
            return pool;
        }

        // First use, or the slot now holds another server (a reload removed the old one): its connections are not ours.
        pool?.CloseAll(BackendCloseReason.ServerDown);
        _poolServers[at] = owner;
        var settings = Backend.Settings;
        return _pools[at] = new BackendConnectionPool(settings.MaxIdlePerWorker, settings.KeepAliveIdle, Counters, worker, server);
    }

    /// <summary>Keeps a backend connection for the next request of <paramref name="worker"/>; called on that worker.</summary>
    public void ReturnToPool(BackendConnectionPool pool, Connection connection, int worker)
    {
        pool.Return(connection, Environment.TickCount64);
        ref var sessions = ref _workers[worker];
        if (!sessions.Sweeping && pool.Count > 0)
        {
            sessions.Sweeping = true;
            _ = SweepAsync(worker);
        }
    }

    /// <summary>A new connection to <paramref name="server"/> for a request of <paramref name="client"/>, counted as opened.</summary>
    public async Task<Connection> OpenBackendAsync(ServerState server, Connection client)
    {
        var connection = await Connector.ConnectAsync(server, Backend.RouteOf(server), client.ConnectionClosed).ConfigureAwait(true);
        Counters?.BackendOpened(client.WorkerIndex, server.Index);
        return connection;
    }

    /// <summary>Closes a backend connection that will not be reused (counted as closed after use).</summary>
    public void CloseBackend(Connection connection, int worker, int server)
    {
        BackendConnectionPool.Close(connection);
        if (server >= 0)
        {
            Counters?.BackendClosed(worker, server, BackendCloseReason.AfterUse);
        }
    }

    /// <summary>
    /// While <paramref name="worker"/> holds idle backend connections, closes the expired, the closed and, on a graceful
    /// shutdown, all of them (an idle connection would otherwise hold the drain open until its timeout). Waits on the
    /// worker's own timer wheel, so the pools stay single-threaded and no tick wakes the .NET thread pool.
    /// </summary>
    private async Task SweepAsync(int worker)
    {
        try
        {
            int held;
            do
            {
                await WorkerDelay.WaitAsync(SweepInterval).ConfigureAwait(true);
                held = 0;
                long now = Environment.TickCount64;
                for (int server = 0; server < _serverCount; server++)
                {
                    var pool = _pools[(worker * _serverCount) + server];
                    if (pool is not null)
                    {
                        var owner = _poolServers[(worker * _serverCount) + server];
                        if (owner is null || owner.ShouldCloseIdle || owner != Backend.ServerAt(server))
                        {
                            // Each worker empties its own pools of a server DOWN, in maintenance or removed by a
                            // reload: no cross-core message, no lock.
                            pool.CloseAll(BackendCloseReason.ServerDown);
                        }

                        pool.Sweep(now);
                        held += pool.Count;
                    }
                }
            }
            while (held > 0);
        }
        finally
        {
            _workers[worker].Sweeping = false;
        }
    }

    private void CloseIdle(int worker)
    {
        for (int server = 0; server < _serverCount; server++)
        {
            _pools[(worker * _serverCount) + server]?.CloseAll();
        }
    }

    [LoggerMessage(EventId = 320, Level = LogLevel.Warning, Message = "Frontend {Frontend}: maxconn {MaxConn} reached; closing a new connection")]
    private static partial void MaxConnReached(ILogger logger, string frontend, int maxConn);

    [LoggerMessage(EventId = 321, Level = LogLevel.Warning, Message = "Frontend {Frontend}: no server of backend {Backend} is up; answering 503")]
    public static partial void NoServer(ILogger logger, string frontend, string backend);

    [LoggerMessage(EventId = 322, Level = LogLevel.Debug, Message = "Backend {Backend}: connect to server {Server} failed (attempt {Attempt}): {Reason}")]
    public static partial void ConnectFailed(ILogger logger, string backend, string server, int attempt, string reason);

    [LoggerMessage(EventId = 323, Level = LogLevel.Debug, Message = "Backend {Backend}: server {Server} failed before a complete response ({Reason}); answering {Status}")]
    public static partial void ServerFailed(ILogger logger, string backend, string server, string reason, int status);

    [LoggerMessage(EventId = 325, Level = LogLevel.Debug, Message = "Backend {Backend}: server {Server} closed a reused connection before answering; sending the request again on a new one")]
    public static partial void Replaying(ILogger logger, string backend, string server);

    [LoggerMessage(EventId = 324, Level = LogLevel.Debug, Message = "Frontend {Frontend}: request rejected with {Status}: {Reason}")]
    public static partial void RequestRejected(ILogger logger, string frontend, int status, string reason);
}
