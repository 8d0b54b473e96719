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
    private PlaintextWriteBuffer _buffer;
    private bool _flushing;
    private bool _cancelNextFlush;
    private Task? _completing;

    public override bool CanGetUnflushedBytes => true;

    public override long UnflushedBytes => _buffer.Count;

    public override Memory<byte> GetMemory(int sizeHint = 0) => _buffer.GetMemory(sizeHint);

    public override Span<byte> GetSpan(int sizeHint = 0) => _buffer.GetSpan(sizeHint);

    public override void Advance(int bytes) => _buffer.Advance(bytes);

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        if (_buffer.Count == 0)
        {
            bool canceled = _cancelNextFlush;
            _cancelNextFlush = false;
            return new ValueTask<FlushResult>(new FlushResult(canceled, isCompleted: false));
        }

        _flushing = true;
        ValueTask write;
        try
        {
            write = ssl.WriteAsync(_buffer.Written, cancellationToken);
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
        _buffer.Release();

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
        if (!_buffer.TryComplete())
        {
            // A synchronous Complete may still be sending what was left: whoever completes next (the layer, before its
            // close_notify) waits for that write rather than racing it.
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
