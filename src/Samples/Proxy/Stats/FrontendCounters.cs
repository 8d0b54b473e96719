using Fastsock.Samples.Proxy.Balancing;
using Fastsock.Samples.Proxy.Config;
using Fastsock.Transport;

namespace Fastsock.Samples.Proxy.Stats;

/// <summary>
/// The counters of one frontend and of its backend's servers as seen from this frontend, one array per worker
/// (see <see cref="ProxyCounters"/> for the rules). Every method takes the calling worker's index and touches only
/// that worker's array: plain increments, no lock, no interlocked instruction.
/// </summary>
internal sealed class FrontendCounters
{
    /// <summary>Row 0 is padding, so the first live row never shares a cache line with another allocation.</summary>
    internal const int FrontendRow = 1;
    internal const int FirstServerRow = 2;

    private readonly SessionCounters[][] _workers;
    private readonly HttpCounters[][] _http;
    private readonly BackendConnectionCounters[][] _connections;

    public FrontendCounters(FrontendSettings settings, int workerCount)
    {
        Settings = settings;
        ServerCount = Routing.BackendPool.MaxServers; // a row per slot: servers come and go with reloads
        _workers = new SessionCounters[workerCount][];
        _http = new HttpCounters[workerCount][];
        _connections = new BackendConnectionCounters[workerCount][];
        for (int w = 0; w < _workers.Length; w++)
        {
            _workers[w] = new SessionCounters[FirstServerRow + ServerCount + 1]; // + a trailing padding row
            _http[w] = new HttpCounters[FirstServerRow + ServerCount + 1];
            _connections[w] = new BackendConnectionCounters[FirstServerRow + ServerCount + 1]; // rows 0, 1 and the last pad
        }
    }

    public FrontendSettings Settings { get; }

    public int ServerCount { get; }

    /// <summary>A client session (a client connection, in both modes) begins.</summary>
    public void SessionStarted(int worker)
    {
        ref var row = ref Frontend(worker);
        row.Sessions++;
        row.Current++;
    }

    public void SessionEnded(int worker) => Frontend(worker).Current--;

    /// <summary>A server took the session (http: the request); in-process servers count as fast-path use.</summary>
    public void ServerConnected(int worker, ServerState server)
    {
        ref var row = ref Server(worker, server);
        row.Sessions++;
        row.Current++;
        if (Settings.Mode == ProxyMode.Http)
        {
            _http[worker][FirstServerRow + server.Index][(int)HttpCounter.Requests]++;
        }

        if (server.Settings.Address.Kind == ServerKind.InProc)
        {
            row.InProcess++;
            Frontend(worker).InProcess++;
        }
    }

    public void ServerDone(int worker, ServerState server) => Server(worker, server).Current--;

    /// <summary>Bytes moved for a session: <paramref name="fromClient"/> went to the server, <paramref name="toClient"/> came back.</summary>
    public void Bytes(int worker, ServerState server, long fromClient, long toClient)
    {
        ref var frontend = ref Frontend(worker);
        frontend.BytesIn += fromClient;
        frontend.BytesOut += toClient;
        ref var row = ref Server(worker, server);
        row.BytesIn += fromClient;
        row.BytesOut += toClient;
    }

    /// <summary>A tcp forward ended (client is the first connection): its bytes, and the server session is over.</summary>
    public void Forwarded(int worker, ServerState server, in ForwardResult result)
    {
        Bytes(worker, server, result.FirstToSecond, result.SecondToFirst);
        ServerDone(worker, server);
    }

    /// <summary>A connect attempt to <paramref name="server"/> failed; <paramref name="willRetry"/> when another attempt follows.</summary>
    public void ConnectFailed(int worker, ServerState server, bool willRetry)
    {
        ref var row = ref Server(worker, server);
        row.ConnectErrors++;
        Frontend(worker).ConnectErrors++;
        if (willRetry)
        {
            row.Retries++;
            Frontend(worker).Retries++;
        }
    }

    /// <summary>A new connection to <paramref name="server"/> died before any response byte and the request goes again.</summary>
    public void Retried(int worker, ServerState server)
    {
        Server(worker, server).Retries++;
        Frontend(worker).Retries++;
    }

    /// <summary>No server of the backend was up (or every attempt failed): the session was refused.</summary>
    public void NoServer(int worker) => Frontend(worker).NoServer++;

    /// <summary>http: a request head arrived (valid or not).</summary>
    public void Request(int worker) => _http[worker][FrontendRow][(int)HttpCounter.Requests]++;

    /// <summary>http: a response head from <paramref name="server"/> went to the client.</summary>
    public void Response(int worker, ServerState server, int status)
    {
        _http[worker][FrontendRow].Response(status);
        _http[worker][FirstServerRow + server.Index].Response(status);
    }

    /// <summary>http: the proxy answered <paramref name="status"/> itself (400/408/431/501/502/503/504…).</summary>
    public void ProxyError(int worker, int status) => _http[worker][FrontendRow].ProxyError(status);

    /// <summary>http: the client left while its request was with <paramref name="server"/>; the request was aborted.</summary>
    public void ClientAborted(int worker, ServerState server)
    {
        _http[worker][FrontendRow][(int)HttpCounter.ClientAborts]++;
        _http[worker][FirstServerRow + server.Index][(int)HttpCounter.ClientAborts]++;
    }

    /// <summary>http: <paramref name="server"/> switched protocols (101) and the exchange became a tunnel.</summary>
    public void Upgraded(int worker, ServerState server)
    {
        _http[worker][FrontendRow][(int)HttpCounter.Upgrades]++;
        _http[worker][FirstServerRow + server.Index][(int)HttpCounter.Upgrades]++;
    }

    /// <summary>A connection was closed for a malformed, incomplete or late PROXY header.</summary>
    public void ProxyHeaderError(int worker) => _http[worker][FrontendRow][(int)HttpCounter.ProxyHeaderErrors]++;

    /// <summary>A new connection to server <paramref name="server"/> (its index in the backend) was opened.</summary>
    public void BackendOpened(int worker, int server) => _connections[worker][FirstServerRow + server].Opened++;

    /// <summary>A request went out on an idle connection to <paramref name="server"/> instead of a new one.</summary>
    public void BackendReused(int worker, int server) => _connections[worker][FirstServerRow + server].Reused++;

    /// <summary>A backend connection kept after its client left: the response was discarded to its end.</summary>
    public void BackendDrained(int worker, int server) => _connections[worker][FirstServerRow + server].Drained++;

    /// <summary>A connection to <paramref name="server"/> was closed, for <paramref name="reason"/>.</summary>
    public void BackendClosed(int worker, int server, BackendCloseReason reason) => _connections[worker][FirstServerRow + server].Count(reason);

    /// <summary>The worker now holds <paramref name="count"/> idle connections to <paramref name="server"/> (a gauge).</summary>
    public void BackendIdle(int worker, int server, int count) => _connections[worker][FirstServerRow + server].Idle = count;

    internal SessionCounters[] RowsOf(int worker) => _workers[worker];

    internal BackendConnectionCounters[] ConnectionRowsOf(int worker) => _connections[worker];

    internal HttpCounters[] HttpRowsOf(int worker) => _http[worker];

    private ref SessionCounters Frontend(int worker) => ref _workers[worker][FrontendRow];

    private ref SessionCounters Server(int worker, ServerState server) => ref _workers[worker][FirstServerRow + server.Index];
}
