using System.Threading.Tasks.Sources;

namespace Fastsock.Transport.Pipes;

/// <summary>
/// The one continuation of a pending read or flush. Single-threaded by construction (only the owner worker touches
/// it), so it needs no Interlocked, unlike ManualResetValueTaskSourceCore. The captured SynchronizationContext is
/// not used: the pipe always resumes on its worker, which is the context its callers are on anyway.
/// </summary>
internal struct PipeContinuation
{
    private Action<object?>? _action;
    private object? _state;
    private ExecutionContext? _context;

    public readonly bool IsSet => _action is not null;

    public void Set(Action<object?> action, object? state, ValueTaskSourceOnCompletedFlags flags)
    {
        if (_action is not null)
        {
            throw new InvalidOperationException("A pending pipe operation was awaited twice; await each ValueTask once.");
        }

        _action = action;
        _state = state;

        // Async methods await with UnsafeOnCompleted (no flag): only a direct awaiter.OnCompleted pays for this.
        _context = (flags & ValueTaskSourceOnCompletedFlags.FlowExecutionContext) != 0 ? ExecutionContext.Capture() : null;
    }

    public void Invoke()
    {
        var action = _action;
        var state = _state;
        var context = _context;
        _action = null;
        _state = null;
        _context = null;
        if (action is null)
        {
            return;
        }

        if (context is null)
        {
            action(state);
        }
        else
        {
            ExecutionContext.Run(context, static boxed =>
            {
                var (a, s) = ((Action<object?>, object?))boxed!;
                a(s);
            }, (action, state));
        }
    }
}
