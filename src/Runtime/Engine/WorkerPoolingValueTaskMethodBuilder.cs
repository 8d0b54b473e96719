using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Fastsock.Engine;

/// <summary>
/// Builds <c>async ValueTask&lt;TResult&gt;</c> methods whose suspended state machines are reused from a deep
/// per-thread pool, for code that runs on a Fastsock worker: <c>[AsyncMethodBuilder(typeof(WorkerPoolingValueTaskMethodBuilder&lt;&gt;))]</c>.
/// </summary>
/// <remarks>
/// The runtime's <see cref="PoolingAsyncValueTaskMethodBuilder{TResult}"/> keeps one spare box per thread and one per
/// core, which is enough for one request in flight per thread; a worker serving many keep-alive connections has one
/// suspended method per connection and would allocate a box per request. Here each thread keeps up to 256 boxes per
/// state-machine type. Semantics are those of the runtime's builder: await the result once; the execution context
/// flows across awaits.
/// </remarks>
[StructLayout(LayoutKind.Auto)]
public struct WorkerPoolingValueTaskMethodBuilder<TResult>
{
    private WorkerValueTaskBox<TResult>? _box;
    private TResult _result;

    /// <summary>Creates a builder (called by generated code).</summary>
#pragma warning disable CA1000 // The async method builder pattern requires a static Create on the builder type.
    public static WorkerPoolingValueTaskMethodBuilder<TResult> Create() => default;
#pragma warning restore CA1000

    /// <summary>The method's task: its result when it completed synchronously, otherwise backed by the box.</summary>
    public readonly ValueTask<TResult> Task => _box is { } box ? new ValueTask<TResult>(box, box.Version) : new ValueTask<TResult>(_result);

    /// <summary>The box behind <see cref="Task"/>, or null when the method completed synchronously with a result.</summary>
    internal readonly WorkerValueTaskBox<TResult>? Box => _box;

    /// <summary>Runs the method to its first suspension (called by generated code).</summary>
    public readonly void Start<TStateMachine>(ref TStateMachine stateMachine)
        where TStateMachine : IAsyncStateMachine
    {
        // The runtime's Start: restores the caller's execution and synchronization contexts afterwards.
        var runtime = AsyncValueTaskMethodBuilder.Create();
        runtime.Start(ref stateMachine);
    }

    /// <summary>Not used: the state machine is boxed by this builder on its first suspension.</summary>
    public readonly void SetStateMachine(IAsyncStateMachine stateMachine) => ArgumentNullException.ThrowIfNull(stateMachine);

    /// <summary>Completes the method with <paramref name="result"/>.</summary>
    public void SetResult(TResult result)
    {
        if (_box is null)
        {
            _result = result;
        }
        else
        {
            _box.SetResult(result);
        }
    }

    /// <summary>Completes the method with <paramref name="exception"/>.</summary>
    public void SetException(Exception exception)
    {
        _box ??= new FaultedValueTaskBox<TResult>();
        _box.SetException(exception);
    }

    /// <summary>Suspends the method until <paramref name="awaiter"/> completes, flowing the execution context.</summary>
    public void AwaitOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : INotifyCompletion
        where TStateMachine : IAsyncStateMachine =>
        awaiter.OnCompleted(GetBox(ref stateMachine).MoveNextAction);

    /// <summary>Suspends the method until <paramref name="awaiter"/> completes; the box restores the execution context.</summary>
    public void AwaitUnsafeOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : ICriticalNotifyCompletion
        where TStateMachine : IAsyncStateMachine =>
        awaiter.UnsafeOnCompleted(GetBox(ref stateMachine).MoveNextAction);

    private WorkerStateMachineBox<TResult, TStateMachine> GetBox<TStateMachine>(ref TStateMachine stateMachine)
        where TStateMachine : IAsyncStateMachine
    {
        if (_box is WorkerStateMachineBox<TResult, TStateMachine> boxed)
        {
            boxed.Context = ExecutionContext.Capture();
            return boxed;
        }

        var box = WorkerStateMachineBox<TResult, TStateMachine>.Rent();

        // This builder lives inside the state machine: point it at the box before the state machine is copied into it.
        _box = box;
        box.StateMachine = stateMachine;
        box.Context = ExecutionContext.Capture();
        return box;
    }
}
