using System.Collections.Concurrent;
using System.Net;
using Fastsock.Tests.Samples;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// Clients that never pause: keep-alive clients sending their next request as soon as the last response arrived
/// (reconnecting only when told <c>Connection: close</c>), and one client opening a new connection per request.
/// Every failure is kept: a reset, a connection ended before its response, a refused connect, a status other than 200.
/// </summary>
internal sealed class ConstantLoad : IAsyncDisposable
{
    private const string KeepAliveRequest = "GET /plaintext HTTP/1.1\r\nHost: load\r\n\r\n";
    private const string CloseRequest = "GET /plaintext HTTP/1.1\r\nHost: load\r\nConnection: close\r\n\r\n";

    private readonly IPEndPoint _endPoint;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<string> _errors = new();
    private Task[] _clients = [];
    private long _completed;
    private long _newConnections;

    private ConstantLoad(IPEndPoint endPoint) => _endPoint = endPoint;

    /// <summary>Responses received so far (200 or not).</summary>
    public long Completed => Volatile.Read(ref _completed);

    /// <summary>Requests completed by the client that connects anew for each.</summary>
    public long NewConnections => Volatile.Read(ref _newConnections);

    public static ConstantLoad Start(IPEndPoint endPoint, int keepAliveClients)
    {
        var load = new ConstantLoad(endPoint);
        var clients = new List<Task>();
        for (int i = 0; i < keepAliveClients; i++)
        {
            clients.Add(Task.Run(load.KeepAliveAsync));
        }

        clients.Add(Task.Run(load.NewConnectionsAsync));
        load._clients = [.. clients];
        return load;
    }

    public Task WaitForRequestsAsync(long count) =>
        Eventually.AssertAsync(() => Completed >= count, () => $"only {Completed} of {count} requests completed; errors: {string.Join(" | ", _errors.Take(3))}");

    public Task WaitForNewConnectionsAsync(long count) =>
        Eventually.AssertAsync(() => NewConnections >= count, () => $"only {NewConnections} of {count} new-connection requests completed; errors: {string.Join(" | ", _errors.Take(3))}");

    /// <summary>Lets every client finish its request in flight; returns the errors seen.</summary>
    public async Task<IReadOnlyList<string>> StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_clients).WaitAsync(Clients.Timeout);
        return [.. _errors];
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await StopAsync();
        }

        _stop.Dispose();
    }

    private async Task KeepAliveAsync()
    {
        RawHttpClient? client = null;
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                client ??= await RawHttpClient.ConnectAsync(_endPoint);
                await client.SendAsync(KeepAliveRequest);
                var response = await client.ReadResponseAsync();
                Count(response);
                if (string.Equals(response.Header("Connection"), "close", StringComparison.OrdinalIgnoreCase))
                {
                    client.Dispose();
                    client = null;
                }
            }
            catch (Exception ex)
            {
                _errors.Enqueue($"keep-alive: {ex.GetType().Name}: {ex.Message}");
                client?.Dispose();
                client = null;
            }
        }

        client?.Dispose();
    }

    private async Task NewConnectionsAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                using var client = await RawHttpClient.ConnectAsync(_endPoint);
                await client.SendAsync(CloseRequest);
                Count(await client.ReadResponseAsync());
                Interlocked.Increment(ref _newConnections);
            }
            catch (Exception ex)
            {
                _errors.Enqueue($"new connection: {ex.GetType().Name}: {ex.Message}");
            }
        }
    }

    private void Count(RawHttpResponse response)
    {
        if (response.Status != 200)
        {
            _errors.Enqueue($"status {response.Status}");
        }

        Interlocked.Increment(ref _completed);
    }
}
