using System.Runtime.CompilerServices;

namespace Fastsock.Engine;

/// <summary>
/// A suspended async method's state machine with its task source, pooled per thread and per state-machine type.
/// </summary>
/// <remarks>
/// On a worker (one pinned thread per core) every suspended session holds its own boxes, so the pool is deep rather than
/// the runtime builder's one per thread plus one per core: it starts at <see cref="InitialPoolCapacity"/> per type per
/// thread and doubles up to <see cref="MaxPoolCapacity"/>, keeping what demand returns. With a fixed 256, a worker with
/// 1000 keep-alive clients freed more boxes at once than it kept and allocated them again (a gen0 collection every few
/// seconds under steady load). The pool is thread-static: no locks, nothing shared between cores. A box completed on
/// another thread goes back to that thread's pool; beyond the maximum it is dropped for the GC.
/// </remarks>
internal sealed class WorkerStateMachineBox<TResult, TStateMachine> : WorkerValueTaskBox<TResult>
    where TStateMachine : IAsyncStateMachine
{
    internal const int InitialPoolCapacity = 256;
    internal const int MaxPoolCapacity = 1 << 16;

    private static readonly ContextCallback s_moveNext = static box => Unsafe.As<WorkerStateMachineBox<TResult, TStateMachine>>(box!).StateMachine.MoveNext();

    [ThreadStatic]
    private static WorkerStateMachineBox<TResult, TStateMachine>?[]? t_pool;

    [ThreadStatic]
    private static int t_count;

    private Action? _moveNextAction;

    // A field, not a property: MoveNext must run on the stored struct, not on a copy.
    internal TStateMachine StateMachine = default!;

    /// <summary>The context captured at the last await, restored around MoveNext; null when flow is suppressed.</summary>
    internal ExecutionContext? Context;

    /// <summary>The continuation handed to awaiters; created once per box, which lives as long as its pool.</summary>
    public Action MoveNextAction => _moveNextAction ??= MoveNext;

    public static WorkerStateMachineBox<TResult, TStateMachine> Rent()
    {
        var pool = t_pool;
        int count = t_count;
        if (pool is not null && count > 0)
        {
            count--;
            var box = pool[count]!;
            pool[count] = null;
            t_count = count;
            return box;
        }

        return new WorkerStateMachineBox<TResult, TStateMachine>();
    }

    protected override void Recycle()
    {
        StateMachine = default!;
        Context = null;
        var pool = t_pool ??= new WorkerStateMachineBox<TResult, TStateMachine>?[InitialPoolCapacity];
        int count = t_count;
        if (count == pool.Length && count < MaxPoolCapacity)
        {
            Array.Resize(ref pool, count * 2);
            t_pool = pool;
        }

        if (count < pool.Length)
        {
            pool[count] = this;
            t_count = count + 1;
        }
    }

    private void MoveNext()
    {
        var context = Context;
        if (context is null)
        {
            StateMachine.MoveNext();
        }
        else
        {
            ExecutionContext.Run(context, s_moveNext, this);
        }
    }
}
