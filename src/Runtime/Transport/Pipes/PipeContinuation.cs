using System.Threading.Tasks.Sources;

namespace Fastsock.Transport.Pipes;

/// <summary>
/// The one continuation of a pending read or flush. Single-threaded by construction (only the owner worker touches
/// it), so it needs no Interlocked, unlike ManualResetValueTaskSourceCore. The captured SynchronizationContext is
/// not used: the pipe always resumes on its worker, which is the context its callers are on anyway.
/// </summary>
internal struct PipeContinuation
{
    private static readonly Action<object?> s_runInContext = static state => ((ContextBound)state!).Run();

    private Action<object?>? _action;
    private object? _state;

    public readonly bool IsSet => _action is not null;

    public void Set(Action<object?> action, object? state, ValueTaskSourceOnCompletedFlags flags)
    {
        if (_action is not null)
        {
            throw new InvalidOperationException("A pending pipe operation was awaited twice; await each ValueTask once.");
        }

        // Async methods await with UnsafeOnCompleted (no flag): only a direct awaiter.OnCompleted pays for the holder,
        // and an idle pipe does not carry a context field for it.
        if ((flags & ValueTaskSourceOnCompletedFlags.FlowExecutionContext) != 0 && ExecutionContext.Capture() is { } context)
        {
            _action = s_runInContext;
            _state = new ContextBound(action, state, context);
            return;
        }

        _action = action;
        _state = state;
    }

    public void Invoke()
    {
        var action = _action;
        var state = _state;
        _action = null;
        _state = null;
        action?.Invoke(state);
    }

    private sealed class ContextBound(Action<object?> action, object? state, ExecutionContext context)
    {
        public void Run() => ExecutionContext.Run(context, static s => ((ContextBound)s!).Invoke(), this);

        private void Invoke() => action(state);
    }
}
