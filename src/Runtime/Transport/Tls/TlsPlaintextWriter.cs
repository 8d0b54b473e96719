using System.Buffers;
using System.IO.Pipelines;
using System.Net.Security;
using System.Runtime.CompilerServices;
using Fastsock.Engine;

namespace Fastsock.Transport.Tls;

/// <summary>
/// The plaintext writer of a TLS connection: what the handler writes between two flushes goes to SslStream as one
/// WriteAsync (one TLS record up to 16 KiB), and the flush completes on the connection's worker.
/// </summary>
/// <remarks>
/// It replaces StreamPipeWriter, which ran every flush through its own async method and then called SslStream.FlushAsync:
/// a second flush of the connection's pipe with nothing new in it, since ConnectionPipeStream.WriteAsync flushes what
/// SslStream writes. The buffer is rented at the first write after a flush and returned by the flush that sends it, so
/// an idle keep-alive connection holds none (as with StreamPipeWriter, whose segments went back on every flush).
/// </remarks>
internal sealed class TlsPlaintextWriter(SslStream ssl, PipeWriter ciphertext, Worker worker) : PipeWriter
{
    private const int MinimumBufferSize = 16 * 1024;

    private byte[]? _buffer;
    private int _buffered;
    private bool _flushing;
    private bool _cancelNextFlush;
    private bool _completed;
    private Task? _completing;

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
            // What was written since the last flush stays contiguous: it is one SslStream write.
            var larger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _buffered + needed));
            _buffer.AsSpan(0, _buffered).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        if (_buffered == 0)
        {
            bool canceled = _cancelNextFlush;
            _cancelNextFlush = false;
            return new ValueTask<FlushResult>(new FlushResult(canceled, isCompleted: false));
        }

        _flushing = true;
        ValueTask write;
        try
        {
            write = ssl.WriteAsync(_buffer.AsMemory(0, _buffered), cancellationToken);
        }
        catch
        {
            Release();
            throw;
        }

        if (write.IsCompletedSuccessfully && worker.IsCurrentThread)
        {
            write.GetAwaiter().GetResult();
            return new ValueTask<FlushResult>(Release());
        }

        return AwaitWriteAsync(write);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<FlushResult> AwaitWriteAsync(ValueTask write)
    {
        FlushResult result;
        try
        {
            await write.ConfigureAwait(false);
        }
        finally
        {
            // The handler's pipes resume on its worker, and the buffer is the worker's until then.
            await new WorkerHop(worker);
            result = Release();
        }

        return result;
    }

    private FlushResult Release()
    {
        bool canceled = _cancelNextFlush;
        _cancelNextFlush = false;
        _flushing = false;
        _buffered = 0;
        if (_buffer is { } buffer)
        {
            _buffer = null;
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return new FlushResult(canceled, isCompleted: false);
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

    public override async ValueTask CompleteAsync(Exception? exception = null)
    {
        if (_completed)
        {
            // A synchronous Complete may still be sending what was left: whoever completes next (the layer, before its
            // close_notify) waits for that write rather than racing it.
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

    /// <summary>
    /// What is left unflushed still goes out, asynchronously: a blocking write would stall the worker (StreamPipeWriter's
    /// Complete tried one, which ConnectionPipeStream refuses).
    /// </summary>
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
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The peer is gone: nothing left to tell it.
        }
    }
}
