using System.Runtime.CompilerServices;
using Fastsock.Engine;

namespace Fastsock.Transport.Tls;

/// <summary><c>await new WorkerHop(worker)</c>: continues on <paramref name="worker"/>'s thread, at once when already there.</summary>
internal readonly struct WorkerHop(Worker worker) : INotifyCompletion
{
    private static readonly Action<object?> s_run = static continuation => ((Action)continuation!)();

    public WorkerHop GetAwaiter() => this;

    public bool IsCompleted => worker.IsCurrentThread;

    public void OnCompleted(Action continuation) => worker.Post(s_run, continuation);

    public void GetResult()
    {
    }
}
