using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Fastsock.Engine;

/// <summary>
/// Builds <c>async ValueTask</c> methods like <see cref="WorkerPoolingValueTaskMethodBuilder{TResult}"/>:
/// <c>[AsyncMethodBuilder(typeof(WorkerPoolingValueTaskMethodBuilder))]</c>.
/// </summary>
[StructLayout(LayoutKind.Auto)]
public struct WorkerPoolingValueTaskMethodBuilder
{
    private WorkerPoolingValueTaskMethodBuilder<NoResult> _builder;

    /// <summary>Creates a builder (called by generated code).</summary>
    public static WorkerPoolingValueTaskMethodBuilder Create() => default;

    /// <summary>The method's task: completed when the method completed synchronously, otherwise backed by the box.</summary>
    public readonly ValueTask Task => _builder.Box is { } box ? new ValueTask(box, box.Version) : default;

    /// <summary>Runs the method to its first suspension (called by generated code).</summary>
    public readonly void Start<TStateMachine>(ref TStateMachine stateMachine)
        where TStateMachine : IAsyncStateMachine => _builder.Start(ref stateMachine);

    /// <summary>Not used: the state machine is boxed by this builder on its first suspension.</summary>
    public readonly void SetStateMachine(IAsyncStateMachine stateMachine) => _builder.SetStateMachine(stateMachine);

    /// <summary>Completes the method.</summary>
    public void SetResult() => _builder.SetResult(default);

    /// <summary>Completes the method with <paramref name="exception"/>.</summary>
    public void SetException(Exception exception) => _builder.SetException(exception);

    /// <summary>Suspends the method until <paramref name="awaiter"/> completes, flowing the execution context.</summary>
    public void AwaitOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : INotifyCompletion
        where TStateMachine : IAsyncStateMachine => _builder.AwaitOnCompleted(ref awaiter, ref stateMachine);

    /// <summary>Suspends the method until <paramref name="awaiter"/> completes; the box restores the execution context.</summary>
    public void AwaitUnsafeOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : ICriticalNotifyCompletion
        where TStateMachine : IAsyncStateMachine => _builder.AwaitUnsafeOnCompleted(ref awaiter, ref stateMachine);

    /// <summary>The result type of a method that returns none.</summary>
    internal readonly struct NoResult;
}
