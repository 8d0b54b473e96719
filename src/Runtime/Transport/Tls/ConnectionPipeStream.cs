using System.Buffers;
using System.IO.Pipelines;
using Fastsock.Engine;

namespace Fastsock.Transport.Tls;

/// <summary>
/// The ciphertext side of a TLS layer: a <see cref="Stream"/> over a connection's own pipes for <see cref="SslStream"/>.
/// Reads and writes complete where the pipes complete, on the connection's worker, so the TLS record work that follows
/// them runs there too. The pipes stay owned by the connection: disposing this stream completes nothing.
/// </summary>
/// <remarks>
/// SslStream's server handshake resumes one of its own internal awaits on the thread pool (seen on .NET 10: the read of
/// the client's second flight arrives from a pool thread), and a connection's pipes may only be used on their worker.
/// A call that arrives off the worker is posted back to it first; calls on the worker, the usual case, go straight on.
/// </remarks>
internal sealed class ConnectionPipeStream(IDuplexPipe pipe, Worker worker) : Stream
{
    /// <summary>Calls that arrived off the worker and were posted back to it.</summary>
    public long HopsToWorker { get; private set; }

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        worker.IsCurrentThread ? ReadOnWorkerAsync(buffer, cancellationToken) : ReadAfterHopAsync(buffer, cancellationToken);

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        worker.IsCurrentThread ? WriteOnWorkerAsync(buffer, cancellationToken) : WriteAfterHopAsync(buffer, cancellationToken);

    public override Task FlushAsync(CancellationToken cancellationToken) =>
        worker.IsCurrentThread ? FlushOnWorkerAsync(cancellationToken) : FlushAfterHopAsync(cancellationToken);

    private async ValueTask<int> ReadAfterHopAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        await HopToWorker();
        return await ReadOnWorkerAsync(buffer, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask WriteAfterHopAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        await HopToWorker();
        await WriteOnWorkerAsync(buffer, cancellationToken).ConfigureAwait(false);
    }

    private async Task FlushAfterHopAsync(CancellationToken cancellationToken)
    {
        await HopToWorker();
        await FlushOnWorkerAsync(cancellationToken).ConfigureAwait(false);
    }

    private WorkerHop HopToWorker()
    {
        HopsToWorker++;
        return new WorkerHop(worker);
    }

    private async ValueTask<int> ReadOnWorkerAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var result = await pipe.Input.ReadAsync(cancellationToken).ConfigureAwait(false);
        var data = result.Buffer;
        if (result.IsCanceled)
        {
            pipe.Input.AdvanceTo(data.Start);
            throw new OperationCanceledException("The connection's read was cancelled (shutdown or deadline).");
        }

        int count = (int)Math.Min(data.Length, buffer.Length);
        data.Slice(0, count).CopyTo(buffer.Span);
        pipe.Input.AdvanceTo(data.GetPosition(count));
        return count;
    }

    private ValueTask WriteOnWorkerAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        var flush = pipe.Output.WriteAsync(buffer, cancellationToken);
        return flush.IsCompletedSuccessfully ? ValueTask.CompletedTask : AwaitFlush(flush);

        static async ValueTask AwaitFlush(ValueTask<FlushResult> flush) => await flush.ConfigureAwait(false);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    private async Task FlushOnWorkerAsync(CancellationToken cancellationToken) => await pipe.Output.FlushAsync(cancellationToken).ConfigureAwait(false);

    // SslStream is only driven asynchronously here; a blocking call would stall the worker's whole loop.
    public override void Flush() => throw new NotSupportedException("Blocking I/O on a worker is not supported; use FlushAsync.");

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("Blocking I/O on a worker is not supported; use ReadAsync.");

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("Blocking I/O on a worker is not supported; use WriteAsync.");

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
