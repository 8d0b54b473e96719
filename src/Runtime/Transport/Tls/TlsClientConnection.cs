using System.IO.Pipelines;
using System.Net.Security;
using System.Security.Cryptography;
using Fastsock.Engine;

namespace Fastsock.Transport.Tls;

/// <summary>
/// An outbound connection after its TLS handshake: its pipes carry plaintext through an <see cref="SslStream"/> over
/// the inner connection's pipes, and resume on the connection's worker. Like any outbound connection it lives until
/// the caller has completed both pipe ends. Completing the output sends a close_notify; once both are complete the
/// stream is let go and the inner connection's ends are completed, which closes the socket. A record the server got
/// wrong fails the plaintext read with an <see cref="IOException"/>; the close then sends no close_notify (SslStream
/// refuses to after it), still closes the socket, and counts the record in <see cref="TlsClientStats"/>.
/// </summary>
internal sealed class TlsClientConnection : SslStreamConnectionBase
{
    private readonly ConnectionPipeStream _ciphertext;
    private readonly TlsClientStats _stats;
    private bool _inputCompleted;
    private bool _outputCompleted;
    private Task? _outputClosed;

    public TlsClientConnection(Connection inner, SslStream ssl, ConnectionPipeStream ciphertext, Worker worker, TlsClientStats stats)
        : base(inner, ssl, worker)
    {
        _ciphertext = ciphertext;
        _stats = stats;
        Input = new EndingReader(PlaintextReader, this);
        Output = new EndingWriter(PlaintextWriter, this);
    }

    public override PipeReader Input { get; }

    public override PipeWriter Output { get; }

    /// <summary>Reads SslStream made of the ciphertext so far (what handing it one record per read costs shows here).</summary>
    internal long CiphertextReads => _ciphertext.Reads;

    /// <summary>
    /// Whether a plaintext read failed because of a record from the server: refused while the ciphertext under it had
    /// neither ended nor failed, or met the ciphertext's end inside a record.
    /// </summary>
    public TlsClientRecordFailure RecordFailure =>
        !PlaintextReader.ReadFailed ? TlsClientRecordFailure.None
            : !_ciphertext.InputInterrupted ? TlsClientRecordFailure.Rejected
            : _ciphertext.InputEnded ? TlsClientRecordFailure.Truncated
            : TlsClientRecordFailure.None;

    private void EndCompleted(bool input, Exception? error = null)
    {
        if (input)
        {
            _inputCompleted = true;
        }
        else
        {
            _outputCompleted = true;
            _outputClosed = CloseOutputAsync(error);
        }

        if (_inputCompleted && _outputCompleted)
        {
            _ = CloseAsync();
        }
    }

    /// <summary>
    /// The end of what we send: the rest of the plaintext, then a close_notify, so the server can tell the end from a
    /// cut (and, in TLS 1.3, answer it while we still read: a half-close). A server already gone only makes this fail quietly.
    /// </summary>
    private async Task CloseOutputAsync(Exception? error)
    {
        try
        {
            // Asynchronously: a plain Complete would flush what is left with a blocking write, which a worker refuses.
            await PlaintextWriter.CompleteAsync(error).ConfigureAwait(true);
            if (error is null && RecordFailure == TlsClientRecordFailure.None)
            {
                await Ssl.ShutdownAsync().ConfigureAwait(true);
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException or NotSupportedException)
        {
            // Reset, aborted or mid-record: nothing left to tell the server.
        }
        catch (CryptographicException)
        {
            // SslStream will not shut down a session in error (OpenSSL's "shutdown while in init"), should one get here
            // unseen by RecordFailure: the connection just closes, with no close_notify.
        }
    }

    /// <summary>Both ends are complete: once the close_notify is out, let the stream go and close the inner connection.</summary>
    /// <remarks>Nobody awaits this task: whatever the stream throws, the socket is closed and the connection counted.</remarks>
    private async Task CloseAsync()
    {
        try
        {
            await _outputClosed!.ConfigureAwait(true);
            await Ssl.DisposeAsync().ConfigureAwait(true);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or CryptographicException)
        {
            // As above.
        }
        finally
        {
            await new WorkerHop(Worker);
            Inner.Transport.Input.Complete();
            Inner.Transport.Output.Complete();
            _stats.Closed(Inner.WorkerIndex, _ciphertext.HopsToWorker, RecordFailure);
        }
    }

    /// <summary>The plaintext reader; completing it is half of closing the connection.</summary>
    private sealed class EndingReader(PipeReader inner, TlsClientConnection owner) : PipeReader
    {
        private bool _completed;

        public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default) => inner.ReadAsync(cancellationToken);

        public override bool TryRead(out ReadResult result) => inner.TryRead(out result);

        public override void AdvanceTo(SequencePosition consumed) => inner.AdvanceTo(consumed);

        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined) => inner.AdvanceTo(consumed, examined);

        public override void CancelPendingRead() => inner.CancelPendingRead();

        public override void Complete(Exception? exception = null)
        {
            if (_completed)
            {
                return;
            }

            _completed = true;
            inner.Complete(exception);
            owner.EndCompleted(input: true);
        }
    }

    /// <summary>The plaintext writer; completing it is the other half of closing the connection.</summary>
    private sealed class EndingWriter(PipeWriter inner, TlsClientConnection owner) : PipeWriter
    {
        private bool _completed;

        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

        public override long UnflushedBytes => inner.UnflushedBytes;

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);

        public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default) => inner.WriteAsync(source, cancellationToken);

        public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);

        public override void Advance(int bytes) => inner.Advance(bytes);

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null)
        {
            if (_completed)
            {
                return;
            }

            // The inner writer is completed by the close, asynchronously (see CloseAsync).
            _completed = true;
            owner.EndCompleted(input: false, exception);
        }
    }
}
