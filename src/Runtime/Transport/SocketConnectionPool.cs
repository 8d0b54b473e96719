using System.IO.Pipelines;
using Fastsock.Engine;
using Microsoft.Extensions.ObjectPool;

namespace Fastsock.Transport;

/// <summary>
/// A worker's reusable connection objects (with their pipes and timers), so accepting a connection allocates
/// nothing once the pool is warm. Used by the owning worker only.
/// </summary>
internal sealed class SocketConnectionPool
{
    private readonly ObjectPool<SocketConnection> _pool;
    private long _created;

    public SocketConnectionPool(Worker worker, ConnectionOptions options, int maximumRetained = 4096)
    {
        Worker = worker;
        _pool = new DefaultObjectPool<SocketConnection>(new Policy(this, options), maximumRetained);
    }

    public Worker Worker { get; }

    /// <summary>Connection objects ever created (not reused), to show reuse works; read with Volatile from other threads.</summary>
    public long Created => Volatile.Read(ref _created);

    public SocketConnection Rent()
    {
        var connection = _pool.Get();
        connection.Pool = this;
        return connection;
    }

    public void Return(SocketConnection connection) => _pool.Return(connection);

    private sealed class Policy(SocketConnectionPool owner, ConnectionOptions options) : PooledObjectPolicy<SocketConnection>
    {
        private readonly PipeOptions _input = SocketConnection.InputPipeOptions(owner.Worker, options);
        private readonly PipeOptions _output = SocketConnection.OutputPipeOptions(owner.Worker, options);

        public override SocketConnection Create()
        {
            owner._created++; // owner worker only
            return new(owner.Worker, options, _input, _output);
        }

        public override bool Return(SocketConnection obj) => true;
    }
}
