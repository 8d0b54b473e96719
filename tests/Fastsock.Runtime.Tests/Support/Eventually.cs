namespace Fastsock.Tests.Support;

/// <summary>
/// The one way tests wait for something observable that has no event to await: poll it, every 20 ms, until it holds or
/// <see cref="Clients.Timeout"/> passes. Generous on purpose (the machine is shared); a condition that holds returns at once.
/// </summary>
internal static class Eventually
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(20);

    /// <summary>True once <paramref name="condition"/> holds; false if it still does not after the timeout.</summary>
    public static Task<bool> HoldsAsync(Func<bool> condition) => HoldsAsync(() => Task.FromResult(condition()));

    /// <summary>True once <paramref name="condition"/> holds; false if it still does not after the timeout.</summary>
    public static async Task<bool> HoldsAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + Clients.Timeout;
        while (!await condition().WaitAsync(Clients.Timeout))
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(Interval);
        }

        return true;
    }

    /// <summary>Fails with <paramref name="failure"/> (built when it fails, so it can show the last state) unless <paramref name="condition"/> comes to hold.</summary>
    public static async Task AssertAsync(Func<bool> condition, Func<string> failure)
    {
        if (!await HoldsAsync(condition))
        {
            Assert.Fail($"{failure()} (waited {Clients.Timeout.TotalSeconds:F0} s)");
        }
    }
}
