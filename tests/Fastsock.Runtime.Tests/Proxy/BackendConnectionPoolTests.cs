using System.IO.Pipelines;
using System.Net;
using Fastsock.Samples.Proxy.Routing;
using Fastsock.Transport;

namespace Fastsock.Tests.Proxy;

public sealed class BackendConnectionPoolTests
{
    [Fact]
    public void The_most_recently_returned_connection_is_taken_first()
    {
        var pool = new BackendConnectionPool(4, TimeSpan.FromSeconds(30));
        var older = new PipeConnection();
        var newer = new PipeConnection();
        pool.Return(older, nowMs: 1000);
        pool.Return(newer, nowMs: 2000);
        Assert.Same(newer, pool.Take(nowMs: 2500));
        Assert.Same(older, pool.Take(nowMs: 2500));
        Assert.Null(pool.Take(nowMs: 2500));
    }

    [Fact]
    public void A_full_pool_closes_the_connection_returned_to_it()
    {
        var pool = new BackendConnectionPool(1, TimeSpan.FromSeconds(30));
        var kept = new PipeConnection();
        var extra = new PipeConnection();
        pool.Return(kept, 0);
        pool.Return(extra, 0);
        Assert.Equal(1, pool.Count);
        Assert.True(extra.IsClosed);
        Assert.False(kept.IsClosed);
    }

    [Fact]
    public void Connections_idle_longer_than_the_timeout_are_closed_not_reused()
    {
        var pool = new BackendConnectionPool(4, TimeSpan.FromSeconds(1));
        var stale = new PipeConnection();
        var fresh = new PipeConnection();
        pool.Return(stale, nowMs: 0);
        pool.Return(fresh, nowMs: 1500); // evicts the stale one on the way in
        Assert.True(stale.IsClosed);
        Assert.Same(fresh, pool.Take(nowMs: 2000));
        pool.Return(fresh, nowMs: 2000);
        Assert.Null(pool.Take(nowMs: 3001));
        Assert.True(fresh.IsClosed);
    }

    [Fact]
    public async Task A_connection_the_server_closed_or_wrote_to_while_idle_is_not_reused()
    {
        var pool = new BackendConnectionPool(4, TimeSpan.FromSeconds(30));
        var closedByServer = new PipeConnection();
        var wroteWhileIdle = new PipeConnection();
        var good = new PipeConnection();
        pool.Return(good, 0);
        pool.Return(closedByServer, 0);
        pool.Return(wroteWhileIdle, 0);
        await wroteWhileIdle.FromServer.Writer.WriteAsync("HTTP/1.1 408 Request Timeout\r\n\r\n"u8.ToArray());
        await closedByServer.FromServer.Writer.CompleteAsync();
        Assert.Same(good, pool.Take(0));
        Assert.True(wroteWhileIdle.IsClosed);
        Assert.True(closedByServer.IsClosed);
    }

    /// <summary>A connection over two in-process pipes; closed once both of its ends are completed.</summary>
    private sealed class PipeConnection : Connection, IDuplexPipe
    {
        private readonly Pipe _toServer = new();
        private bool _inputCompleted;
        private bool _outputCompleted;

        public PipeConnection()
        {
            Input = new TrackingReader(FromServer.Reader, () => _inputCompleted = true);
            Output = new TrackingWriter(_toServer.Writer, () => _outputCompleted = true);
        }

        public Pipe FromServer { get; } = new();

        public bool IsClosed => _inputCompleted && _outputCompleted;

        public PipeReader Input { get; }

        public PipeWriter Output { get; }

        public override IDuplexPipe Transport => this;

        public override EndPoint? LocalEndPoint => null;

        public override EndPoint? RemoteEndPoint => null;

        public override int WorkerIndex => 0;

        public override int WorkerCpu => 0;

        public override int IncomingCpu => 0;

        public override CancellationToken ConnectionClosed => CancellationToken.None;

        public override bool IsShutdownRequested => false;

        public override void Abort()
        {
        }
    }

    private sealed class TrackingReader(PipeReader inner, Action completed) : PipeReader
    {
        public override void AdvanceTo(SequencePosition consumed) => inner.AdvanceTo(consumed);

        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined) => inner.AdvanceTo(consumed, examined);

        public override void CancelPendingRead() => inner.CancelPendingRead();

        public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default) => inner.ReadAsync(cancellationToken);

        public override bool TryRead(out ReadResult result) => inner.TryRead(out result);

        public override void Complete(Exception? exception = null)
        {
            inner.Complete(exception);
            completed();
        }
    }

    private sealed class TrackingWriter(PipeWriter inner, Action completed) : PipeWriter
    {
        public override void Advance(int bytes) => inner.Advance(bytes);

        public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);

        public override void Complete(Exception? exception = null)
        {
            inner.Complete(exception);
            completed();
        }
    }
}
