using System.Net;
using Fastsock.Transport;

namespace Fastsock.Hosting;

public sealed partial class FastsockServer
{
    /// <summary>
    /// Connects to <paramref name="remote"/> from worker <paramref name="worker"/>, from any thread. The connection
    /// belongs to that worker (its handler-side continuations run there); see <see cref="FastsockConnector.ConnectAsync"/>.
    /// </summary>
    public Task<Connection> ConnectAsync(int worker, EndPoint remote, CancellationToken cancellationToken = default)
    {
        var endPoint = FastsockConnector.AsConnectable(remote);
        if (Volatile.Read(ref _state) != 1)
        {
            throw new InvalidOperationException("The server is not running: start it before connecting.");
        }

        if ((uint)worker >= (uint)_connectors.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(worker), worker, $"There are {_connectors.Length} workers (0-{_connectors.Length - 1}).");
        }

        var connector = _connectors[worker];
        if (connector.Worker.IsCurrentThread)
        {
            return connector.ConnectAsync(endPoint, cancellationToken);
        }

        var request = new ConnectRequest(connector, endPoint, cancellationToken);
        connector.Worker.Post(static state => ((ConnectRequest)state!).Run(), request);
        return request.Completion.Task;
    }

    private sealed class ConnectRequest(WorkerConnector connector, EndPoint remote, CancellationToken cancellationToken)
    {
        public TaskCompletionSource<Connection> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Run()
        {
            var task = connector.ConnectAsync(remote, cancellationToken);
            task.ContinueWith(static (t, state) =>
            {
                var completion = (TaskCompletionSource<Connection>)state!;
                if (t.IsCompletedSuccessfully)
                {
                    completion.TrySetResult(t.Result);
                }
                else if (t.Exception is { } error)
                {
                    completion.TrySetException(error.InnerExceptions);
                }
                else
                {
                    completion.TrySetCanceled();
                }
            }, Completion, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }
}
