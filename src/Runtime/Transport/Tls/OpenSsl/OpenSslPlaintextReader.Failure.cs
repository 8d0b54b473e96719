using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.ExceptionServices;

namespace Fastsock.Transport.Tls.OpenSsl;

/// <summary>
/// A failed decrypt loop (a bad record, the connection's input failed) after good plaintext: the handler reads every
/// good byte first, and the read after the last of them fails with the loop's exception. A Pipe whose writer completed
/// with an exception throws at the reader's next read whatever it still holds, so a handler busy elsewhere when the
/// bad record came would lose the bytes it had not read yet. The failure is therefore kept aside and the pipe
/// completed cleanly; the reads after it hand out what is left, marked not completed, and then throw. A handler
/// already waiting for more than it has seen has nothing left to read: its read fails at once, as before.
/// <para>
/// Not the same rule as <see cref="Pipes.WorkerPipe"/>'s (a writer's error handed to the reader only after every byte
/// flushed before it, <see cref="Pipes.PipeRareState.WriterErrorDue"/>), and not made redundant by it: that rule
/// covers the connection's ciphertext input, which this loop reads; the plaintext pipe here is System.IO.Pipelines'
/// <see cref="System.IO.Pipelines.Pipe"/> whatever FASTSOCK_WORKER_PIPES says, and throws at once. With this part
/// disabled (the writer always completed with the error), TlsBadRecordTests' busy-handler OpenSSL cases fail under
/// both pipe settings.
/// </para>
/// </summary>
internal sealed partial class OpenSslPlaintextReader
{
    private ExceptionDispatchInfo? _failure;
    // A read that returned pending and was not advanced from since: the handler may be awaiting it. Default (completed)
    // otherwise.
    private ValueTask<ReadResult> _pendingRead;
    private ReadOnlySequence<byte> _leftAfterFailure; // the last buffer handed out after the failure
    private bool _leftHandedOut;
    private bool _leftAllExamined;

    /// <summary>The loop's end on a failure, once the good plaintext before it is flushed.</summary>
    private ValueTask FailAfterUnreadAsync(Exception error)
    {
        if (!_pendingRead.IsCompleted)
        {
            // Awaiting a read: the handler has seen everything the pipe holds and needs more. Nothing unread to lose.
            return _plaintext.Writer.CompleteAsync(error);
        }

        _failure = ExceptionDispatchInfo.Capture(error);
        return _plaintext.Writer.CompleteAsync();
    }

    /// <summary>A read once the pipe is complete and the failure kept aside: it completes at once.</summary>
    private ValueTask<ReadResult> ReadAfterFailure(CancellationToken cancellationToken)
    {
        var read = _plaintext.Reader.ReadAsync(cancellationToken);
        if (!read.IsCompleted)
        {
            return read; // not after a complete writer; kept for safety
        }

        var result = read.Result;
        return Unread(ref result) ? new ValueTask<ReadResult>(result) : ValueTask.FromException<ReadResult>(_failure!.SourceException);
    }

    private bool TryReadAfterFailure(out ReadResult result)
    {
        if (!_plaintext.Reader.TryRead(out result))
        {
            return false;
        }

        if (!Unread(ref result))
        {
            _failure!.Throw();
        }

        return true;
    }

    /// <summary>
    /// True, with <paramref name="result"/> marked not completed, while it holds bytes the handler has not examined yet;
    /// false once there is nothing left for it (the read is then ended, and the caller fails it).
    /// </summary>
    private bool Unread(ref ReadResult result)
    {
        var buffer = result.Buffer;
        if (result.IsCanceled || (!buffer.IsEmpty && !_leftAllExamined))
        {
            _leftAfterFailure = buffer;
            _leftHandedOut = true;
            _leftAllExamined = false;
            result = new ReadResult(buffer, result.IsCanceled, isCompleted: false);
            return true;
        }

        _plaintext.Reader.AdvanceTo(buffer.Start);
        _leftHandedOut = false;
        return false;
    }

    /// <summary>
    /// Whether the handler examined all it was handed after the failure: it then waits for bytes that will never come,
    /// and its next read fails instead of handing the same bytes again.
    /// </summary>
    private void NoteExamined(SequencePosition examined)
    {
        // A buffer handed out before the failure is not the one the positions belong to: its rest is handed again.
        _leftAllExamined = _leftHandedOut && _leftAfterFailure.Slice(examined).IsEmpty;
        _leftHandedOut = false;
        _leftAfterFailure = default;
    }
}
