using System.IO.Pipelines;

namespace Fastsock.Transport;

/// <summary>The reading end of an in-memory connection: a pass-through that counts its completion for the pair.</summary>
internal sealed class InMemoryReader(InMemoryLink link, PipeReader inner) : PipeReader
{
    private bool _completed;

    public override void AdvanceTo(SequencePosition consumed) => inner.AdvanceTo(consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined) => inner.AdvanceTo(consumed, examined);

    public override void CancelPendingRead() => inner.CancelPendingRead();

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default) => inner.ReadAsync(cancellationToken);

    public override bool TryRead(out ReadResult result) => inner.TryRead(out result);

    public override void Complete(Exception? exception = null)
    {
        inner.Complete(exception);
        if (!_completed)
        {
            _completed = true;
            link.OnEndCompleted();
        }
    }
}

/// <summary>
/// The writing end of an in-memory connection. After an abort it is broken: the pipe is completed with the abort's
/// error for the reader, and the writer's later calls go to a scratch buffer and report completion, as a socket's
/// output does once the connection is gone.
/// </summary>
internal sealed class InMemoryWriter(InMemoryLink link, PipeWriter inner) : PipeWriter
{
    private bool _broken;
    private bool _completed;
    private byte[]? _scratch;

    public override bool CanGetUnflushedBytes => true;

    public override long UnflushedBytes => _broken ? 0 : inner.UnflushedBytes;

    public override void Advance(int bytes)
    {
        if (!_broken)
        {
            inner.Advance(bytes);
        }
    }

    public override Memory<byte> GetMemory(int sizeHint = 0) => _broken ? Scratch(sizeHint) : inner.GetMemory(sizeHint);

    public override Span<byte> GetSpan(int sizeHint = 0) => _broken ? Scratch(sizeHint).Span : inner.GetSpan(sizeHint);

    public override void CancelPendingFlush() => inner.CancelPendingFlush();

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) =>
        _broken ? new ValueTask<FlushResult>(new FlushResult(isCanceled: false, isCompleted: true)) : inner.FlushAsync(cancellationToken);

    public override void Complete(Exception? exception = null)
    {
        if (!_broken)
        {
            inner.Complete(exception);
        }

        MarkCompleted();
    }

    /// <summary>The connection was aborted: the reader gets <paramref name="error"/>, this writer becomes a sink.</summary>
    public void Break(Exception error)
    {
        if (_broken)
        {
            return;
        }

        _broken = true;
        inner.Complete(error);
    }

    private void MarkCompleted()
    {
        if (!_completed)
        {
            _completed = true;
            link.OnEndCompleted();
        }
    }

    private Memory<byte> Scratch(int sizeHint)
    {
        int size = Math.Max(sizeHint, 4096);
        if (_scratch is null || _scratch.Length < size)
        {
            _scratch = new byte[size];
        }

        return _scratch;
    }
}
