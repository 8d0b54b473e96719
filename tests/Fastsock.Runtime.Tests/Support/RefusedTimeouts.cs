namespace Fastsock.Tests.Support;

/// <summary>Timeouts every option that takes one refuses at start: zero and negative, but not InfiniteTimeSpan.</summary>
public static class RefusedTimeouts
{
    public static TheoryData<long> InTicks => new()
    {
        0,
        -TimeSpan.TicksPerSecond,
        -1, // a tick short of zero, not InfiniteTimeSpan (-1 ms)
    };
}
