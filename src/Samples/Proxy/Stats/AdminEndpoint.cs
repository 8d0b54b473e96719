using Fastsock.Hosting;
using Fastsock.Http;
using Fastsock.Http.Server;
using Fastsock.Samples.Proxy.Routing;
using Fastsock.Transport;
using Microsoft.Extensions.Logging;

namespace Fastsock.Samples.Proxy.Stats;

/// <summary>
/// The admin listener (<c>admin.bind</c>): <c>GET /stats</c> (HTML), <c>GET /stats?format=json</c> and
/// <c>GET /metrics</c> (Prometheus text), and the runtime API under <c>/servers/</c> (<see cref="RuntimeApi"/>); anything else is 404, other methods than GET and HEAD 405. Served by the
/// runtime's HTTP/1.1 loop (keep-alive, pipelining). Each request builds a fresh report: it allocates, which is fine
/// off the data path.
/// </summary>
internal sealed class AdminEndpoint : IHttpApplication
{
    private readonly ProxyCounters _counters;
    private readonly IReadOnlyDictionary<string, BackendPool> _pools;
    private readonly Func<IReadOnlyList<WorkerStats>> _workerStats;
    private readonly HttpServerLoop _loop;
    private readonly RuntimeApi? _api;

    public AdminEndpoint(ProxyCounters counters, IReadOnlyDictionary<string, BackendPool> pools, Func<IReadOnlyList<WorkerStats>> workerStats, ILogger? logger = null)
    {
        _counters = counters;
        _pools = pools;
        _workerStats = workerStats;
        _loop = new HttpServerLoop(this);
        _api = logger is null ? null : new RuntimeApi(pools, logger);
    }

    /// <summary>TLS counters of the frontends, shown per worker; null: no TLS section.</summary>
    public Tls.FrontendTlsStats? Tls { get; init; }

    /// <summary>The runtime API answers peers other than loopback too.</summary>
    public bool RemoteApi { get; init; }

    /// <summary>The process's log of unobserved task exceptions, whose count the stats show; null: shown as 0.</summary>
    public UnobservedTaskExceptionLog? UnobservedTaskExceptions { get; init; }

    /// <summary>TCP friends counters per worker, for the JSON stats; null or empty when it is off.</summary>
    public Func<IReadOnlyList<Fastsock.Transport.TcpFriendsStats>>? TcpFriends { get; init; }

    /// <summary>The connection handler to listen with.</summary>
    public Task HandleAsync(Connection connection) => _loop.HandleAsync(connection);

    public ValueTask ProcessRequestAsync(HttpExchange exchange)
    {
        var path = exchange.Path;
        if (_api is not null && RuntimeApi.Handles(path))
        {
            _api.Process(exchange, RemoteApi);
            return default;
        }

        bool stats = path.SequenceEqual("/stats"u8) || path.SequenceEqual("/stats/"u8);
        bool metrics = path.SequenceEqual("/metrics"u8);
        if (!stats && !metrics)
        {
            exchange.WriteError(404);
            return default;
        }

        if (exchange.Method is not (RequestMethod.Get or RequestMethod.Head))
        {
            exchange.WriteError(405);
            return default;
        }

        var workers = _workerStats();
        var report = StatsReport.Collect(_counters, _pools, workers) with
        {
            Tls = TlsReport.Collect(Tls, workers.Count),
            BackendTls = BackendTlsReport.Collect(_pools, workers.Count),
            UnobservedTaskExceptions = UnobservedTaskExceptions?.Count ?? 0,
        };
        if (metrics)
        {
            exchange.WriteResponse(200, "text/plain; version=0.0.4; charset=utf-8"u8, PrometheusText.Write(report));
        }
        else if (WantsJson(exchange.Query))
        {
            exchange.WriteResponse(200, "application/json"u8, StatsJsonWriter.Write(report, TcpFriends?.Invoke()));
        }
        else
        {
            exchange.WriteResponse(200, "text/html; charset=utf-8"u8, StatsHtml.Write(report));
        }

        return default;
    }

    /// <summary>True when the query has <c>format=json</c> among its <c>&amp;</c>-separated parameters.</summary>
    private static bool WantsJson(ReadOnlySpan<byte> query)
    {
        foreach (var range in query.Split((byte)'&'))
        {
            if (query[range].SequenceEqual("format=json"u8))
            {
                return true;
            }
        }

        return false;
    }
}
