using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using Fastsock.Engine;
using Fastsock.Transport;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;
using AbortedException = Microsoft.AspNetCore.Connections.ConnectionAbortedException;

namespace Fastsock.AspNetCore.Internal;

/// <summary>
/// One accepted connection as Kestrel sees it. Made on the accepting worker; Kestrel picks it up on its accept loop,
/// and its first read hops back to that worker (<see cref="WorkerBoundPipeReader"/>), so the rest runs there. Lives
/// until Kestrel disposes it: then the runtime's handler returns, the output drains and the socket closes.
/// The features are implemented here and in FastsockConnectionContext.Features.cs.
/// </summary>
internal sealed partial class FastsockConnectionContext : ConnectionContext, IDuplexPipe
{
    private static readonly Action<object?> s_abortOnWorker = static state => ((FastsockConnectionContext)state!).AbortOnWorker();
    private static readonly Action<object?> s_releaseOnWorker = static state => ((FastsockConnectionContext)state!)._handlerDone.TrySetResult();
    private static readonly Action<object?> s_closed = static state => ((TaskCompletionSource)state!).TrySetResult();
    private static readonly Action<object?> s_cancel = static state => ((CancellationTokenSource)state!).Cancel();

    private readonly Connection _connection;
    private readonly Worker _worker;
    private readonly WorkerConnectionIds _ids;
    private readonly long _sequence;
    private readonly CancellationToken _runtimeClosed;
    private readonly WorkerBoundPipeReader _input;
    private readonly PipeWriter _output;
    private readonly TaskCompletionSource _handlerDone = new();
    private readonly CancellationTokenSource _closedForKestrel = new();
    private IDuplexPipe _transport;
    private string? _connectionId;
    private IDictionary<object, object?>? _items;
    private CancellationToken _connectionClosed;
    private EndPoint? _localEndPoint;
    private EndPoint? _remoteEndPoint;
    private int _disposed;

    /// <summary>Worker thread only: reads the runtime connection's state while it is certainly this connection's.</summary>
    public FastsockConnectionContext(Connection connection, Worker worker, WorkerConnectionIds ids, EndPoint listenEndPoint)
    {
        _connection = connection;
        _worker = worker;
        _ids = ids;
        _sequence = ids.Next();

        // The runtime creates this token source lazily and unsynchronized: create it here, on the worker. Its identity
        // also tells a late Abort whether the pooled connection object still serves this connection.
        _runtimeClosed = connection.ConnectionClosed;

        // Kestrel's own token: cancelled when the runtime's is, or earlier, by the input when a read meets a reset.
        _runtimeClosed.UnsafeRegister(s_cancel, _closedForKestrel);
        _connectionClosed = _closedForKestrel.Token;
        _localEndPoint = connection.LocalEndPoint ?? listenEndPoint; // a unix socket's peer has no IP address
        _remoteEndPoint = connection.RemoteEndPoint;
        _input = new WorkerBoundPipeReader(connection.Transport.Input, worker, _closedForKestrel);
        _output = connection.Transport.Output;
        _transport = this;
    }

    /// <summary>Completes once Kestrel disposed the connection: the runtime then finishes sending and closes it.</summary>
    public Task HandlerDone => _handlerDone.Task;

    public override string ConnectionId
    {
        get => _connectionId ??= _ids.Format(_sequence);
        set => _connectionId = value;
    }

    public override IFeatureCollection Features => this;

    public override IDictionary<object, object?> Items
    {
        get => _items ??= new ConnectionItems();
        set => _items = value;
    }

    public override IDuplexPipe Transport
    {
        get => _transport;
        set => _transport = value;
    }

    public override CancellationToken ConnectionClosed
    {
        get => _connectionClosed;
        set => _connectionClosed = value;
    }

    public override EndPoint? LocalEndPoint
    {
        get => _localEndPoint;
        set => _localEndPoint = value;
    }

    public override EndPoint? RemoteEndPoint
    {
        get => _remoteEndPoint;
        set => _remoteEndPoint = value;
    }

    PipeReader IDuplexPipe.Input => _input;

    PipeWriter IDuplexPipe.Output => _output;

    private MemoryPool<byte> MemoryPool => _worker.Pool;

    public override void Abort(AbortedException abortReason) => _worker.Post(s_abortOnWorker, this);

    /// <summary>
    /// Kestrel is done with the connection: its pipe ends complete, the runtime's handler returns (on the worker), the
    /// rest of the output is sent and the socket closes; the returned task completes then.
    /// </summary>
#pragma warning disable CA2215 // ConnectionContext.DisposeAsync does nothing; this one must return the close task instead.
    public override ValueTask DisposeAsync()
#pragma warning restore CA2215
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return ValueTask.CompletedTask;
        }

        _input.Complete();
        _output.Complete();
        if (_worker.Exited.IsCompleted)
        {
            return ValueTask.CompletedTask; // the workers stopped first: the socket went with them
        }

        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _runtimeClosed.UnsafeRegister(s_closed, closed);
        _worker.Post(s_releaseOnWorker, this);
        return new ValueTask(closed.Task);
    }

    private void AbortOnWorker()
    {
        // The connection object is pooled: once closed it may already serve another peer. A new use gets a new
        // token source, so the same token means the same connection.
        if (!_runtimeClosed.IsCancellationRequested && _connection.ConnectionClosed == _runtimeClosed)
        {
            _connection.Abort();
        }
    }
}
