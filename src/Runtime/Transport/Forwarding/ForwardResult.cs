namespace Fastsock.Transport;

/// <summary>
/// What a forward moved. <see cref="Error"/> is null when both directions ended with a FIN; otherwise it is what
/// ended the forward (a reset, an abort, a failed syscall) and both connections were aborted.
/// </summary>
public readonly record struct ForwardResult(long FirstToSecond, long SecondToFirst, ForwardingMode Mode, Exception? Error)
{
    /// <summary>Whether both directions ended cleanly with a FIN.</summary>
    public bool Completed => Error is null;

    /// <summary>
    /// A bounded splice (<see cref="ConnectionForwarder.SpliceExactlyAsync"/>) failed on the side the bytes went to, not
    /// the one they came from: an HTTP forwarder tells a client that left from a server that failed by it.
    /// </summary>
    internal bool TargetFailed { get; init; }
}
