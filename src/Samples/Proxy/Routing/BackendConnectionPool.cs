using System.IO.Pipelines;
using Fastsock.Transport;

namespace Fastsock.Samples.Proxy.Routing;

/// <summary>
/// Idle keep-alive connections to one server, owned by one worker: a bounded stack (newest on top), so it takes no
/// lock and a connection never leaves the core it was opened on. Connections idle longer than the keep-alive idle
/// timeout, or that the server has closed or written to while idle, are closed instead of reused.
/// </summary>
internal sealed class BackendConnectionPool(int capacity, TimeSpan idleTimeout)
{
    private readonly Connection?[] _connections = new Connection?[capacity];
    private readonly long[] _idleSince = new long[capacity];
    private readonly long _idleTimeoutMs = (long)idleTimeout.TotalMilliseconds;
    private int _count;

    /// <summary>Idle connections held now.</summary>
    public int Count => _count;

    /// <summary>The most recently used idle connection that is still good, or null: then connect.</summary>
    public Connection? Take(long nowMs)
    {
        while (_count > 0)
        {
            int top = --_count;
            var connection = _connections[top]!;
            _connections[top] = null;
            if (nowMs - _idleSince[top] > _idleTimeoutMs)
            {
                // The top is the newest: everything below has waited longer still.
                Close(connection);
                CloseAll();
                return null;
            }

            if (IsStillIdle(connection))
            {
                return connection;
            }

            Close(connection);
        }

        return null;
    }

    /// <summary>Keeps <paramref name="connection"/> for the next request, or closes it when the pool is full.</summary>
    public void Return(Connection connection, long nowMs)
    {
        EvictExpired(nowMs);
        if (_count == _connections.Length)
        {
            Close(connection);
            return;
        }

        _connections[_count] = connection;
        _idleSince[_count] = nowMs;
        _count++;
    }

    /// <summary>
    /// Closes what should not wait for the next <see cref="Take"/>: connections idle too long, closed by the server, or
    /// asked to finish by a graceful shutdown (their input then reads as cancelled).
    /// </summary>
    public void Sweep(long nowMs)
    {
        int kept = 0;
        for (int i = 0; i < _count; i++)
        {
            var connection = _connections[i]!;
            if (nowMs - _idleSince[i] > _idleTimeoutMs || !IsStillIdle(connection))
            {
                Close(connection);
                continue;
            }

            _connections[kept] = connection;
            _idleSince[kept] = _idleSince[i];
            kept++;
        }

        Array.Clear(_connections, kept, _count - kept);
        _count = kept;
    }

    public void CloseAll()
    {
        while (_count > 0)
        {
            int top = --_count;
            Close(_connections[top]!);
            _connections[top] = null;
        }
    }

    /// <summary>Completes both ends: the transport then closes the socket (or the in-memory pair ends).</summary>
    public static void Close(Connection connection)
    {
        connection.Transport.Input.Complete();
        connection.Transport.Output.Complete();
    }

    /// <summary>An idle connection must have nothing to read: EOF means the server closed it, bytes are a protocol error.</summary>
    internal static bool IsStillIdle(Connection connection)
    {
        PipeReader input = connection.Transport.Input;
        if (!input.TryRead(out ReadResult result))
        {
            return true;
        }

        bool idle = !result.IsCompleted && !result.IsCanceled && result.Buffer.IsEmpty;
        input.AdvanceTo(result.Buffer.Start);
        return idle;
    }

    /// <summary>Closes the connections at the bottom (the oldest) that have been idle too long.</summary>
    private void EvictExpired(long nowMs)
    {
        int expired = 0;
        while (expired < _count && nowMs - _idleSince[expired] > _idleTimeoutMs)
        {
            Close(_connections[expired]!);
            expired++;
        }

        if (expired == 0)
        {
            return;
        }

        Array.Copy(_connections, expired, _connections, 0, _count - expired);
        Array.Copy(_idleSince, expired, _idleSince, 0, _count - expired);
        Array.Clear(_connections, _count - expired, expired);
        _count -= expired;
    }
}
