using System.Net.Sockets;
using System.Text;
using Fastsock.Samples.Proxy.Balancing;
using Fastsock.Samples.Proxy.Config;
using Fastsock.Samples.Proxy.Routing;
using Fastsock.Samples.Proxy.Tls;
using Microsoft.Extensions.Logging;

namespace Fastsock.Samples.Proxy.Health;

/// <summary>
/// Checks servers on the thread pool, away from the workers, so checks never take a worker's time or disturb its
/// locality. A server goes down after <c>fall</c> failed checks in a row and up after <c>rise</c> good ones;
/// every change is logged, and workers see it through <see cref="ServerState.IsUp"/>. Passive health
/// (<see cref="PassiveHealth"/>) may take a server DOWN between checks; the checks then bring it back.
/// </summary>
internal sealed partial class HealthChecker : IAsyncDisposable
{
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _checks = new();
    private readonly Dictionary<ServerState, (CancellationTokenSource Stop, Task Loop)> _running = [];

    public HealthChecker(ILogger logger) => _logger = logger;

    /// <summary>Servers being checked now (tests see the checker follow a set).</summary>
    internal int Checking
    {
        get
        {
            lock (_checks)
            {
                return _running.Count;
            }
        }
    }

    /// <summary>Checks the servers of <paramref name="pool"/> now and follows its set: added servers get a check, removed ones lose theirs.</summary>
    public void Follow(BackendPool pool)
    {
        pool.Changed += OnChanged;
        lock (_checks)
        {
            foreach (var server in pool.Servers)
            {
                StartCheck(pool.Settings, server);
            }
        }
    }

    /// <summary>Stops checking the servers of <paramref name="pool"/> and following its set (a reload removed the backend).</summary>
    public void Unfollow(BackendPool pool)
    {
        pool.Changed -= OnChanged;
        lock (_checks)
        {
            foreach (var server in pool.Servers)
            {
                StopCheck(server);
            }
        }
    }

    /// <summary>Checks <paramref name="servers"/> of <paramref name="backend"/> (a fixed set: tests and tools).</summary>
    public void Start(BackendSettings backend, IReadOnlyList<ServerState> servers)
    {
        lock (_checks)
        {
            foreach (var server in servers)
            {
                StartCheck(backend, server);
            }
        }
    }

    private void OnChanged(BackendPool pool, ServerSetChange change)
    {
        lock (_checks)
        {
            foreach (var server in change.Removed)
            {
                StopCheck(server);
            }

            if (change.HealthCheckChanged)
            {
                // New interval, path or thresholds: the kept servers start over with the new check.
                foreach (var server in change.Kept)
                {
                    StopCheck(server);
                    StartCheck(change.Set.Settings, server);
                }
            }

            foreach (var server in change.Added)
            {
                StartCheck(change.Set.Settings, server);
            }
        }
    }

    private void StartCheck(BackendSettings backend, ServerState server)
    {
        if (backend.HealthCheck is not { } check || server.Settings.Address.Kind == ServerKind.InProc || _stop.IsCancellationRequested)
        {
            return; // in-process servers are hosted here: up as long as the process is
        }

        var stop = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        var loop = Task.Run(() => CheckLoopAsync(backend.Name, server, check, backend.Faults.SlowStart, stop.Token));
        _running[server] = (stop, loop);
    }

    private void StopCheck(ServerState server)
    {
        if (_running.Remove(server, out var running))
        {
            running.Stop.Cancel();
            _ = running.Loop.ContinueWith(_ => running.Stop.Dispose(), TaskScheduler.Default);
        }
    }

    private async Task CheckLoopAsync(string backend, ServerState server, HealthCheckSettings check, TimeSpan slowStart, CancellationToken stop)
    {
        int successes = 0;
        int failures = 0;
        int generation = server.Generation;
        using var timer = new PeriodicTimer(Duration.ForTimer(check.Interval));
        do
        {
            string? failure;
            try
            {
                failure = await ProbeServerAsync(server.Settings, check, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return; // stopped mid-probe: the server was removed, or the proxy is stopping
            }

            if (stop.IsCancellationRequested)
            {
                return;
            }

            if (server.Generation != generation)
            {
                // Passive health took it DOWN meanwhile: coming back takes `rise` good checks from now.
                successes = 0;
                failures = server.IsUp ? 0 : check.Fall;
            }

            if (failure is null)
            {
                failures = 0;
                if (++successes >= check.Rise && server.TryMarkUp(slowStart))
                {
                    ServerUp(_logger, backend, server.Settings.Name, server.Settings.Address, successes);
                }
            }
            else
            {
                successes = 0;
                if (++failures >= check.Fall && server.TryMarkDown())
                {
                    ServerDown(_logger, backend, server.Settings.Name, server.Settings.Address, failure, failures);
                }
            }

            generation = server.Generation;
        }
        while (await WaitAsync(timer, stop).ConfigureAwait(false));
    }

    /// <summary>
    /// Probes the way traffic goes: the local fast path when its socket exists, then TCP if that fails; over TLS with the
    /// traffic's settings when the server has a <c>tls</c> section.
    /// </summary>
    private static async Task<string?> ProbeServerAsync(ServerSettings server, HealthCheckSettings check, CancellationToken stop)
    {
        if (server.LocalFastPath is { } path && File.Exists(path)
            && await ProbeAsync(new ServerAddress(ServerKind.Unix, null, path), server.Tls, check, stop).ConfigureAwait(false) is null)
        {
            return null;
        }

        return await ProbeAsync(server.Address, server.Tls, check, stop).ConfigureAwait(false);
    }

    /// <summary>
    /// Null when the server answered as expected, else why not. With <paramref name="tls"/>, a tcp check passes once the
    /// handshake completes (HAProxy's check-ssl, a layer 6 check) and an http check is sent inside it.
    /// </summary>
    internal static async Task<string?> ProbeAsync(ServerAddress address, BackendTlsSettings? tls, HealthCheckSettings check, CancellationToken stop)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
        timeout.CancelAfter(Duration.ForTimer(check.Timeout));
        try
        {
            using var socket = address.Kind == ServerKind.Unix
                ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
                : new Socket(address.EndPoint!.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            System.Net.EndPoint target = address.Kind == ServerKind.Unix ? new UnixDomainSocketEndPoint(address.Path!) : address.EndPoint!;
            await socket.ConnectAsync(target, timeout.Token).ConfigureAwait(false);
            await using var stream = new NetworkStream(socket, ownsSocket: false);
            Stream channel = stream;
            if (tls is not null)
            {
                var (ssl, failure) = await CheckTls.HandshakeAsync(stream, tls, timeout.Token).ConfigureAwait(false);
                if (ssl is null)
                {
                    return failure;
                }

                channel = ssl;
            }

            await using var owned = channel == stream ? null : channel;
            if (check.Type == HealthCheckType.Tcp)
            {
                return null;
            }

            // The name the server is asked for (SNI over TLS), as a virtual host on it would expect.
            string host = tls?.TargetHost ?? address.ToString();
            var request = Encoding.ASCII.GetBytes($"GET {check.Path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: fastsock-health\r\nConnection: close\r\n\r\n");
            await channel.WriteAsync(request, timeout.Token).ConfigureAwait(false);
            await channel.FlushAsync(timeout.Token).ConfigureAwait(false);
            var status = await ReadStatusAsync(channel, timeout.Token).ConfigureAwait(false);
            return status == check.ExpectStatus ? null : status < 0 ? "no HTTP status line" : $"HTTP {status}, expected {check.ExpectStatus}";
        }
        catch (OperationCanceledException) when (!stop.IsCancellationRequested)
        {
            return $"no answer within {check.Timeout.TotalMilliseconds:0} ms";
        }
        catch (SocketException ex)
        {
            return ex.SocketErrorCode.ToString();
        }
        catch (IOException ex)
        {
            return ex.InnerException is SocketException socket ? socket.SocketErrorCode.ToString() : ex.Message;
        }
    }

    private static async Task<int> ReadStatusAsync(Stream channel, CancellationToken token)
    {
        var buffer = new byte[128];
        int filled = 0;
        while (filled < 12)
        {
            int n = await channel.ReadAsync(buffer.AsMemory(filled), token).ConfigureAwait(false);
            if (n == 0)
            {
                break;
            }

            filled += n;
        }

        // "HTTP/1.x NNN"
        var line = Encoding.ASCII.GetString(buffer, 0, filled);
        return line.StartsWith("HTTP/1.", StringComparison.Ordinal) && line.Length >= 12 && int.TryParse(line.AsSpan(9, 3), out int status) ? status : -1;
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stop)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        Task[] loops;
        lock (_checks)
        {
            _stop.Cancel();
            loops = [.. _running.Values.Select(r => r.Loop)];
        }

        await Task.WhenAll(loops).ConfigureAwait(false);
        lock (_checks)
        {
            foreach (var running in _running.Values)
            {
                running.Stop.Dispose();
            }

            _running.Clear();
        }

        _stop.Dispose();
    }

    [LoggerMessage(EventId = 300, Level = LogLevel.Warning, Message = "Server {Backend}/{Server} ({Address}) is DOWN after {Failures} failed checks: {Reason}")]
    private static partial void ServerDown(ILogger logger, string backend, string server, ServerAddress address, string reason, int failures);

    [LoggerMessage(EventId = 301, Level = LogLevel.Information, Message = "Server {Backend}/{Server} ({Address}) is UP after {Successes} good checks")]
    private static partial void ServerUp(ILogger logger, string backend, string server, ServerAddress address, int successes);
}
