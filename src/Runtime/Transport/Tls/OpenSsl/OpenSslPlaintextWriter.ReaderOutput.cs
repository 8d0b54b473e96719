using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace Fastsock.Transport.Tls.OpenSsl;

/// <summary>
/// What the decrypt loop makes OpenSSL write (a KeyUpdate's answer, an alert) goes into the same connection output as
/// the handler's records: one flush of that pipe waits at a time, so bytes written while one waits join it.
/// </summary>
internal sealed partial class OpenSslPlaintextWriter
{
    private bool _readerOutputWaiting;
    private Task? _readerFlush;

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<FlushResult> FlushAfterReaderAsync(Task readerFlush, CancellationToken cancellationToken)
    {
        await readerFlush.ConfigureAwait(false);
        await new WorkerHop(worker);
        return await FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>What the reader wrote while this flush waited (a KeyUpdate's answer) is flushed now.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<FlushResult> AfterReaderOutputAsync(FlushResult sent)
    {
        bool canceled = sent.IsCanceled;
        bool completed = sent.IsCompleted;
        while (_readerOutputWaiting && !completed)
        {
            _readerOutputWaiting = false;
            _flushing = true;
            try
            {
                var more = await ciphertext.FlushAsync().ConfigureAwait(false);
                canceled |= more.IsCanceled;
                completed = more.IsCompleted;
            }
            finally
            {
                await new WorkerHop(worker);
                _flushing = false;
            }
        }

        return new FlushResult(canceled, completed);
    }

    /// <summary>
    /// Sends what reading made OpenSSL write (a KeyUpdate's answer, an alert). While a flush of ours waits on the
    /// connection's output, the bytes join it and that flush sends them, so two flushes never wait on one pipe.
    /// </summary>
    public ValueTask SendFromReaderAsync()
    {
        session.DrainTo(ciphertext);
        if (_flushing)
        {
            _readerOutputWaiting = true;
            return ValueTask.CompletedTask;
        }

        if (_readerFlush is { IsCompleted: false } previous)
        {
            // The reader's previous flush still waits: these bytes follow it.
            _readerFlush = FlushAfterAsync(previous);
            return ValueTask.CompletedTask;
        }

        var flush = ciphertext.FlushAsync();
        if (flush.IsCompletedSuccessfully)
        {
            return ValueTask.CompletedTask;
        }

        // Rare (a KeyUpdate while the client is not reading): a task the writer's next flush can wait for.
        _readerFlush = AwaitReaderFlushAsync(flush);
        return new ValueTask(_readerFlush);
    }

    private async Task FlushAfterAsync(Task previous)
    {
        await previous.ConfigureAwait(false);
        await new WorkerHop(worker);
        if (_flushing)
        {
            _readerOutputWaiting = true;
            return;
        }

        await AwaitReaderFlushAsync(ciphertext.FlushAsync()).ConfigureAwait(false);
    }

    private async Task AwaitReaderFlushAsync(ValueTask<FlushResult> flush)
    {
        await flush.ConfigureAwait(false);
        await new WorkerHop(worker);
    }
}
