namespace Fastsock.Transport;

/// <summary>
/// What a forward moved. <see cref="Error"/> is null when both directions ended with a FIN; otherwise it is what
/// ended the forward (a reset, an abort, a failed syscall, a timeout) and both connections were aborted (a bounded splice
/// may keep its source, <see cref="SourceKept"/>, or its target, <see cref="SourceEnded"/> and <see cref="SourceTimedOut"/>).
/// </summary>
public readonly record struct ForwardResult(long FirstToSecond, long SecondToFirst, ForwardingMode Mode, Exception? Error)
{
    /// <summary>Whether both directions ended cleanly with a FIN.</summary>
    public bool Completed => Error is null;

    /// <summary>
    /// A bounded splice (<see cref="ConnectionForwarder.SpliceExactlyAsync(Connection, Connection, long, ForwardingOptions?)"/>)
    /// failed on the side the bytes went to, not the one they came from: an HTTP forwarder tells a client that left
    /// from a server that failed by it.
    /// </summary>
    internal bool TargetFailed { get; init; }

    /// <summary>
    /// A bounded splice whose target failed gave the source back to its input pipe instead of aborting it, because the
    /// bytes of the count not delivered fit the bound the caller named
    /// (<see cref="ConnectionForwarder.SpliceExactlyAsync(Connection, Connection, long, long, TimeSpan, ForwardingOptions?)"/>): the
    /// source is where its stream would be had it been read up to <see cref="SourceRemaining"/> bytes before the end of
    /// the count.
    /// </summary>
    internal bool SourceKept { get; init; }

    /// <summary>
    /// With <see cref="SourceKept"/>: bytes of the count still to be read from the source (its input pipe, then its
    /// socket). The bytes taken from it but never delivered (they were in the kernel pipe) are gone with the pipe.
    /// </summary>
    internal long SourceRemaining { get; init; }

    /// <summary>
    /// A bounded splice given an inactivity timeout for its source
    /// (<see cref="ConnectionForwarder.SpliceExactlyAsync(Connection, Connection, long, long, TimeSpan, ForwardingOptions?)"/>)
    /// waited that long for the source's next byte: the source was aborted, and the target given back to its pipes
    /// with <see cref="FirstToSecond"/> bytes of the count delivered, for its owner to close (the message it carries is
    /// cut short).
    /// </summary>
    internal bool SourceTimedOut { get; init; }

    /// <summary>
    /// A bounded splice's source ended (FIN) or failed before the count: only the source was aborted, and the target
    /// given back to its pipes with <see cref="FirstToSecond"/> bytes of the count delivered (every byte taken from the
    /// source), for its owner to close in order (the message it carries is cut short), as after a copied body whose
    /// source ended.
    /// </summary>
    internal bool SourceEnded { get; init; }
}
