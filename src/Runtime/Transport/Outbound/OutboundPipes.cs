using System.IO.Pipelines;

namespace Fastsock.Transport;

/// <summary>
/// The caller's ends of an outbound connection's pipes. They pass everything through and notice when the caller
/// completes them: once both ends are complete the connection's lifetime ends (see <see cref="OutboundConnection"/>).
/// </summary>
internal sealed class OutboundReader(OutboundConnection owner, PipeReader inner) : PipeReader
{
    public override void AdvanceTo(SequencePosition consumed) => inner.AdvanceTo(consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined) => inner.AdvanceTo(consumed, examined);

    public override void CancelPendingRead() => inner.CancelPendingRead();

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default) => inner.ReadAsync(cancellationToken);

    public override bool TryRead(out ReadResult result) => inner.TryRead(out result);

    public override void Complete(Exception? exception = null)
    {
        inner.Complete(exception);
        owner.OnEndCompleted(input: true);
    }
}

/// <inheritdoc cref="OutboundReader"/>
internal sealed class OutboundWriter(OutboundConnection owner, PipeWriter inner) : PipeWriter
{
    public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

    public override long UnflushedBytes => inner.UnflushedBytes;

    public override void Advance(int bytes) => inner.Advance(bytes);

    public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

    public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);

    public override void CancelPendingFlush() => inner.CancelPendingFlush();

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);

    public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default) =>
        inner.WriteAsync(source, cancellationToken);

    public override void Complete(Exception? exception = null)
    {
        inner.Complete(exception);
        owner.OnEndCompleted(input: false);
    }
}
