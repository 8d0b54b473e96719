namespace Fastsock.AspNetCore.Internal;

/// <summary>Connection ids handed out by one worker: its index and a counter only its thread increments.</summary>
internal sealed class WorkerConnectionIds(int workerIndex)
{
    private long _next;

    /// <summary>Worker thread only.</summary>
    public long Next() => ++_next;

    /// <summary>The id as text, made only when someone asks (Kestrel's logging scopes do).</summary>
    public string Format(long sequence) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"fs{workerIndex:x}-{sequence:x}");
}
