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

    public SocketConnectionPool(Worker worker, ConnectionOptions options, int maximumRetained = 4096)
    {
        Worker = worker;
        _pool = new DefaultObjectPool<SocketConnection>(new Policy(worker, options), maximumRetained);
    }

    public Worker Worker { get; }

    public SocketConnection Rent()
    {
        var connection = _pool.Get();
        connection.Pool = this;
        return connection;
    }

    public void Return(SocketConnection connection) => _pool.Return(connection);

    private sealed class Policy(Worker worker, ConnectionOptions options) : PooledObjectPolicy<SocketConnection>
    {
        private readonly PipeOptions _input = SocketConnection.InputPipeOptions(worker, options);
        private readonly PipeOptions _output = SocketConnection.OutputPipeOptions(worker, options);

        public override SocketConnection Create() => new(worker, options, _input, _output);

        public override bool Return(SocketConnection obj) => true;
    }
}
