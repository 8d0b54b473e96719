using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using Fastsock.Engine;

namespace Fastsock.Transport.Tls;

/// <summary>
/// The ciphertext side of a TLS layer: a <see cref="Stream"/> over a connection's own pipes for <see cref="System.Net.Security.SslStream"/>.
/// Reads and writes complete where the pipes complete, on the connection's worker, so the TLS record work that follows
/// them runs there too. The pipes stay owned by the connection: disposing this stream completes nothing.
/// </summary>
/// <remarks>
/// SslStream awaits its own Task-returning methods with ConfigureAwait(false). A Task continuation is not run inline
/// on a thread whose SynchronizationContext is not the default one (the worker's is not): it is queued to the thread
/// pool, and SslStream then goes on there. So a read or flush that completes later is signalled with no context set
/// for the span of the signal: SslStream's continuations then run inline on the worker. A call that still arrives off
/// the worker is posted back to it (<see cref="HopsToWorker"/> counts them) because the pipes may only be used there.
/// </remarks>
internal sealed class ConnectionPipeStream : Stream, IValueTaskSource<int>, IValueTaskSource
{
    private readonly IDuplexPipe _pipe;
    private readonly Worker _worker;
    private readonly Action _onRead;
    private readonly Action _onFlush;
    private ManualResetValueTaskSourceCore<int> _read;
    private ManualResetValueTaskSourceCore<bool> _write;
    private ValueTaskAwaiter<ReadResult> _pendingRead;
    private ValueTaskAwaiter<FlushResult> _pendingFlush;
    private Memory<byte> _readBuffer;
    private TlsRecordCursor _record;

    public ConnectionPipeStream(IDuplexPipe pipe, Worker worker)
    {
        _pipe = pipe;
        _worker = worker;
        _onRead = OnReadCompleted;
        _onFlush = OnFlushCompleted;
    }

    /// <summary>Calls that arrived off the worker and were posted back to it.</summary>
    public long HopsToWorker { get; private set; }

    /// <summary>
    /// Whether a read hands out at most one TLS record (or the rest of one), however many the connection's input holds:
    /// then SslStream returns the plaintext of each good record before it meets a bad one, which would otherwise make it
    /// throw away what it had decrypted in the same read (see <see cref="TlsRecordCursor"/>).
    /// </summary>
    public bool StopsAtRecordEnds { get; init; }

    /// <summary>Reads SslStream made of this stream (zero-byte ones included): what <see cref="StopsAtRecordEnds"/> costs shows here.</summary>
    public long Reads { get; private set; }

    /// <summary>
    /// The handler's plaintext reader over the SslStream, once the handshake is done: a read of the connection cancelled
    /// under the layer (a graceful stop's <c>RequestShutdown</c>) is passed on to it, so the handler sees
    /// <see cref="ReadResult.IsCanceled"/> rather than an error.
    /// </summary>
    public PipeReader? Plaintext { get; set; }

    /// <summary>
    /// Reads the server's first flight while set (the handshake only): in what this stream writes on a server, in what
    /// it reads on a client. Null afterwards, so records pay nothing.
    /// </summary>
    public ResumptionWitness? Witness { get; set; }

    /// <summary>
    /// The connection's input ended, failed or was cancelled under this stream: a plaintext read that fails after that
    /// is the transport's end, not a record the peer got wrong.
    /// </summary>
    public bool InputInterrupted { get; private set; }

    /// <summary>
    /// The connection's input ended (the peer's FIN) under this stream, as opposed to failing or being cancelled: a
    /// plaintext read that fails after it met the end inside a record (a truncated record).
    /// </summary>
    public bool InputEnded { get; private set; }

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (!_worker.IsCurrentThread)
        {
            return ReadAfterHopAsync(buffer, cancellationToken);
        }

        Reads++;
        return ReadOnWorker(_pipe.Input.ReadAsync(cancellationToken), buffer);
    }

    private ValueTask<int> ReadOnWorker(ValueTask<ReadResult> read, Memory<byte> buffer)
    {
        var pending = read.GetAwaiter();
        if (pending.IsCompleted)
        {
            ReadResult result;
            try
            {
                result = pending.GetResult();
            }
            catch
            {
                InputInterrupted = true;
                throw;
            }

            return new ValueTask<int>(CopyOut(result, buffer));
        }

        _read.Reset();
        _readBuffer = buffer;
        _pendingRead = pending;
        _pendingRead.UnsafeOnCompleted(_onRead);
        return new ValueTask<int>(this, _read.Version);
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (!_worker.IsCurrentThread)
        {
            return WriteAfterHopAsync(buffer, cancellationToken);
        }

        if (Witness is { WatchesReads: false } witness)
        {
            witness.Observe(buffer.Span);
        }

        return AwaitFlush(_pipe.Output.WriteAsync(buffer, cancellationToken));
    }

    public override Task FlushAsync(CancellationToken cancellationToken)
    {
        if (!_worker.IsCurrentThread)
        {
            return FlushAfterHopAsync(cancellationToken);
        }

        var flush = AwaitFlush(_pipe.Output.FlushAsync(cancellationToken));
        return flush.IsCompletedSuccessfully ? Task.CompletedTask : flush.AsTask();
    }

    private ValueTask AwaitFlush(ValueTask<FlushResult> flush)
    {
        var pending = flush.GetAwaiter();
        if (pending.IsCompleted)
        {
            pending.GetResult();
            return ValueTask.CompletedTask;
        }

        _write.Reset();
        _pendingFlush = pending;
        _pendingFlush.UnsafeOnCompleted(_onFlush);
        return new ValueTask(this, _write.Version);
    }

    private void OnReadCompleted()
    {
        var previous = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(null);
        try
        {
            int count;
            try
            {
                count = CopyOut(_pendingRead.GetResult(), _readBuffer);
            }
            catch (Exception ex)
            {
                InputInterrupted = true;
                _readBuffer = default;
                _read.SetException(ex);
                return;
            }

            _readBuffer = default;
            _read.SetResult(count);
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(previous);
        }
    }

    private void OnFlushCompleted()
    {
        var previous = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(null);
        try
        {
            try
            {
                _pendingFlush.GetResult();
            }
            catch (Exception ex)
            {
                _write.SetException(ex);
                return;
            }

            _write.SetResult(true);
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(previous);
        }
    }

    private int CopyOut(ReadResult result, Memory<byte> buffer)
    {
        var data = result.Buffer;
        if (result.IsCanceled)
        {
            InputInterrupted = true;
            _pipe.Input.AdvanceTo(data.Start);

            // SslStream turns an OperationCanceledException from its inner stream into an IOException unless the token
            // it was given is cancelled; the plaintext reader's token is that token, and the reader turns exactly this
            // into a cancelled ReadResult.
            Plaintext?.CancelPendingRead();
            throw new OperationCanceledException("The connection's read was cancelled (shutdown or deadline).");
        }

        // A zero-byte read (SslStream waits for data that way) meets the end only when nothing is left to read.
        if (data.IsEmpty && result.IsCompleted)
        {
            InputInterrupted = true;
            InputEnded = true;
        }

        int count = StopsAtRecordEnds ? _record.Take(data, buffer.Length) : (int)Math.Min(data.Length, buffer.Length);

        data.Slice(0, count).CopyTo(buffer.Span);
        _pipe.Input.AdvanceTo(data.GetPosition(count));
        if (Witness is { WatchesReads: true } witness)
        {
            witness.Observe(buffer.Span[..count]);
        }

        return count;
    }

    private async ValueTask<int> ReadAfterHopAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        await HopToWorker();
        return await ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask WriteAfterHopAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        await HopToWorker();
        await WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
    }

    private async Task FlushAfterHopAsync(CancellationToken cancellationToken)
    {
        await HopToWorker();
        await FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private WorkerHop HopToWorker()
    {
        HopsToWorker++;
        return new WorkerHop(_worker);
    }

    int IValueTaskSource<int>.GetResult(short token) => _read.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<int>.GetStatus(short token) => _read.GetStatus(token);

    void IValueTaskSource<int>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _read.OnCompleted(continuation, state, token, flags);

    void IValueTaskSource.GetResult(short token) => _write.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _write.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _write.OnCompleted(continuation, state, token, flags);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    // SslStream is only driven asynchronously here; a blocking call would stall the worker's whole loop.
    public override void Flush() => throw new NotSupportedException("Blocking I/O on a worker is not supported; use FlushAsync.");

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("Blocking I/O on a worker is not supported; use ReadAsync.");

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("Blocking I/O on a worker is not supported; use WriteAsync.");

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
