using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using Fastsock.Engine;

namespace Fastsock.Transport.Tls;

/// <summary>
/// An outbound connection after its TLS handshake: its pipes carry plaintext through an <see cref="SslStream"/> over
/// the inner connection's pipes, and resume on the connection's worker. Like any outbound connection it lives until
/// the caller has completed both pipe ends. Completing the output sends a close_notify; once both are complete the
/// stream is let go and the inner connection's ends are completed, which closes the socket.
/// </summary>
internal sealed class TlsClientConnection : Connection, IDuplexPipe, ITlsConnectionFeature
{
    private readonly Connection _inner;
    private readonly SslStream _ssl;
    private readonly ConnectionPipeStream _ciphertext;
    private readonly Worker _worker;
    private readonly TlsClientStats _stats;
    private readonly PipeWriter _plaintextWriter;
    private bool _inputCompleted;
    private bool _outputCompleted;
    private Task? _outputClosed;

    public TlsClientConnection(Connection inner, SslStream ssl, ConnectionPipeStream ciphertext, Worker worker, TlsClientStats stats)
    {
        _inner = inner;
        _ssl = ssl;
        _ciphertext = ciphertext;
        _worker = worker;
        _stats = stats;
        var reader = new WorkerBoundReader(PipeReader.Create(ssl, new StreamPipeReaderOptions(bufferSize: 16 * 1024, minimumReadSize: 4096, leaveOpen: true)), worker);
        var writer = new WorkerBoundWriter(PipeWriter.Create(ssl, new StreamPipeWriterOptions(minimumBufferSize: 16 * 1024, leaveOpen: true)), worker);
        _plaintextWriter = writer;
        Input = new EndingReader(reader, this);
        Output = new EndingWriter(writer, this);
    }

    public override IDuplexPipe Transport => this;

    public PipeReader Input { get; }

    public PipeWriter Output { get; }

    public override EndPoint? LocalEndPoint => _inner.LocalEndPoint;

    public override EndPoint? RemoteEndPoint => _inner.RemoteEndPoint;

    public override int WorkerIndex => _inner.WorkerIndex;

    public override int WorkerCpu => _inner.WorkerCpu;

    public override int IncomingCpu => _inner.IncomingCpu;

    public override CancellationToken ConnectionClosed => _inner.ConnectionClosed;

    public override bool IsShutdownRequested => _inner.IsShutdownRequested;

    public override CancellationToken InputEnded => _inner.InputEnded;

    public SslProtocols Protocol => _ssl.SslProtocol;

    public SslApplicationProtocol ApplicationProtocol => _ssl.NegotiatedApplicationProtocol;

    public string ServerName => _ssl.TargetHostName;

    public TlsCipherSuite CipherSuite => _ssl.NegotiatedCipherSuite;

    private protected override Worker? DeadlineWorker => _worker;

    public override void Abort() => _inner.Abort();

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
            await _plaintextWriter.CompleteAsync(error).ConfigureAwait(true);
            if (error is null)
            {
                await _ssl.ShutdownAsync().ConfigureAwait(true);
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException or NotSupportedException)
        {
            // Reset, aborted or mid-record: nothing left to tell the server.
        }
    }

    /// <summary>Both ends are complete: once the close_notify is out, let the stream go and close the inner connection.</summary>
    private async Task CloseAsync()
    {
        await _outputClosed!.ConfigureAwait(true);
        try
        {
            await _ssl.DisposeAsync().ConfigureAwait(true);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException)
        {
            // As above.
        }

        await new WorkerHop(_worker);
        _inner.Transport.Input.Complete();
        _inner.Transport.Output.Complete();
        _stats.Closed(_inner.WorkerIndex, _ciphertext.HopsToWorker);
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
