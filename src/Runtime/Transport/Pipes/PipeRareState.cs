namespace Fastsock.Transport.Pipes;

/// <summary>
/// The part of a <see cref="WorkerPipe"/> that most connections never use: token registrations of reads and flushes
/// given a cancellable token, and the errors the ends completed with. Made on first use and kept with the pipe (a
/// pooled connection's pipe is reused), so a keep-alive connection that never needs it does not carry 48 bytes for it.
/// </summary>
internal sealed class PipeRareState
{
    public CancellationTokenRegistration ReadRegistration;
    public CancellationTokenRegistration FlushRegistration;
    public Exception? ReaderError;
    public Exception? WriterError;

    /// <summary>The reader examined every byte flushed before <see cref="WriterError"/>: its next read throws it.</summary>
    public bool WriterErrorDue;

    /// <summary>Ends the pending read's registration; returns its token (for the OperationCanceledException).</summary>
    public CancellationToken EndRead() => End(ref ReadRegistration);

    /// <summary>Ends the pending flush's registration; returns its token.</summary>
    public CancellationToken EndFlush() => End(ref FlushRegistration);

    public void ResetReader()
    {
        End(ref ReadRegistration);
        ReaderError = null;
    }

    public void ResetWriter()
    {
        End(ref FlushRegistration);
        WriterError = null;
        WriterErrorDue = false;
    }

    private static CancellationToken End(ref CancellationTokenRegistration registration)
    {
        var token = registration.Token;
        registration.Dispose();
        registration = default;
        return token;
    }
}
