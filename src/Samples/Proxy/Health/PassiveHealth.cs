using Fastsock.Native;
using Fastsock.Samples.Proxy.Balancing;
using Fastsock.Samples.Proxy.Config;
using Microsoft.Extensions.Logging;

namespace Fastsock.Samples.Proxy.Health;

/// <summary>
/// What live traffic says about a backend's servers (HAProxy's <c>observe layer4</c> + <c>on-error mark-down</c>):
/// <see cref="FaultSettings.ErrorLimit"/> connect failures, resets or timeouts in a row take a server DOWN at once,
/// from whichever worker saw the last one, and the active health check brings it back. Without an active check
/// nothing would, so then errors are only counted and logged. Logging is one line per state change and at most one
/// aggregated line per server per second for failed exchanges.
/// </summary>
/// <remarks>
/// Called by workers only when an exchange failed or after a good one; the good path is one read of a counter that is
/// written only when it is not zero already, so workers do not bounce its cache line.
/// </remarks>
internal sealed partial class PassiveHealth
{
    private const int ETIMEDOUT = 110;
    private const int ECONNREFUSED = 111;

    private readonly string _backend;
    private readonly IReadOnlyList<ServerState> _servers;
    private readonly ILogger _logger;
    private readonly bool _markDown;
    private readonly int _errorLimit;
    private int _flushArmed;

    public PassiveHealth(BackendSettings backend, IReadOnlyList<ServerState> servers, ILogger logger)
    {
        _backend = backend.Name;
        _servers = servers;
        _logger = logger;
        _markDown = backend.Faults.MarkDownOnError && backend.HealthCheck is not null;
        _errorLimit = backend.Faults.ErrorLimit;
    }

    /// <summary>An exchange with <paramref name="server"/> failed: count it, maybe mark the server DOWN, maybe log.</summary>
    public void Failed(ServerState server, ExchangeFailure failure, string detail)
    {
        server.Failures.Record(failure, detail);
        int inARow = server.CountError();
        if (_markDown && inARow >= _errorLimit && server.TryMarkDown())
        {
            server.Failures.CountPassiveMarkDown();
            MarkedDown(_logger, _backend, server.Settings.Name, server.Settings.Address, inARow, detail);
        }

        LogDue(server, Environment.TickCount64);
        ArmFlush();
    }

    /// <summary>A complete exchange: the run of errors, if any, is over.</summary>
    public static void Succeeded(ServerState server) => server.ClearErrors();

    public static ExchangeFailure ConnectFailureOf(Exception exception) => exception switch
    {
        Fastsock.Transport.Tls.TlsHandshakeException => ExchangeFailure.Tls,
        NativeCallException { Errno: ECONNREFUSED } => ExchangeFailure.ConnectRefused,
        NativeCallException { Errno: ETIMEDOUT } or TimeoutException or OperationCanceledException => ExchangeFailure.ConnectTimeout,
        _ => ExchangeFailure.ConnectError,
    };

    /// <summary>Logs what is pending for every server (the timer a second after a failure; the last counts are not lost).</summary>
    internal void Flush()
    {
        long now = Environment.TickCount64;
        bool pending = false;
        for (int i = 0; i < _servers.Count; i++)
        {
            LogDue(_servers[i], now);
            pending |= _servers[i].Failures.HasPending;
        }

        Volatile.Write(ref _flushArmed, 0);
        if (pending)
        {
            ArmFlush();
        }
    }

    /// <summary>One flush a second later, so the counts of the last second of a burst are logged too.</summary>
    private void ArmFlush()
    {
        if (Interlocked.CompareExchange(ref _flushArmed, 1, 0) == 0)
        {
            _ = FlushLaterAsync();
        }
    }

    private async Task FlushLaterAsync()
    {
        // On the thread pool, off the workers: the delay is on the failure path only, once a second at most.
        await Task.Delay(TimeSpan.FromMilliseconds(FailureLog.IntervalMs)).ConfigureAwait(false);
        Flush();
    }

    private void LogDue(ServerState server, long now)
    {
        if (server.Failures.TryTake(now) is { } counts)
        {
            ExchangesFailed(_logger, _backend, server.Settings.Name, server.Settings.Address, counts, server.IsUp ? "UP" : "DOWN");
        }
    }

    [LoggerMessage(EventId = 302, Level = LogLevel.Warning, Message = "Server {Backend}/{Server} ({Address}) is DOWN after {Errors} errors in a row on live traffic: {Reason}")]
    private static partial void MarkedDown(ILogger logger, string backend, string server, ServerAddress address, int errors, string reason);

    [LoggerMessage(EventId = 303, Level = LogLevel.Warning, Message = "Server {Backend}/{Server} ({Address}): failed exchanges: {Counts}; server is {State}")]
    private static partial void ExchangesFailed(ILogger logger, string backend, string server, ServerAddress address, string counts, string state);
}
