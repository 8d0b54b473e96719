using Fastsock.Hosting;
using Fastsock.Samples.Proxy.Routing;

namespace Fastsock.Samples.Proxy.Stats;

internal sealed record FrontendRow(string Name, string Mode, string Backend, SessionTotals Totals);

internal sealed record ServerRow(string Name, string Address, int Weight, bool Up, bool Checked, SessionTotals Totals)
{
    public string Status => Up ? "UP" : "DOWN";

    /// <summary>What the runtime API set: ready, drain or maint.</summary>
    public string Admin { get; init; } = "ready";
}

internal sealed record BackendRow(string Name, string Balance, SessionTotals Totals, IReadOnlyList<ServerRow> Servers)
{
    public int ServersUp => Servers.Count(s => s.Up);
}

internal sealed record WorkerRow(WorkerStats Stats, SessionTotals Totals)
{
    public double PassiveLocalRatio => Ratio(Stats.LocalConnections, Stats.RemoteConnections);

    public double OutboundLocalRatio => Ratio(Stats.OutboundLocalConnections, Stats.OutboundRemoteConnections);

    /// <summary>Local / (local + remote); 0 before the first connection.</summary>
    public static double Ratio(long local, long remote) => local + remote == 0 ? 0 : (double)local / (local + remote);
}

/// <summary>One column of counters: its JSON key, Prometheus name (without prefix), help text, kind and value.</summary>
internal sealed record Column<T>(string Key, string Metric, string Help, bool IsCounter, Func<T, long> Get);

/// <summary>
/// One http counter: its JSON key (inside an <c>http</c> object), Prometheus name (without prefix) and the label that
/// tells it from the other columns of the same metric (responses by class, proxy errors by status), help text.
/// </summary>
internal sealed record HttpColumn(string Key, string Metric, (string Name, string Value)? Label, string Help, HttpCounter Counter)
{
    public long Get(SessionTotals totals) => totals.Http[Counter];
}

/// <summary>
/// One backend connection counter: its JSON key (null: not in JSON, e.g. a derived reason), Prometheus name (without
/// prefix; null: JSON only) and label, kind, help text and value.
/// </summary>
internal sealed record ConnectionColumn(string? Key, string? Metric, (string Name, string Value)? Label, bool IsCounter, string Help, Func<BackendConnectionTotals, long> Get)
{
    public long Of(SessionTotals totals) => Get(totals.Connections);
}

/// <summary>One failure counter of servers and backends: its JSON key (inside a <c>failures</c> object), Prometheus name (without prefix) and label.</summary>
internal sealed record FailureColumn(string Key, string Metric, (string Name, string Value)? Label, string Help, Func<Health.FailureTotals, long> Get)
{
    public long Of(SessionTotals totals) => Get(totals.Failures);
}

/// <summary>Everything the admin endpoint shows, read once per request (allocates; not a hot path).</summary>
internal sealed record StatsReport(IReadOnlyList<FrontendRow> Frontends, IReadOnlyList<BackendRow> Backends, IReadOnlyList<WorkerRow> Workers)
{
    /// <summary>TLS frontends' counters per worker (empty without TLS frontends).</summary>
    public TlsReport Tls { get; init; } = TlsReport.Empty;

    /// <summary>TLS to servers: client handshakes per server per worker.</summary>
    public BackendTlsReport BackendTls { get; init; } = BackendTlsReport.Empty;

    /// <summary>Faults of tasks nothing awaited, logged and counted by the process (<see cref="Fastsock.Hosting.UnobservedTaskExceptionLog"/>).</summary>
    public long UnobservedTaskExceptions { get; init; }

    public static readonly Column<SessionTotals>[] SessionColumns =
    [
        new("sessions", "sessions_total", "Sessions started.", true, t => t.Sessions),
        new("current", "current_sessions", "Sessions open now.", false, t => t.Current),
        new("bytesIn", "bytes_in_total", "Bytes received from clients.", true, t => t.BytesIn),
        new("bytesOut", "bytes_out_total", "Bytes sent to clients.", true, t => t.BytesOut),
        new("connectErrors", "connect_errors_total", "Failed connect attempts to servers.", true, t => t.ConnectErrors),
        new("retries", "retries_total", "Connect attempts retried after a failure.", true, t => t.Retries),
        new("noServer", "no_server_total", "Sessions refused because no server was up.", true, t => t.NoServer),
        new("inProcess", "inprocess_sessions_total", "Sessions served by an in-process server (fast path, no syscalls).", true, t => t.InProcess),
    ];

    public static readonly HttpColumn[] HttpColumns =
    [
        new("requests", "http_requests_total", null, "HTTP requests received (valid or not).", HttpCounter.Requests),
        new("responses1xx", "http_responses_total", ("code", "1xx"), "HTTP responses sent to clients, by status class.", HttpCounter.Responses1xx),
        new("responses2xx", "http_responses_total", ("code", "2xx"), "HTTP responses sent to clients, by status class.", HttpCounter.Responses2xx),
        new("responses3xx", "http_responses_total", ("code", "3xx"), "HTTP responses sent to clients, by status class.", HttpCounter.Responses3xx),
        new("responses4xx", "http_responses_total", ("code", "4xx"), "HTTP responses sent to clients, by status class.", HttpCounter.Responses4xx),
        new("responses5xx", "http_responses_total", ("code", "5xx"), "HTTP responses sent to clients, by status class.", HttpCounter.Responses5xx),
        new("responsesOther", "http_responses_total", ("code", "other"), "HTTP responses sent to clients, by status class.", HttpCounter.ResponsesOther),
        new("proxyErrors400", "http_proxy_errors_total", ("status", "400"), "HTTP errors the proxy answered itself, by status (400: invalid requests, 414 and 505 included).", HttpCounter.ProxyErrors400),
        new("proxyErrors408", "http_proxy_errors_total", ("status", "408"), "HTTP errors the proxy answered itself, by status (400: invalid requests, 414 and 505 included).", HttpCounter.ProxyErrors408),
        new("proxyErrors431", "http_proxy_errors_total", ("status", "431"), "HTTP errors the proxy answered itself, by status (400: invalid requests, 414 and 505 included).", HttpCounter.ProxyErrors431),
        new("proxyErrors501", "http_proxy_errors_total", ("status", "501"), "HTTP errors the proxy answered itself, by status (400: invalid requests, 414 and 505 included).", HttpCounter.ProxyErrors501),
        new("proxyErrors502", "http_proxy_errors_total", ("status", "502"), "HTTP errors the proxy answered itself, by status (400: invalid requests, 414 and 505 included).", HttpCounter.ProxyErrors502),
        new("proxyErrors503", "http_proxy_errors_total", ("status", "503"), "HTTP errors the proxy answered itself, by status (400: invalid requests, 414 and 505 included).", HttpCounter.ProxyErrors503),
        new("proxyErrors504", "http_proxy_errors_total", ("status", "504"), "HTTP errors the proxy answered itself, by status (400: invalid requests, 414 and 505 included).", HttpCounter.ProxyErrors504),
        new("clientAborts", "http_client_aborts_total", null, "HTTP requests aborted because the client left before its response.", HttpCounter.ClientAborts),
        new("proxyHeaderErrors", "proxy_header_errors_total", null, "Connections closed for a malformed, incomplete or late PROXY protocol header.", HttpCounter.ProxyHeaderErrors),
        new("upgrades", "http_upgrades_total", null, "HTTP requests upgraded (101 Switching Protocols, WebSocket) and tunnelled.", HttpCounter.Upgrades),
    ];

    /// <summary>
    /// Connections to servers (JSON: inside a <c>connections</c> object; Prometheus: <c>connections_*</c>, the closes
    /// one metric labelled by reason). A frontend's or worker's figures are the sums over the servers it used.
    /// </summary>
    public static readonly ConnectionColumn[] ConnectionColumns =
    [
        new("opened", "connections_opened_total", null, true, "Connections to servers opened.", c => c.Opened),
        new("reused", "connections_reused_total", null, true, "Requests sent on an idle kept-alive connection instead of a new one.", c => c.Reused),
        new("closed", null, null, true, "Connections to servers closed.", c => c.Closed),
        new("closedIdleTimeout", "connections_closed_total", ("reason", "idle_timeout"), true, ClosedHelp, c => c.ClosedIdleTimeout),
        new("closedByServer", "connections_closed_total", ("reason", "server_closed"), true, ClosedHelp, c => c.ClosedByServer),
        new("closedPoolFull", "connections_closed_total", ("reason", "pool_full"), true, ClosedHelp, c => c.ClosedPoolFull),
        new(null, "connections_closed_total", ("reason", "other"), true, ClosedHelp, c => c.ClosedOther),
        new("open", "connections_open", null, false, "Connections to servers open now (in use or idle).", c => c.Open),
        new("idle", "connections_idle", null, false, "Connections to servers idle in the keep-alive pools now.", c => c.Idle),
        new("drained", "connections_drained_total", null, true, "Connections kept after their client left mid-exchange: the response was read to its end and discarded.", c => c.Drained),
    ];

    /// <summary>Failed exchanges by reason, redispatches and passive mark-downs (JSON: a <c>failures</c> object of servers and backends).</summary>
    public static readonly FailureColumn[] FailureColumns =
    [
        new("connectRefused", "failures_total", ("reason", "connect_refused"), FailuresHelp, f => f.ConnectRefused),
        new("connectTimeout", "failures_total", ("reason", "connect_timeout"), FailuresHelp, f => f.ConnectTimeout),
        new("connectError", "failures_total", ("reason", "connect_error"), FailuresHelp, f => f.ConnectError),
        new("reset", "failures_total", ("reason", "reset"), FailuresHelp, f => f.Reset),
        new("responseTimeout", "failures_total", ("reason", "response_timeout"), FailuresHelp, f => f.ResponseTimeout),
        new("badResponse", "failures_total", ("reason", "bad_response"), FailuresHelp, f => f.BadResponse),
        new("tls", "failures_total", ("reason", "tls"), FailuresHelp, f => f.Tls),
        new("redispatches", "redispatches_total", null, "Requests that failed on this server and went to another one.", f => f.Redispatches),
        new("passiveMarkDowns", "passive_mark_downs_total", null, "Times errors on live traffic marked the server DOWN (observe.onError).", f => f.PassiveMarkDowns),
        new("notResent", "not_resent_total", null, "Requests not safe to send twice (not idempotent, no retryOn buffered-body) answered 502 after the server closed the pooled connection under them.", f => f.NotResent),
    ];

    private const string FailuresHelp =
        "Failed exchanges with servers, by reason (connect refused, timed out or other error; reset or closed before the response; " +
        "no response, or no byte of its body, within the server timeout; invalid response head; TLS handshake failed or certificate refused).";

    private const string ClosedHelp =
        "Connections to servers closed, by reason (idle_timeout: keepAlive.idleTimeout; server_closed: closed by the server while idle; " +
        "pool_full: keepAlive.maxIdlePerWorker reached; other: after an exchange that could not keep it, or a shutdown).";

    public static readonly Column<WorkerStats>[] WorkerColumns =
    [
        new("accepted", "connections_accepted_total", "Connections accepted.", true, w => w.Accepted),
        new("active", "connections_active", "Connections open now.", false, w => w.Active),
        new("closed", "connections_closed_total", "Connections closed.", true, w => w.Closed),
        new("aborted", "connections_aborted_total", "Connections aborted.", true, w => w.Aborted),
        new("handlerErrors", "handler_errors_total", "Connection handlers that threw.", true, w => w.HandlerErrors),
        new("bytesReceived", "bytes_received_total", "Bytes read from sockets.", true, w => w.BytesReceived),
        new("bytesSent", "bytes_sent_total", "Bytes written to sockets.", true, w => w.BytesSent),
        new("bytesSpliced", "bytes_spliced_total", "Bytes forwarded with splice(2), never copied to user space.", true, w => w.BytesSpliced),
        new("bytesCopied", "bytes_copied_total", "Bytes forwarded by copying through user space.", true, w => w.BytesCopied),
        new("connected", "outbound_connected_total", "Outbound connections made.", true, w => w.Connected),
        new("connectFailures", "outbound_connect_failures_total", "Outbound connects that failed.", true, w => w.ConnectFailures),
        new("portsExhausted", "outbound_ports_exhausted_total", "Outbound connects with no source port left.", true, w => w.PortsExhausted),
        new("kernelPipesOpen", "kernel_pipes_open", "Kernel pipes open for splicing.", false, w => w.KernelPipesOpen),
        new("kernelPipesCached", "kernel_pipes_cached", "Kernel pipes cached for reuse.", false, w => w.KernelPipesCached),
        new("poolRented", "pool_rented_total", "Pool blocks rented.", true, w => w.PoolRented),
        new("poolRecycled", "pool_recycled_total", "Pool blocks returned from other threads.", true, w => w.PoolRecycled),
        new("poolSlabs", "pool_slabs", "Pool slabs allocated.", false, w => w.PoolSlabs),
        new("poolInUse", "pool_blocks_in_use", "Pool blocks in use.", false, w => w.PoolBlocksInUse),
    ];

    public static StatsReport Collect(ProxyCounters counters, IReadOnlyDictionary<string, BackendPool> pools, IReadOnlyList<WorkerStats> workers)
    {
        var snapshot = counters.Snapshot();
        var frontends = counters.Settings.Frontends
            .Select((f, i) => new FrontendRow(f.Name, f.Mode.ToString().ToLowerInvariant(), f.Backend.Name, snapshot.Frontends[i].Totals))
            .ToList();
        var backends = new List<BackendRow>();
        foreach (var settings in counters.Settings.Backends)
        {
            var pool = pools[settings.Name];
            var servers = pool.Servers.Select(s => new ServerRow(
                s.Settings.Name, s.Settings.Address.ToString(), s.Weight, s.IsUp,
                settings.HealthCheck is not null && s.Settings.Address.Kind != Config.ServerKind.InProc,
                snapshot.Server(settings.Name, s.Index) with { Failures = s.Failures.Totals() })).ToList();
            var total = servers.Aggregate(default(SessionTotals), (sum, s) => sum + s.Totals);
            total += snapshot.Frontends.Where(f => f.Backend == settings.Name).Aggregate(default(SessionTotals), (sum, f) => sum + NoServerOnly(f.Totals));
            servers = [.. servers.Select(row => row with { Admin = pool.Find(row.Name)?.AdminState.ToString().ToLowerInvariant() ?? "ready" })];
            backends.Add(new BackendRow(settings.Name, settings.Balance.ToString().ToLowerInvariant(), total, servers));
        }

        var workerRows = workers.Select(w => new WorkerRow(w, w.Worker < snapshot.Workers.Count ? snapshot.Workers[w.Worker] : default)).ToList();
        return new StatsReport(frontends, backends, workerRows);
    }

    // A refused session has no server: the backend counts it from its frontends.
    private static SessionTotals NoServerOnly(SessionTotals t) => default(SessionTotals) with { NoServer = t.NoServer };
}
