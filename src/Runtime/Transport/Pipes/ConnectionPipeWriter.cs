using System.IO.Pipelines;

namespace Fastsock.Transport.Pipes;

/// <summary>
/// The writing end of a <see cref="ConnectionPipe"/> as the transport uses it: straight to the <see cref="WorkerPipe"/>
/// (so a transport writing its input pipe needs no <see cref="PipeWriter"/> object per connection), or to the fallback
/// <see cref="Pipe"/>'s writer. Converts to a <see cref="PipeWriter"/> for a handler.
/// </summary>
internal readonly struct ConnectionPipeWriter
{
    private readonly WorkerPipe? _workerPipe;
    private readonly Pipe? _sharedPipe;

    public ConnectionPipeWriter(WorkerPipe? workerPipe, Pipe? sharedPipe)
    {
        _workerPipe = workerPipe;
        _sharedPipe = sharedPipe;
    }

    public long UnflushedBytes => _workerPipe is not null ? _workerPipe.UnflushedBytes : _sharedPipe!.Writer.UnflushedBytes;

    public static implicit operator PipeWriter(ConnectionPipeWriter writer) => writer.AsPipeWriter();

    public PipeWriter AsPipeWriter() => _workerPipe is not null ? _workerPipe.Writer : _sharedPipe!.Writer;

    public Memory<byte> GetMemory(int sizeHint = 0) => _workerPipe is not null ? _workerPipe.GetMemory(sizeHint) : _sharedPipe!.Writer.GetMemory(sizeHint);

    public void Advance(int bytes)
    {
        if (_workerPipe is not null)
        {
            _workerPipe.Advance(bytes);
        }
        else
        {
            _sharedPipe!.Writer.Advance(bytes);
        }
    }

    public ValueTask<FlushResult> FlushAsync() => _workerPipe is not null ? _workerPipe.FlushAsync(default) : _sharedPipe!.Writer.FlushAsync();

    public void CancelPendingFlush()
    {
        if (_workerPipe is not null)
        {
            _workerPipe.CancelPendingFlush();
        }
        else
        {
            _sharedPipe!.Writer.CancelPendingFlush();
        }
    }

    public void Complete(Exception? exception = null)
    {
        if (_workerPipe is not null)
        {
            _workerPipe.CompleteWriter(exception);
        }
        else
        {
            _sharedPipe!.Writer.Complete(exception);
        }
    }
}
