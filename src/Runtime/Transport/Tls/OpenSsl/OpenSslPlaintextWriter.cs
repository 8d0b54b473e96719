using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using Fastsock.Engine;

namespace Fastsock.Transport.Tls.OpenSsl;

/// <summary>
/// The plaintext writer of a connection under the OpenSSL engine: what the handler writes between two flushes is
/// buffered, and the flush SSL_writes it in records of up to 16 KiB straight into the connection's output memory and
/// flushes that (its backpressure passes through). Same contract as the SslStream engine's
/// <see cref="TlsPlaintextWriter"/>: the buffer is rented at the first write after a flush and returned by the flush
/// that sends it (an idle connection holds none), a flush completes on the worker, a flush called off the worker is
/// posted to it, and a synchronous Complete still sends what was left.
/// </summary>
internal sealed partial class OpenSslPlaintextWriter(OpenSslSession session, PipeWriter ciphertext, Worker worker) : PipeWriter
{
    private const int MaxRecord = 16 * 1024;

    // Ciphertext is flushed at least this often, so a large write waits for the client instead of piling up in memory.
    private const int FlushEvery = 64 * 1024;

    private PlaintextWriteBuffer _buffer;
    private bool _flushing;
    private bool _cancelNextFlush;
    private Task? _completing;

    /// <summary>Flushes that arrived off the worker and were posted back to it.</summary>
    public long HopsToWorker { get; private set; }

    public override bool CanGetUnflushedBytes => true;

    public override long UnflushedBytes => _buffer.Count;

    public override Memory<byte> GetMemory(int sizeHint = 0) => _buffer.GetMemory(sizeHint);

    public override Span<byte> GetSpan(int sizeHint = 0) => _buffer.GetSpan(sizeHint);

    public override void Advance(int bytes) => _buffer.Advance(bytes);

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        if (!worker.IsCurrentThread)
        {
            return FlushAfterHopAsync(cancellationToken);
        }

        if (_buffer.Count == 0 && !_readerOutputWaiting)
        {
            bool canceled = _cancelNextFlush;
            _cancelNextFlush = false;
            return new ValueTask<FlushResult>(new FlushResult(canceled, isCompleted: false));
        }

        if (_readerFlush is { IsCompleted: false } readerFlush)
        {
            return FlushAfterReaderAsync(readerFlush, cancellationToken);
        }

        if (_buffer.Count > FlushEvery)
        {
            return FlushLargeAsync(cancellationToken);
        }

        _flushing = true;
        ValueTask<FlushResult> flush;
        try
        {
            Encrypt(0, _buffer.Count);
            _readerOutputWaiting = false;
            flush = ciphertext.FlushAsync(cancellationToken);
        }
        catch
        {
            Release();
            throw;
        }

        if (flush.IsCompletedSuccessfully)
        {
            var sent = flush.Result;
            return new ValueTask<FlushResult>(Release(sent));
        }

        return AwaitFlushAsync(flush);
    }

    private void Encrypt(int start, int end)
    {
        for (int at = start; at < end; at += MaxRecord)
        {
            session.Write(_buffer.Written.Span.Slice(at, Math.Min(MaxRecord, end - at)));
            session.DrainTo(ciphertext);
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<FlushResult> AwaitFlushAsync(ValueTask<FlushResult> flush)
    {
        FlushResult sent = default;
        try
        {
            sent = await flush.ConfigureAwait(false);
        }
        finally
        {
            await new WorkerHop(worker);
            sent = Release(sent);
        }

        return await AfterReaderOutputAsync(sent).ConfigureAwait(false);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<FlushResult> FlushLargeAsync(CancellationToken cancellationToken)
    {
        _flushing = true;
        FlushResult sent = default;
        try
        {
            for (int at = 0; at < _buffer.Count; at += FlushEvery)
            {
                Encrypt(at, Math.Min(_buffer.Count, at + FlushEvery));
                _readerOutputWaiting = false;
                sent = await ciphertext.FlushAsync(cancellationToken).ConfigureAwait(false);
                await new WorkerHop(worker);
                if (sent.IsCompleted || sent.IsCanceled)
                {
                    break;
                }
            }
        }
        finally
        {
            await new WorkerHop(worker);
            sent = Release(sent);
        }

        return await AfterReaderOutputAsync(sent).ConfigureAwait(false);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<FlushResult> FlushAfterHopAsync(CancellationToken cancellationToken)
    {
        HopsToWorker++;
        await new WorkerHop(worker);
        return await FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private FlushResult Release(FlushResult sent = default)
    {
        bool canceled = _cancelNextFlush || sent.IsCanceled;
        _cancelNextFlush = false;
        _flushing = false;
        _buffer.Release();

        return new FlushResult(canceled, sent.IsCompleted);
    }

    /// <summary>A flush waiting for the connection's pipe is released by cancelling that wait; otherwise the next flush reports it.</summary>
    public override void CancelPendingFlush()
    {
        _cancelNextFlush = true;
        if (_flushing)
        {
            ciphertext.CancelPendingFlush();
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public override async ValueTask CompleteAsync(Exception? exception = null)
    {
        if (!_buffer.TryComplete())
        {
            if (_completing is { } completing)
            {
                await completing.ConfigureAwait(true);
            }

            return;
        }

        try
        {
            if (exception is null && _buffer.Count > 0 && !_flushing)
            {
                await FlushAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            if (!_flushing)
            {
                Release();
            }
        }
    }

    /// <summary>What is left unflushed still goes out, asynchronously: a blocking write would stall the worker.</summary>
    public override void Complete(Exception? exception = null)
    {
        var completing = ObserveAsync(CompleteAsync(exception));
        if (!completing.IsCompleted)
        {
            _completing = completing;
        }
    }

    private static async Task ObserveAsync(ValueTask completion)
    {
        try
        {
            await completion.ConfigureAwait(true);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            // The peer is gone: nothing left to tell it.
        }
    }
}
