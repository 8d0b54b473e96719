namespace Fastsock.Tests.Support;

/// <summary>Every wait in a test ends: <c>await socket.SendAsync(x).WithinTimeout()</c> fails after <see cref="Clients.Timeout"/> instead of hanging.</summary>
internal static class Bounded
{
    public static Task WithinTimeout(this Task task) => task.WaitAsync(Clients.Timeout);

    public static Task<T> WithinTimeout<T>(this Task<T> task) => task.WaitAsync(Clients.Timeout);

    public static Task WithinTimeout(this ValueTask task) => task.AsTask().WaitAsync(Clients.Timeout);

    public static Task<T> WithinTimeout<T>(this ValueTask<T> task) => task.AsTask().WaitAsync(Clients.Timeout);
}
