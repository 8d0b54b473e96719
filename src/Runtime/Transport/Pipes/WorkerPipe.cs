using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using Fastsock.Engine;

namespace Fastsock.Transport.Pipes;

/// <summary>
/// A one-way pipe owned by one worker thread: the connection's worker writes and reads it, so no operation takes a
/// lock or an Interlocked (System.IO.Pipelines' <c>Pipe</c> locks on every Advance, read, AdvanceTo and flush).
/// Blocks come from the worker's pool when the writer asks for memory and go back as soon as the reader consumed
/// them: a pipe with nothing buffered holds no block at all. Pending reads and flushes are ValueTasks over the
/// reader and writer objects themselves (no allocation per operation); their continuations run on the worker, through
/// its run queue, or inline for a reader that is the transport itself. Any other thread is refused with an
/// <see cref="InvalidOperationException"/>, except <c>CancelPendingRead</c>/<c>CancelPendingFlush</c>, which are
/// posted to the worker.
/// The pipe is its own <see cref="PipeReader"/> (and the source of its pending read), and its writer end is made only
/// for a caller that needs a <see cref="PipeWriter"/>: an idle connection's two pipes cost three objects, not eight. State only needed once a cancellation token or an error is
/// involved lives in a side object made on first use (<see cref="PipeRareState"/>).
/// Split by concern: buffers here, the reader's side in WorkerPipe.Read.cs, the writer's in WorkerPipe.Write.cs.
/// </summary>
internal sealed partial class WorkerPipe : PipeReader, IValueTaskSource<ReadResult>
{
    private readonly WorkerPipeSettings _settings; // shared by the worker's pipes of one direction

    // The bytes: segments from _head to _tail; [_head/_headIndex, _readEnd/_readEndIndex) is flushed (the reader's),
    // the rest up to _tail.End is advanced but not flushed yet.
    private BlockSegment? _head;
    private int _headIndex;
    private BlockSegment? _readEnd;
    private int _readEndIndex;
    private BlockSegment? _tail;
    private long _unconsumed;
    private long _unflushed;
    private bool _writerHoldsMemory;

    /// <param name="worker">The owner: every operation runs on its thread, blocks come from its pool.</param>
    /// <param name="pauseWriterThreshold">Flushed bytes the reader has not consumed at which a flush waits; 0: never.</param>
    /// <param name="resumeWriterThreshold">Below this many unconsumed bytes a waiting flush completes.</param>
    /// <param name="readerRunsInline">The reader's continuation runs inside the flush (a transport that only queues a send).</param>
    public WorkerPipe(Worker worker, long pauseWriterThreshold, long resumeWriterThreshold, bool readerRunsInline)
        : this(new WorkerPipeSettings(worker, pauseWriterThreshold, resumeWriterThreshold, readerRunsInline))
    {
    }

    /// <param name="settings">The owner worker and thresholds, shared by many pipes.</param>
    public WorkerPipe(WorkerPipeSettings settings) => _settings = settings;

    /// <summary>The reading end: the pipe itself.</summary>
    public PipeReader Reader => this;

    /// <summary>The writing end, made on first use: a transport writing its input pipe goes through <see cref="ConnectionPipe"/> and never needs it.</summary>
    public WorkerPipeWriter Writer => _writer ??= new WorkerPipeWriter(this);

    private WorkerPipeWriter? _writer;

    private PipeRareState? _rare;

    private PipeRareState Rare => _rare ??= new PipeRareState();

    /// <summary>Bytes in the pipe, flushed or not (for tests and diagnostics).</summary>
    internal long BufferedBytes => _unconsumed + _unflushed;

    /// <summary>Flushed bytes the reader has not consumed.</summary>
    internal long FlushedBytes => _unconsumed;

    /// <summary>True while the pipe holds at least one block (for tests and diagnostics).</summary>
    internal bool HoldsBlocks => _head is not null;

    /// <summary>
    /// Makes the pipe new again for a reused connection. Both ends must be completed. A read or flush left pending by
    /// code that never awaited it is dropped: the version moves on, so a late await of it fails instead of seeing
    /// the next connection's bytes.
    /// </summary>
    public void Reset()
    {
        CheckOwner("Reset");
        if (!_readerCompleted || !_writerCompleted)
        {
            throw new InvalidOperationException(
                $"The pipe was reset while in use (reader completed: {_readerCompleted}, writer completed: {_writerCompleted}); complete both ends first.");
        }

        ReleaseAll();
        ResetReader();
        ResetWriter();
    }

    private void CheckOwner(string operation)
    {
        if (!_settings.Worker.IsCurrentThread)
        {
            ThrowOffWorker(operation);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowOffWorker(string operation)
    {
        var thread = Thread.CurrentThread;
        throw new InvalidOperationException(
            $"{operation} was called on thread {thread.ManagedThreadId} ('{thread.Name ?? "unnamed"}'), but this connection's pipe belongs to worker {_settings.Worker.Index} (thread 'fastsock-w{_settings.Worker.Index}'): " +
            "use a connection's pipes only from its handler on that worker (no ConfigureAwait(false) or Task.Run before them); from another thread call Connection.Abort(), which is posted to the worker.");
    }

    /// <summary>The writer's room: the tail block when it has <paramref name="sizeHint"/> bytes free, else a new block.</summary>
    private BlockSegment WritableTail(int sizeHint)
    {
        var tail = _tail;
        if (tail is not null && tail.Writable >= sizeHint)
        {
            return tail;
        }

        var segment = BlockSegment.Rent(_settings.Worker.Pool, sizeHint, tail is null ? 0 : tail.RunningIndex + tail.End);
        if (tail is null)
        {
            _head = segment;
            _headIndex = 0;
            _readEnd = segment;
            _readEndIndex = 0;
        }
        else
        {
            tail.Link(segment);
        }

        _tail = segment;
        return segment;
    }

    /// <summary>Moves what the writer advanced to the reader's side; false when there was nothing.</summary>
    private bool Commit()
    {
        _writerHoldsMemory = false;
        if (_unflushed == 0)
        {
            ReleaseIfEmpty();
            return false;
        }

        _readEnd = _tail;
        _readEndIndex = _tail!.End;
        _unconsumed += _unflushed;
        _unflushed = 0;
        return true;
    }

    /// <summary>Drops everything up to (<paramref name="segment"/>, <paramref name="index"/>), <paramref name="bytes"/> bytes.</summary>
    private void Consume(BlockSegment segment, int index, long bytes)
    {
        var current = _head!;
        while (current != segment)
        {
            var next = current.NextSegment ?? throw new ArgumentOutOfRangeException(nameof(segment), "The consumed position is not in this pipe's buffer; pass a position of the last ReadResult's buffer.");
            current.Release();
            current = next;
        }

        _head = current;
        _headIndex = index;
        while (_headIndex == _head.End && _head != _tail)
        {
            var next = _head.NextSegment!;
            _head.Release();
            _head = next;
            _headIndex = 0;
        }

        _unconsumed -= bytes;
        if (_unconsumed == 0)
        {
            // The read end may have been a block just released (a position at its end and at the next one's start are the same).
            _readEnd = _head;
            _readEndIndex = _headIndex;
        }

        ReleaseIfEmpty();
    }

    /// <summary>Nothing left to read or flush and no memory lent to the writer: every block goes back to the pool.</summary>
    private void ReleaseIfEmpty()
    {
        if (_head is not null && _unconsumed == 0 && _unflushed == 0 && !_writerHoldsMemory)
        {
            ReleaseAll();
        }
    }

    /// <summary>The reader is gone: buffered bytes have nowhere to go, only a block lent to the writer stays.</summary>
    private void DiscardForCompletedReader()
    {
        _unconsumed = 0;
        _unflushed = 0;
        if (_head is null)
        {
            return;
        }

        if (!_writerHoldsMemory)
        {
            ReleaseAll();
            return;
        }

        var tail = _tail!;
        for (var segment = _head; segment != tail;)
        {
            var next = segment!.NextSegment;
            segment.Release();
            segment = next;
        }

        _head = tail;
        _headIndex = tail.End;
        _readEnd = tail;
        _readEndIndex = tail.End;
    }

    private void ReleaseAll()
    {
        for (var segment = _head; segment is not null;)
        {
            var next = segment.NextSegment;
            segment.Release();
            segment = next;
        }

        _head = null;
        _readEnd = null;
        _tail = null;
        _headIndex = 0;
        _readEndIndex = 0;
        _unconsumed = 0;
        _unflushed = 0;
        _writerHoldsMemory = false;
    }
}
