using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Fastsock.AspNetCore.Internal;

/// <summary>
/// Kestrel's transport: binds IP and unix-socket endpoints on Fastsock's workers (started by the first bind, stopped
/// when the host disposes this factory, after Kestrel has stopped). Other kinds (named pipes, file handles) are left
/// to the next transport Kestrel has.
/// </summary>
internal sealed class FastsockTransportFactory(IOptions<FastsockTransportOptions> options, ILoggerFactory loggerFactory)
    : IConnectionListenerFactory, IConnectionListenerFactorySelector, IAsyncDisposable, IDisposable
{
    private readonly FastsockTransportOptions _options = options.Value;
    private readonly ILogger _logger = loggerFactory.CreateLogger("Fastsock.AspNetCore");
    private readonly SemaphoreSlim _starting = new(1, 1);
    private WorkerSet? _workers;
    private bool _disposed;

    public bool CanBind(EndPoint endpoint) => endpoint is IPEndPoint or UnixDomainSocketEndPoint;

    public async ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        if (!CanBind(endpoint))
        {
            throw new NotSupportedException($"Fastsock serves IP and unix-socket endpoints; {endpoint} ({endpoint.GetType().Name}) is neither: use an http://address:port URL or ListenUnixSocket.");
        }

        var workers = await WorkersAsync(cancellationToken).ConfigureAwait(false);
        var listener = await FastsockConnectionListener.BindAsync(endpoint, workers, _options).ConfigureAwait(false);
        TransportLog.Bound(_logger, listener.EndPoint, workers.Workers.Count, _options.Steering);
        return listener;
    }

    private async Task<WorkerSet> WorkersAsync(CancellationToken cancellationToken)
    {
        await _starting.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _workers ??= await WorkerSet.StartAsync(_options, loggerFactory, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _starting.Release();
        }
    }

    /// <summary>For a host disposed synchronously (the container refuses an IAsyncDisposable-only singleton then).</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    public async ValueTask DisposeAsync()
    {
        await _starting.WaitAsync().ConfigureAwait(false);
        try
        {
            _disposed = true;
            if (_workers is { } workers)
            {
                _workers = null;
                await workers.DisposeAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            _starting.Release();
        }
    }
}
