using Fastsock.Engine;

namespace Fastsock.Transport.Pipes;

/// <summary>
/// What the pipes of one worker and one direction share: the owner worker and the backpressure thresholds. One object
/// per worker and direction instead of four fields in every pipe of every connection.
/// </summary>
internal sealed class WorkerPipeSettings
{
    public WorkerPipeSettings(Worker worker, long pauseWriterThreshold, long resumeWriterThreshold, bool readerRunsInline)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(pauseWriterThreshold);
        if (pauseWriterThreshold > 0 && (resumeWriterThreshold <= 0 || resumeWriterThreshold > pauseWriterThreshold))
        {
            throw new ArgumentOutOfRangeException(nameof(resumeWriterThreshold), resumeWriterThreshold,
                $"The resume threshold must be above 0 and at most the pause threshold ({pauseWriterThreshold}).");
        }

        Worker = worker;
        PauseWriterThreshold = pauseWriterThreshold;
        ResumeWriterThreshold = resumeWriterThreshold;
        ReaderRunsInline = readerRunsInline;
    }

    public Worker Worker { get; }

    /// <summary>Flushed bytes the reader has not consumed at which a flush waits; 0: never.</summary>
    public long PauseWriterThreshold { get; }

    /// <summary>Below this many unconsumed bytes a waiting flush completes.</summary>
    public long ResumeWriterThreshold { get; }

    /// <summary>The reader's continuation runs inside the flush (a transport that only queues a send).</summary>
    public bool ReaderRunsInline { get; }
}
