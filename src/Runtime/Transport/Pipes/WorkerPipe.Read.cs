using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.ExceptionServices;
using System.Threading.Tasks.Sources;

namespace Fastsock.Transport.Pipes;

/// <summary>The reader's side: reads, AdvanceTo, cancellation, completion, and the pending read's ValueTask source.</summary>
internal sealed partial class WorkerPipe
{
    // Runs only for a completed read: a post that outlived a Reset (or a duplicate) finds nothing to do.
    private static readonly Action<object?> s_runReadContinuation = static state =>
    {
        var pipe = (WorkerPipe)state!;
        if (pipe._readDone)
        {
            pipe._readContinuation.Invoke();
        }
    };
    private static readonly Action<object?, CancellationToken> s_readTokenCanceled =
        static (state, _) => ((WorkerPipe)state!)._settings.Worker.Post(static s => ((WorkerPipe)s!).OnReadTokenCanceled(), state);

    private PipeContinuation _readContinuation;
    private short _readVersion;
    private bool _readerCompleted;
    private bool _readable; // new bytes (or the writer's end) since the reader last examined everything
    private bool _readCancelRequested;
    private bool _readingActive; // a ReadResult is out: AdvanceTo is due
    private bool _readPending;
    private bool _readDone;
    private bool _readTokenCanceled;

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        CheckOwner("PipeReader.ReadAsync");
        BeginRead();
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<ReadResult>(cancellationToken);
        }

        if (_readable || _readCancelRequested)
        {
            return new ValueTask<ReadResult>(TakeReadResult());
        }

        _readPending = true;
        if (cancellationToken.CanBeCanceled)
        {
            Rare.ReadRegistration = cancellationToken.UnsafeRegister(s_readTokenCanceled, this);
        }

        return new ValueTask<ReadResult>(this, _readVersion);
    }

    public override bool TryRead(out ReadResult result)
    {
        CheckOwner("PipeReader.TryRead");
        BeginRead();
        if (_unconsumed > 0 || _readable || _readCancelRequested)
        {
            result = TakeReadResult();
            return true;
        }

        result = default;
        return false;
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        CheckOwner("PipeReader.AdvanceTo");
        if (!_readingActive)
        {
            throw new InvalidOperationException("AdvanceTo was called with no read to complete; call ReadAsync or TryRead first.");
        }

        _readingActive = false;
        if (_head is null)
        {
            _readable = _writerCompleted;
            return;
        }

        long start = _head.RunningIndex + _headIndex;
        long end = _readEnd!.RunningIndex + _readEndIndex;
        long consumedAt = Absolute(consumed, start);
        long examinedAt = Absolute(examined, start);
        if (consumedAt < start || consumedAt > end)
        {
            throw new ArgumentOutOfRangeException(nameof(consumed), "The consumed position is outside the last ReadResult's buffer; pass a position of that buffer.");
        }

        if (examinedAt < consumedAt)
        {
            throw new InvalidOperationException("The examined position is before the consumed one; examined must be at or after consumed.");
        }

        if (examinedAt >= end)
        {
            if (!_writerCompleted)
            {
                _readable = false; // the next read waits for new bytes
            }
            else if (_rare is { WriterError: not null } rare)
            {
                rare.WriterErrorDue = true; // every byte before the failure was seen: the next read throws it
            }
        }

        if (consumedAt > start)
        {
            Consume((BlockSegment)consumed.GetObject()!, consumed.GetInteger(), consumedAt - start);
            if (_flushPending && _unconsumed < _settings.ResumeWriterThreshold)
            {
                SignalWriter();
            }
        }
    }

    public override void CancelPendingRead()
    {
        if (!_settings.Worker.IsCurrentThread)
        {
            // The one cross-thread signal a reader takes (timeouts, shutdown): it goes through the worker's queue.
            _settings.Worker.Post(static state => ((WorkerPipe)state!).CancelPendingRead(), this);
            return;
        }

        _readCancelRequested = true;
        SignalReader();
    }

    public override void Complete(Exception? exception = null) => CompleteReader(exception);

    internal void CompleteReader(Exception? exception)
    {
        CheckOwner("PipeReader.Complete");
        if (_readerCompleted)
        {
            return;
        }

        _readerCompleted = true;
        if (exception is not null)
        {
            Rare.ReaderError = exception;
        }
        _readingActive = false;
        DiscardForCompletedReader();
        SignalWriter();
    }

    internal ValueTaskSourceStatus GetReadStatus(short token)
    {
        CheckReadToken(token);
        if (!_readDone)
        {
            return ValueTaskSourceStatus.Pending;
        }

        return _readTokenCanceled ? ValueTaskSourceStatus.Canceled
            : _writerCompleted && _rare is { WriterError: not null } rare && WriterErrorDue(rare) ? ValueTaskSourceStatus.Faulted
            : ValueTaskSourceStatus.Succeeded;
    }

    internal void OnReadCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
    {
        CheckOwner("awaiting PipeReader.ReadAsync");
        CheckReadToken(token);
        _readContinuation.Set(continuation, state, flags);
        if (_readDone)
        {
            _settings.Worker.Post(s_runReadContinuation, this);
        }
    }

    /// <summary>
    /// For a transport reading its own output pipe: <paramref name="continuation"/> runs when the pending read completes,
    /// as an await would, without a per-connection Action delegate for the awaiter.
    /// </summary>
    internal void OnPendingReadCompleted(Action<object?> continuation, object state) =>
        OnReadCompleted(continuation, state, _readVersion, ValueTaskSourceOnCompletedFlags.None);

    /// <summary>The pending read's ValueTask again, for a transport that keeps no copy of it while it waits.</summary>
    internal ValueTask<ReadResult> PendingRead => new(this, _readVersion);

    internal ReadResult GetReadResult(short token)
    {
        CheckReadToken(token);
        if (!_readDone)
        {
            throw new InvalidOperationException("The read has not completed yet; await the ValueTask ReadAsync returned.");
        }

        _readPending = false;
        _readDone = false;
        _readVersion++;
        var cancellationToken = _rare is { } rare ? rare.EndRead() : default;
        if (_readTokenCanceled)
        {
            _readTokenCanceled = false;
            throw new OperationCanceledException(cancellationToken);
        }

        return TakeReadResult();
    }

    /// <summary>Completes the pending read, if any: bytes were flushed, the writer completed, or the read was cancelled.</summary>
    private void SignalReader()
    {
        if (!_readPending || _readDone)
        {
            return;
        }

        _readDone = true;
        if (_readContinuation.IsSet)
        {
            if (_settings.ReaderRunsInline)
            {
                _readContinuation.Invoke();
            }
            else
            {
                _settings.Worker.Post(s_runReadContinuation, this);
            }
        }
    }

    private void OnReadTokenCanceled()
    {
        if (_readPending && !_readDone && _rare is { } rare && rare.ReadRegistration.Token.IsCancellationRequested)
        {
            _readTokenCanceled = true;
            SignalReader();
        }
    }

    private void BeginRead()
    {
        if (_readerCompleted)
        {
            throw new InvalidOperationException("Reading is not allowed after the reader was completed.");
        }

        if (_readPending)
        {
            throw new InvalidOperationException("A read is already pending on this pipe; await it before reading again.");
        }

        if (_readingActive)
        {
            throw new InvalidOperationException("The previous read was not advanced; call AdvanceTo before reading again.");
        }
    }

    private ReadResult TakeReadResult()
    {
        bool canceled = _readCancelRequested;
        _readCancelRequested = false;
        bool completed = _writerCompleted;
        if (completed && _rare is { WriterError: { } error } rare)
        {
            if (WriterErrorDue(rare))
            {
                ExceptionDispatchInfo.Throw(error);
            }

            completed = false; // bytes flushed before the failure come first, as ordinary reads
        }

        var buffer = _head is null ? default : new ReadOnlySequence<byte>(_head, _headIndex, _readEnd!, _readEndIndex);
        _readingActive = true;
        return new ReadResult(buffer, canceled, completed);
    }

    /// <summary>
    /// A writer that completed with an error (a socket's recv failed, a TLS record was bad) still flushed good bytes
    /// before it: the reader gets them first and the error once it has examined all of them. This is the pipe's rule,
    /// not the socket's, so every reader (a forwarder, the HTTP server, a TLS layer, a transport reading its output)
    /// sees one order: the bytes a failed peer sent before the reset are not thrown away (System.IO.Pipelines' Pipe
    /// throws at once, which lost up to the pause threshold of a forwarded stream). A reader that examined everything
    /// and reads again gets the error, never the same buffer: no busy loop.
    /// </summary>
    private bool WriterErrorDue(PipeRareState rare) => rare.WriterErrorDue || _unconsumed == 0;

    private void CheckReadToken(short token)
    {
        if (token != _readVersion || !_readPending)
        {
            throw new InvalidOperationException("This ValueTask from PipeReader.ReadAsync was already awaited; await each one once.");
        }
    }

    ValueTaskSourceStatus IValueTaskSource<ReadResult>.GetStatus(short token) => GetReadStatus(token);

    void IValueTaskSource<ReadResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        OnReadCompleted(continuation, state, token, flags);

    ReadResult IValueTaskSource<ReadResult>.GetResult(short token) => GetReadResult(token);

    private static long Absolute(SequencePosition position, long start) =>
        position.GetObject() is BlockSegment segment ? segment.RunningIndex + position.GetInteger() : start;

    private void ResetReader()
    {
        _rare?.ResetReader();
        _readContinuation = default;
        _readPending = false;
        _readDone = false;
        _readerCompleted = false;
        _readable = false;
        _readCancelRequested = false;
        _readingActive = false;
        _readTokenCanceled = false;
        _readVersion++;
    }
}
