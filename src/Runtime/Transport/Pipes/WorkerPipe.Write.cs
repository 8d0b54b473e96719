using System.IO.Pipelines;
using System.Runtime.ExceptionServices;
using System.Threading.Tasks.Sources;

namespace Fastsock.Transport.Pipes;

/// <summary>The writer's side: memory, Advance, flush with backpressure, cancellation, completion, and the pending flush's source.</summary>
internal sealed partial class WorkerPipe
{
    // Runs only for a completed flush: a post that outlived a Reset (or a duplicate) finds nothing to do.
    private static readonly Action<object?> s_runFlushContinuation = static state =>
    {
        var pipe = (WorkerPipe)state!;
        if (pipe._flushDone)
        {
            pipe._flushContinuation.Invoke();
        }
    };
    private static readonly Action<object?, CancellationToken> s_flushTokenCanceled =
        static (state, _) => ((WorkerPipe)state!)._settings.Worker.Post(static s => ((WorkerPipe)s!).OnFlushTokenCanceled(), state);

    private PipeContinuation _flushContinuation;
    private short _flushVersion;
    private bool _writerCompleted;
    private bool _flushCancelRequested;
    private bool _flushPending;
    private bool _flushDone;
    private bool _flushTokenCanceled;

    internal long UnflushedBytes => _unflushed;

    internal Memory<byte> GetMemory(int sizeHint)
    {
        CheckOwner("PipeWriter.GetMemory");
        if (_writerCompleted)
        {
            ThrowWriterCompleted();
        }

        ArgumentOutOfRangeException.ThrowIfNegative(sizeHint);
        var tail = WritableTail(sizeHint == 0 ? 1 : sizeHint);
        _writerHoldsMemory = true;
        return tail.WritableMemory;
    }

    internal void Advance(int bytes)
    {
        CheckOwner("PipeWriter.Advance");
        if (_writerCompleted)
        {
            ThrowWriterCompleted();
        }

        _writerHoldsMemory = false;
        if (bytes == 0)
        {
            ReleaseIfEmpty(); // a read that found nothing (EAGAIN) leaves no block behind
            return;
        }

        var tail = _tail;
        if (tail is null || (uint)bytes > (uint)tail.Writable)
        {
            throw new ArgumentOutOfRangeException(nameof(bytes), bytes, $"Advance went past the memory GetMemory returned ({tail?.Writable ?? 0} bytes); advance at most what was written.");
        }

        tail.Commit(bytes);
        _unflushed += bytes;
    }

    internal ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken)
    {
        CheckOwner("PipeWriter.FlushAsync");
        if (_writerCompleted)
        {
            ThrowWriterCompleted();
        }

        if (_flushPending)
        {
            throw new InvalidOperationException("A flush is already pending on this pipe; await it before flushing again.");
        }

        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<FlushResult>(cancellationToken);
        }

        if (Commit() && !_readerCompleted)
        {
            _readable = true;
            SignalReader(); // an inline reader may consume (or complete) right here
        }

        if (_readerCompleted)
        {
            DiscardForCompletedReader();
        }
        else if (!_flushCancelRequested && _settings.PauseWriterThreshold > 0 && _unconsumed >= _settings.PauseWriterThreshold)
        {
            _flushPending = true;
            if (cancellationToken.CanBeCanceled)
            {
                Rare.FlushRegistration = cancellationToken.UnsafeRegister(s_flushTokenCanceled, this);
            }

            return new ValueTask<FlushResult>(Writer, _flushVersion);
        }

        return new ValueTask<FlushResult>(TakeFlushResult());
    }

    internal void CancelPendingFlush()
    {
        if (!_settings.Worker.IsCurrentThread)
        {
            _settings.Worker.Post(static state => ((WorkerPipe)state!).CancelPendingFlush(), this);
            return;
        }

        _flushCancelRequested = true;
        SignalWriter();
    }

    internal void CompleteWriter(Exception? exception)
    {
        CheckOwner("PipeWriter.Complete");
        if (_writerCompleted)
        {
            return;
        }

        bool newBytes = Commit(); // bytes advanced but not flushed still reach the reader, before the end
        _writerCompleted = true;
        if (exception is not null)
        {
            var rare = Rare;
            rare.WriterError = exception;

            // A reader that already examined every byte (it waits for more, or holds no read) gets the error next;
            // one holding a read result decides it by what its AdvanceTo examines.
            rare.WriterErrorDue = !newBytes && !_readable && !_readingActive;
        }
        if (_readerCompleted)
        {
            DiscardForCompletedReader();
            return;
        }

        _readable = true;
        SignalReader();
    }

    /// <summary>The pending flush's ValueTask again, for a transport that keeps no copy of it while it waits.</summary>
    internal ValueTask<FlushResult> PendingFlush => new(Writer, _flushVersion);

    internal ValueTaskSourceStatus GetFlushStatus(short token)
    {
        CheckFlushToken(token);
        if (!_flushDone)
        {
            return ValueTaskSourceStatus.Pending;
        }

        return _flushTokenCanceled ? ValueTaskSourceStatus.Canceled
            : _readerCompleted && _rare?.ReaderError is not null ? ValueTaskSourceStatus.Faulted
            : ValueTaskSourceStatus.Succeeded;
    }

    internal void OnFlushCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
    {
        CheckOwner("awaiting PipeWriter.FlushAsync");
        CheckFlushToken(token);
        _flushContinuation.Set(continuation, state, flags);
        if (_flushDone)
        {
            _settings.Worker.Post(s_runFlushContinuation, this);
        }
    }

    internal FlushResult GetFlushResult(short token)
    {
        CheckFlushToken(token);
        if (!_flushDone)
        {
            throw new InvalidOperationException("The flush has not completed yet; await the ValueTask FlushAsync returned.");
        }

        _flushPending = false;
        _flushDone = false;
        _flushVersion++;
        var cancellationToken = _rare is { } rare ? rare.EndFlush() : default;
        if (_flushTokenCanceled)
        {
            _flushTokenCanceled = false;
            throw new OperationCanceledException(cancellationToken);
        }

        return TakeFlushResult();
    }

    /// <summary>Completes the pending flush, if any: the reader caught up or completed, or the flush was cancelled.</summary>
    private void SignalWriter()
    {
        if (!_flushPending || _flushDone)
        {
            return;
        }

        _flushDone = true;
        if (_flushContinuation.IsSet)
        {
            _settings.Worker.Post(s_runFlushContinuation, this);
        }
    }

    private void OnFlushTokenCanceled()
    {
        if (_flushPending && !_flushDone && _rare is { } rare && rare.FlushRegistration.Token.IsCancellationRequested)
        {
            _flushTokenCanceled = true;
            SignalWriter();
        }
    }

    private FlushResult TakeFlushResult()
    {
        bool canceled = _flushCancelRequested;
        _flushCancelRequested = false;
        if (_readerCompleted && _rare?.ReaderError is { } error)
        {
            ExceptionDispatchInfo.Throw(error);
        }

        return new FlushResult(canceled, _readerCompleted);
    }

    private void CheckFlushToken(short token)
    {
        if (token != _flushVersion || !_flushPending)
        {
            throw new InvalidOperationException("This ValueTask from PipeWriter.FlushAsync was already awaited; await each one once.");
        }
    }

    private static void ThrowWriterCompleted() =>
        throw new InvalidOperationException("Writing is not allowed after the writer was completed.");

    private void ResetWriter()
    {
        _rare?.ResetWriter();
        _flushContinuation = default;
        _flushPending = false;
        _flushDone = false;
        _writerCompleted = false;
        _flushCancelRequested = false;
        _flushTokenCanceled = false;
        _flushVersion++;
    }
}
