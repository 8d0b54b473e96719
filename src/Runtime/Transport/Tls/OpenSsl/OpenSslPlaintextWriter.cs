using System.Buffers;
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
    private const int MinimumBufferSize = 16 * 1024;
    private const int MaxRecord = 16 * 1024;

    // Ciphertext is flushed at least this often, so a large write waits for the client instead of piling up in memory.
    private const int FlushEvery = 64 * 1024;

    private byte[]? _buffer;
    private int _buffered;
    private bool _flushing;
    private bool _cancelNextFlush;
    private bool _completed;
    private Task? _completing;

    /// <summary>Flushes that arrived off the worker and were posted back to it.</summary>
    public long HopsToWorker { get; private set; }

    public override bool CanGetUnflushedBytes => true;

    public override long UnflushedBytes => _buffered;

    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        Reserve(sizeHint);
        return _buffer.AsMemory(_buffered);
    }

    public override Span<byte> GetSpan(int sizeHint = 0)
    {
        Reserve(sizeHint);
        return _buffer.AsSpan(_buffered);
    }

    public override void Advance(int bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        if (_buffer is null || bytes > _buffer.Length - _buffered)
        {
            throw new InvalidOperationException($"Advance({bytes}) goes past the memory GetMemory returned; advance by what was written, at most.");
        }

        _buffered += bytes;
    }

    private void Reserve(int sizeHint)
    {
        if (_completed)
        {
            throw new InvalidOperationException("Writing is not allowed after the TLS connection's output was completed.");
        }

        int needed = Math.Max(sizeHint, 1);
        if (_buffer is null)
        {
            _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(needed, MinimumBufferSize));
        }
        else if (_buffer.Length - _buffered < needed)
        {
            var larger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _buffered + needed));
            _buffer.AsSpan(0, _buffered).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        if (!worker.IsCurrentThread)
        {
            return FlushAfterHopAsync(cancellationToken);
        }

        if (_buffered == 0 && !_readerOutputWaiting)
        {
            bool canceled = _cancelNextFlush;
            _cancelNextFlush = false;
            return new ValueTask<FlushResult>(new FlushResult(canceled, isCompleted: false));
        }

        if (_readerFlush is { IsCompleted: false } readerFlush)
        {
            return FlushAfterReaderAsync(readerFlush, cancellationToken);
        }

        if (_buffered > FlushEvery)
        {
            return FlushLargeAsync(cancellationToken);
        }

        _flushing = true;
        ValueTask<FlushResult> flush;
        try
        {
            Encrypt(0, _buffered);
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
            session.Write(_buffer.AsSpan(at, Math.Min(MaxRecord, end - at)));
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
            for (int at = 0; at < _buffered; at += FlushEvery)
            {
                Encrypt(at, Math.Min(_buffered, at + FlushEvery));
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
        _buffered = 0;
        if (_buffer is { } buffer)
        {
            _buffer = null;
            ArrayPool<byte>.Shared.Return(buffer);
        }

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
        if (_completed)
        {
            if (_completing is { } completing)
            {
                await completing.ConfigureAwait(true);
            }

            return;
        }

        _completed = true;
        try
        {
            if (exception is null && _buffered > 0 && !_flushing)
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
