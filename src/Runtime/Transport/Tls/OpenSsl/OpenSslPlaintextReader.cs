using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using Fastsock.Engine;

namespace Fastsock.Transport.Tls.OpenSsl;

/// <summary>
/// The plaintext reader of a connection under the OpenSSL engine. One loop per connection, on its worker, reads
/// ciphertext from the connection's input into the read BIO, SSL_reads whole records into blocks of the worker's
/// pool and hands them to the handler through a pipe whose reader continues inline (so on the worker, in the loop's
/// flush). A close_notify or the end of the input completes the pipe; a bad record sends OpenSSL's alert, then fails
/// the read after the last good byte (see the Failure part). The pipe pauses the loop
/// when the handler stops reading (backpressure). Nothing is rented while the connection is idle: a block is taken
/// only when a whole record waits, and the pipe gives its blocks back once the handler has consumed them.
/// </summary>
internal sealed partial class OpenSslPlaintextReader : PipeReader
{
    private const int PauseAt = 64 * 1024;

    private readonly OpenSslSession _session;
    private readonly IDuplexPipe _ciphertext;
    private readonly OpenSslPlaintextWriter _writer;
    private readonly Worker _worker;
    private readonly Pipe _plaintext;
    private Task _loop = Task.CompletedTask;
    private bool _stopping;
    private bool _waitingForCiphertext;
    private bool _recordPassedHeldOutput;

    public OpenSslPlaintextReader(OpenSslSession session, IDuplexPipe ciphertext, OpenSslPlaintextWriter writer, Worker worker)
    {
        _session = session;
        _ciphertext = ciphertext;
        _writer = writer;
        _worker = worker;
        _plaintext = new Pipe(new PipeOptions(
            pool: worker.Pool,
            readerScheduler: PipeScheduler.Inline,
            writerScheduler: worker.Scheduler,
            pauseWriterThreshold: PauseAt,
            resumeWriterThreshold: PauseAt / 2,
            minimumSegmentSize: Memory.CoreMemoryPool.BlockSize,
            useSynchronizationContext: false));
    }

    /// <summary>Reads that arrived off the worker and were posted back to it.</summary>
    public long HopsToWorker { get; private set; }

    /// <summary>Starts the loop; records that came with the handshake's last flight are decrypted at once.</summary>
    public void Start() => _loop = DecryptLoopAsync();

    /// <summary>Ends the loop (after the handler), so the session can be shut down and freed under no one.</summary>
    public Task StopAsync()
    {
        _stopping = true;
        _plaintext.Writer.CancelPendingFlush();
        if (_waitingForCiphertext)
        {
            _ciphertext.Input.CancelPendingRead();
        }

        return _loop;
    }

    private async Task DecryptLoopAsync()
    {
        var plaintext = _plaintext.Writer;
        var input = _ciphertext.Input;
        try
        {
            bool ended = false;
            while (true)
            {
                bool produced = false;
                bool closeNotify = false;
                ExceptionDispatchInfo? badRecord = null;
                nuint held = _session.PendingOutput;
                while (_session.CanRead)
                {
                    int count;
                    try
                    {
                        count = _session.Read(plaintext.GetSpan());
                    }
                    catch (Exception ex) when (produced)
                    {
                        // The good records before it were read in this pass: they reach the handler first (the flush
                        // below), and the failure after them. Completing the pipe with it now would drop them unread.
                        badRecord = ExceptionDispatchInfo.Capture(ex);
                        break;
                    }

                    if (count > 0)
                    {
                        plaintext.Advance(count);
                        produced = true;
                    }
                    else
                    {
                        closeNotify = count < 0;
                        break;
                    }
                }

                // Reading may have written (a KeyUpdate's answer, an alert). What was there before is held for the
                // handler's first answer (the session tickets, see OpenSslServerLayer): it goes now only when a second
                // record came and the handler still had not answered the first, so a handler that only reads does
                // not keep the client from resuming.
                bool recordPassedHeldOutput = held > 0 && produced;
                bool heldTooLong = recordPassedHeldOutput && _recordPassedHeldOutput;
                _recordPassedHeldOutput |= recordPassedHeldOutput;
                if (_session.PendingOutput > held || heldTooLong)
                {
                    await _writer.SendFromReaderAsync().ConfigureAwait(false);
                    await new WorkerHop(_worker);
                    if (_stopping)
                    {
                        return;
                    }
                }

                if (produced)
                {
                    var flushed = await plaintext.FlushAsync().ConfigureAwait(false);
                    await new WorkerHop(_worker);
                    if (flushed.IsCompleted || _stopping)
                    {
                        return;
                    }
                }

                // To the catch below: the alert, then the handler's next read fails.
                badRecord?.Throw();

                if (closeNotify || ended)
                {
                    // A close_notify, or the end of the input (no close_notify: the client may have cut the data short,
                    // which HTTP framing notices; SslStream's reader also ends quietly here).
                    await plaintext.CompleteAsync().ConfigureAwait(false);
                    return;
                }

                if (_stopping)
                {
                    // Stopped from inside the flush above (the handler returned inline): no read to wait for.
                    return;
                }

                _waitingForCiphertext = true;
                var read = await input.ReadAsync().ConfigureAwait(false);
                await new WorkerHop(_worker);
                _waitingForCiphertext = false;
                if (_stopping)
                {
                    input.AdvanceTo(read.Buffer.Start);
                    return;
                }

                if (read.IsCanceled)
                {
                    // A graceful stop or a deadline on the connection: the handler's read ends as cancelled, not failed.
                    input.AdvanceTo(read.Buffer.Start);
                    _plaintext.Reader.CancelPendingRead();
                    continue;
                }

                _session.Feed(read.Buffer);
                input.AdvanceTo(read.Buffer.End);
                ended = read.IsCompleted;
            }
        }
        catch (Exception ex)
        {
            if (!_stopping)
            {
                await SendAlertAsync().ConfigureAwait(false);
                await FailAfterUnreadAsync(ex).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// A rejected record leaves OpenSSL's fatal alert (bad_record_mac, decode_error…) in the write BIO: it goes to the
    /// client now, before the handler learns of the failure and the connection closes, as SslStream and HAProxy send it.
    /// </summary>
    private async ValueTask SendAlertAsync()
    {
        try
        {
            if (_session.HasOutput)
            {
                await _writer.SendFromReaderAsync().ConfigureAwait(false);
                await new WorkerHop(_worker);
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            // The client is gone or the output closed: the alert has no one to reach.
        }
    }

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        if (!_worker.IsCurrentThread)
        {
            return ReadAfterHopAsync(cancellationToken);
        }

        if (_failure is not null)
        {
            return ReadAfterFailure(cancellationToken);
        }

        var read = _plaintext.Reader.ReadAsync(cancellationToken);
        if (!read.IsCompleted)
        {
            _pendingRead = read;
        }

        return read;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<ReadResult> ReadAfterHopAsync(CancellationToken cancellationToken)
    {
        HopsToWorker++;
        await new WorkerHop(_worker);
        return await ReadAsync(cancellationToken).ConfigureAwait(false);
    }

    public override bool TryRead(out ReadResult result) =>
        _failure is null ? _plaintext.Reader.TryRead(out result) : TryReadAfterFailure(out result);

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        _pendingRead = default;
        if (_failure is not null)
        {
            NoteExamined(examined);
        }

        _plaintext.Reader.AdvanceTo(consumed, examined);
    }

    public override void CancelPendingRead() => _plaintext.Reader.CancelPendingRead();

    public override void Complete(Exception? exception = null) => _plaintext.Reader.Complete(exception);

    public override ValueTask CompleteAsync(Exception? exception = null) => _plaintext.Reader.CompleteAsync(exception);
}
