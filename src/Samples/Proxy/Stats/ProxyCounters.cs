using Fastsock.Samples.Proxy.Config;
using Fastsock.Samples.Proxy.Health;

namespace Fastsock.Samples.Proxy.Stats;

/// <summary>
/// The proxy's own counters, per worker: one <see cref="FrontendCounters"/> per frontend, each holding one array of
/// <see cref="SessionCounters"/> rows per worker (its frontend row and a row per server of its backend). A worker
/// writes only its own arrays with plain increments (a connection lives on one worker from accept to close, so no
/// two cores ever write the same row); readers (the admin endpoint) take a <see cref="Snapshot"/> with
/// <c>Volatile.Read</c>. Each worker's array is a separate allocation with a
/// padding row at both ends, so two workers never share a cache line.
/// <para>
/// How a frontend reports (the worker index is <c>Connection.WorkerIndex</c>; every call is O(1), no allocation):
/// <list type="bullet">
/// <item><c>SessionStarted(w)</c> / <c>SessionEnded(w)</c> around a client connection (or an HTTP request).</item>
/// <item><c>ServerConnected(w, server)</c> once a server took the connection (counts in-process fast-path use too),
/// <c>ServerDone(w, server)</c> when that server session ends (http: after the response, or, after a 101, when the
/// tunnel ends).</item>
/// <item><c>Bytes(w, server, fromClient, toClient)</c> for what went through (tcp: <c>ForwardResult.FirstToSecond</c>,
/// <c>SecondToFirst</c>; <c>Forwarded(w, server, result)</c> does connect-done + bytes in one call; http: per request).</item>
/// <item><c>ConnectFailed(w, server, willRetry)</c> when a connect attempt failed; <c>NoServer(w)</c> when none is up.</item>
/// <item><c>BackendOpened(w, s)</c>, <c>BackendReused(w, s)</c>, <c>BackendClosed(w, s, reason)</c>,
/// <c>BackendIdle(w, s, count)</c> for connections to servers (the keep-alive pools report reuse, idle and their closes).</item>
/// <item>http only: <c>Request(w)</c> per request head, <c>Response(w, server, status)</c> per response head forwarded,
/// <c>ProxyError(w, status)</c> per answer the proxy made itself, <c>ClientAborted(w, server)</c>; in their own
/// <see cref="HttpCounters"/> rows beside the session rows.</item>
/// </list>
/// Bytes "in" are from the client, "out" are to the client, for frontends and servers alike (as HAProxy's bin/bout).
/// </para>
/// </summary>
internal sealed class ProxyCounters
{
    private volatile Dictionary<string, FrontendCounters> _frontends = [];
    private volatile ProxySettings _settings;

    public ProxyCounters(ProxySettings settings, int workerCount)
    {
        _settings = settings;
        WorkerCount = workerCount;
        foreach (var frontend in settings.Frontends)
        {
            _frontends[frontend.Name] = new FrontendCounters(frontend, workerCount);
        }
    }

    /// <summary>The settings counted for: those of the last reload.</summary>
    public ProxySettings Settings => _settings;

    public int WorkerCount { get; }

    public IEnumerable<FrontendCounters> Frontends => Settings.Frontends.Select(f => _frontends[f.Name]);

    /// <summary>The counters a frontend writes to.</summary>
    public FrontendCounters For(FrontendSettings frontend) => _frontends[frontend.Name];

    /// <summary>
    /// A reload: a frontend keeps its counters while its name, mode and backend stay; one that is new or changed
    /// mode or backend starts from zero. Called off the workers, one reload at a time.
    /// </summary>
    public void Apply(ProxySettings settings)
    {
        var previous = _frontends;
        var next = new Dictionary<string, FrontendCounters>(previous);
        foreach (var frontend in settings.Frontends)
        {
            if (!previous.TryGetValue(frontend.Name, out var counters)
                || counters.Settings.Mode != frontend.Mode || counters.Settings.Backend.Name != frontend.Backend.Name)
            {
                next[frontend.Name] = new FrontendCounters(frontend, WorkerCount);
            }
        }

        _frontends = next;
        _settings = settings;
    }

    /// <summary>Sums every worker's rows now: per frontend, per server (of all frontends using its backend) and per worker.</summary>
    public CountersSnapshot Snapshot()
    {
        var frontends = new List<(string Name, string Backend, SessionTotals Totals)>();
        var servers = new Dictionary<(string Backend, int Server), SessionTotals>();
        var workers = new SessionTotals[WorkerCount];
        foreach (var frontend in Frontends)
        {
            var total = default(SessionTotals);
            for (int w = 0; w < WorkerCount; w++)
            {
                var rows = frontend.RowsOf(w);
                var http = frontend.HttpRowsOf(w);
                var connections = frontend.ConnectionRowsOf(w);
                var viaServers = default(BackendConnectionTotals); // backend connections are counted per server only
                for (int s = 0; s < frontend.ServerCount; s++)
                {
                    int r = FrontendCounters.FirstServerRow + s;
                    var server = SessionTotals.Read(ref rows[r], ref http[r]) with { Connections = BackendConnectionTotals.Read(ref connections[r]) };
                    viaServers += server.Connections;
                    var key = (frontend.Settings.Backend.Name, s);
                    servers[key] = servers.GetValueOrDefault(key) + server;
                }

                var row = SessionTotals.Read(ref rows[FrontendCounters.FrontendRow], ref http[FrontendCounters.FrontendRow]) with { Connections = viaServers };
                total += row;
                workers[w] += row;
            }

            frontends.Add((frontend.Settings.Name, frontend.Settings.Backend.Name, total));
        }

        return new CountersSnapshot(frontends, servers, workers);
    }
}

/// <summary>One row of counters, 64 bytes: a cache line.</summary>
internal struct SessionCounters
{
    public long Sessions;
    public long Current;
    public long BytesIn;
    public long BytesOut;
    public long ConnectErrors;
    public long Retries;
    public long NoServer;
    public long InProcess;
}

/// <summary>What <see cref="ProxyCounters.Snapshot"/> returns: sums over workers.</summary>
internal sealed record CountersSnapshot(
    IReadOnlyList<(string Name, string Backend, SessionTotals Totals)> Frontends,
    IReadOnlyDictionary<(string Backend, int Server), SessionTotals> Servers,
    IReadOnlyList<SessionTotals> Workers)
{
    public SessionTotals Server(string backend, int server) => Servers.GetValueOrDefault((backend, server));
}

/// <summary>A read copy of <see cref="SessionCounters"/> (and of the matching <see cref="HttpCounters"/> row), summed over rows.</summary>
internal readonly record struct SessionTotals(
    long Sessions, long Current, long BytesIn, long BytesOut, long ConnectErrors, long Retries, long NoServer, long InProcess)
{
    /// <summary>The http counters of the same rows (all zero for tcp frontends).</summary>
    public HttpTotals Http { get; init; }

    /// <summary>Connections to servers opened, reused and closed (a frontend's or worker's: summed over its servers).</summary>
    public BackendConnectionTotals Connections { get; init; }

    /// <summary>Failures by reason, redispatches and passive mark-downs (servers and backends only; kept per server, see <see cref="FailureLog"/>).</summary>
    public FailureTotals Failures { get; init; }

    public static SessionTotals Read(ref SessionCounters c, ref HttpCounters http) => new(
        Volatile.Read(ref c.Sessions), Volatile.Read(ref c.Current), Volatile.Read(ref c.BytesIn), Volatile.Read(ref c.BytesOut),
        Volatile.Read(ref c.ConnectErrors), Volatile.Read(ref c.Retries), Volatile.Read(ref c.NoServer), Volatile.Read(ref c.InProcess))
    {
        Http = HttpTotals.Read(ref http),
    };

    public static SessionTotals operator +(SessionTotals a, SessionTotals b) => Add(a, b);

    public static SessionTotals Add(SessionTotals a, SessionTotals b) => new(
        a.Sessions + b.Sessions, a.Current + b.Current, a.BytesIn + b.BytesIn, a.BytesOut + b.BytesOut,
        a.ConnectErrors + b.ConnectErrors, a.Retries + b.Retries, a.NoServer + b.NoServer, a.InProcess + b.InProcess)
    {
        Http = a.Http + b.Http,
        Connections = a.Connections + b.Connections,
        Failures = a.Failures + b.Failures,
    };
}
