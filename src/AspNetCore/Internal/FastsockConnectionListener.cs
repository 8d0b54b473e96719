using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Fastsock.Transport;
using Microsoft.AspNetCore.Connections;

namespace Fastsock.AspNetCore.Internal;

/// <summary>
/// One Kestrel endpoint: a listener group (one SO_REUSEPORT socket per worker, steered to the SYN's CPU) whose workers
/// accept and hand each connection to Kestrel's accept loop. Kestrel's loop only dispatches; the connection's work
/// comes back to the worker that accepted it.
/// </summary>
internal sealed class FastsockConnectionListener : IConnectionListener
{
    private readonly WorkerSet _workers;
    private readonly List<ListenerGroup> _groups = [];
    // Every worker writes here and Kestrel's one accept loop reads: a lock shared across cores, once per connection
    // (never per request), where Kestrel itself funnels each endpoint's connections through that one loop.
    private readonly Channel<FastsockConnectionContext> _accepted = Channel.CreateUnbounded<FastsockConnectionContext>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });
    private readonly Fastsock.Transport.ConnectionHandler _onConnection;
    private int _unbound;
    private string? _socketFile;

    private FastsockConnectionListener(WorkerSet workers, EndPoint endPoint)
    {
        _workers = workers;
        EndPoint = endPoint;
        _onConnection = OnConnection;
    }

    public EndPoint EndPoint { get; private set; }

    /// <summary>
    /// Binds <paramref name="endPoint"/> on every worker; port 0 resolves to one port all workers share. A unix socket
    /// is one listening socket the workers share (no reuseport steering exists for AF_UNIX).
    /// </summary>
    public static async Task<FastsockConnectionListener> BindAsync(EndPoint endPoint, WorkerSet workers, FastsockTransportOptions options)
    {
        var listener = new FastsockConnectionListener(workers, endPoint);
        try
        {
            if (endPoint is UnixDomainSocketEndPoint unix)
            {
                listener._groups.Add(BindErrors.Translate(
                    endPoint,
                    () => ListenerGroup.OpenUnix(unix, options.ListenBacklog, workers.Pools, listener._onConnection)));
                listener._socketFile = SocketFile(unix);
            }
            else
            {
                var ip = (IPEndPoint)endPoint;
                var group = listener.Open(ip, options);
                listener.EndPoint = group.BoundEndPoint;
                if (ip.Address.Equals(IPAddress.IPv6Any))
                {
                    // Kestrel's "*" and "[::]" mean both families (its sockets transport sets DualMode). The runtime
                    // binds IPv6 sockets V6ONLY, so IPv4 gets its own group on the same port.
                    listener.Open(new IPEndPoint(IPAddress.Any, group.BoundEndPoint.Port), options);
                }
            }

            await workers.OnEachWorkerAsync(worker =>
            {
                foreach (var group in listener._groups)
                {
                    group.ListenerFor(worker.Index)?.Register();
                }
            }).ConfigureAwait(false);
        }
        catch
        {
            listener.CloseSockets();
            throw;
        }

        return listener;
    }

    /// <summary>The file a path-named unix socket created (an abstract one, <c>@name</c>, has none).</summary>
    private static string? SocketFile(UnixDomainSocketEndPoint endPoint)
    {
        var path = endPoint.ToString();
        return path.Length > 0 && path[0] != '@' ? path : null;
    }

    private ListenerGroup Open(IPEndPoint endPoint, FastsockTransportOptions options)
    {
        var group = BindErrors.Translate(
            endPoint,
            () => ListenerGroup.Open(endPoint, options.Steering, options.ListenBacklog, options.Connection.NoDelay, _workers.Pools, _onConnection));
        _groups.Add(group);
        return group;
    }

    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        var reader = _accepted.Reader;
        while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (reader.TryRead(out var connection))
            {
                return connection;
            }
        }

        return null;
    }

    /// <summary>Stops accepting: each worker closes its listening socket; connections already accepted go on.</summary>
    public async ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _unbound, 1) != 0)
        {
            return;
        }

        await _workers.OnEachWorkerAsync(worker =>
        {
            foreach (var group in _groups)
            {
                group.ListenerFor(worker.Index)?.Close();
            }
        }).WaitAsync(cancellationToken).ConfigureAwait(false);

        CloseSockets();

        // Kestrel's accept loop still takes what was queued, then sees null.
        _accepted.Writer.TryComplete();
    }

    public async ValueTask DisposeAsync()
    {
        await UnbindAsync().ConfigureAwait(false);

        // Accepted but never picked up by Kestrel: nobody else will close them.
        while (_accepted.Reader.TryRead(out var orphan))
        {
            orphan.Abort();
            await orphan.DisposeAsync().ConfigureAwait(false);
        }
    }

    private void CloseSockets()
    {
        foreach (var group in _groups)
        {
            group.Dispose();
        }

        if (Interlocked.Exchange(ref _socketFile, null) is { } file)
        {
            // Ours since the bind made it; left behind, it would fail the next bind with "address in use".
            File.Delete(file);
        }
    }

    /// <summary>Runs on the accepting worker for each new connection; the task ends when Kestrel disposed it.</summary>
    private Task OnConnection(Fastsock.Transport.Connection connection)
    {
        var context = new FastsockConnectionContext(connection, _workers[connection.WorkerIndex], _workers.IdsFor(connection.WorkerIndex), EndPoint);
        if (!_accepted.Writer.TryWrite(context))
        {
            connection.Abort(); // unbound meanwhile
            return Task.CompletedTask;
        }

        return context.HandlerDone;
    }
}
