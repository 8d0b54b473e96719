using System.Threading.Tasks.Sources;

namespace Fastsock.Tests.Engine;

/// <summary>A reusable awaitable that completes when the test opens it; allocates nothing per use.</summary>
internal sealed class ManualGate : IValueTaskSource<int>
{
    private ManualResetValueTaskSourceCore<int> _core;

    public ValueTask<int> WaitAsync() => new(this, _core.Version);

    public void Open(int value) => _core.SetResult(value);

    public void Fail(Exception exception) => _core.SetException(exception);

    public int GetResult(short token)
    {
        try
        {
            return _core.GetResult(token);
        }
        finally
        {
            _core.Reset();
        }
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
