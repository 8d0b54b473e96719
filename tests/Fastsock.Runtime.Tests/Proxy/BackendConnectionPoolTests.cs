using System.IO.Pipelines;
using System.Net;
using Fastsock.Samples.Proxy.Config;
using Fastsock.Samples.Proxy.Routing;
using Fastsock.Samples.Proxy.Stats;
using Fastsock.Tests.Support;
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
    public void An_idle_timeout_with_a_fraction_of_a_millisecond_expires_no_connection_before_the_fraction_has_passed()
    {
        var timeout = TimeSpan.FromTicks(2_005_000); // 200.5 ms: truncated to 200, a connection idle 200 ms expired

        // Taking: the newest idle connection.
        var pool = new BackendConnectionPool(4, timeout);
        var taken = new PipeConnection();
        pool.Return(taken, nowMs: 1000);
        Assert.Same(taken, pool.Take(nowMs: 1200));
        pool.Return(taken, nowMs: 1200);
        Assert.Null(pool.Take(nowMs: 1401));
        Assert.True(taken.IsClosed);

        // Returning: the oldest are evicted on the way in.
        pool = new BackendConnectionPool(4, timeout);
        var oldest = new PipeConnection();
        pool.Return(oldest, nowMs: 1000);
        pool.Return(new PipeConnection(), nowMs: 1200);
        Assert.False(oldest.IsClosed, "a connection idle 200 ms was evicted under a 200.5 ms idle timeout");
        pool.Return(new PipeConnection(), nowMs: 1201);
        Assert.True(oldest.IsClosed, "a connection idle 201 ms was kept under a 200.5 ms idle timeout");

        // The frontend's periodic sweep.
        pool = new BackendConnectionPool(4, timeout);
        var swept = new PipeConnection();
        pool.Return(swept, nowMs: 1000);
        pool.Sweep(nowMs: 1200);
        Assert.False(swept.IsClosed, "the sweep closed a connection idle 200 ms under a 200.5 ms idle timeout");
        pool.Sweep(nowMs: 1201);
        Assert.True(swept.IsClosed, "the sweep kept a connection idle 201 ms under a 200.5 ms idle timeout");
        Assert.Equal(0, pool.Count);
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

    [Fact]
    public void Without_a_limit_the_pool_keeps_every_connection_demand_returns_and_hands_them_back_newest_first()
    {
        var pool = new BackendConnectionPool(BackendConnectionPool.Unlimited, TimeSpan.FromSeconds(30));
        var connections = Enumerable.Range(0, 500).Select(_ => new PipeConnection()).ToArray();
        foreach (var connection in connections)
        {
            pool.Return(connection, nowMs: 0);
        }

        Assert.Equal(500, pool.Count);
        Assert.Equal(512, pool.Capacity); // doubled from 16, never one slot at a time
        Assert.DoesNotContain(connections, c => c.IsClosed);
        for (int i = connections.Length - 1; i >= 0; i--)
        {
            Assert.Same(connections[i], pool.Take(nowMs: 0));
        }

        Assert.Null(pool.Take(nowMs: 0));
    }

    [Fact]
    public void Taking_and_returning_at_a_peak_already_seen_allocates_nothing()
    {
        var pool = new BackendConnectionPool(BackendConnectionPool.Unlimited, TimeSpan.FromSeconds(30));
        var connections = Enumerable.Range(0, 300).Select(_ => new PipeConnection()).ToArray();
        var taken = new Connection[connections.Length];
        foreach (var connection in connections)
        {
            pool.Return(connection, nowMs: 0);
        }

        // Windows of rounds after a warm-up: the first Take compiles the probe path, and tiered compilation (or OSR of
        // this loop) may allocate once on this thread; a per-take allocation shows in every window.
        long round = 0;
        SteadyStateAllocation.AssertNothingPerIteration(
            rounds =>
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                for (int r = 0; r < rounds; r++, round++)
                {
                    for (int i = 0; i < taken.Length; i++)
                    {
                        taken[i] = pool.Take(nowMs: round)!;
                    }

                    for (int i = 0; i < taken.Length; i++)
                    {
                        pool.Return(taken[i], nowMs: round);
                    }
                }

                return GC.GetAllocatedBytesForCurrentThread() - before;
            },
            warmUp: 50,
            iterations: 100);
        Assert.Equal(300, pool.Count);
    }

    [Fact]
    public void The_oldest_expire_from_the_bottom_while_the_ring_wraps_and_grows()
    {
        var pool = new BackendConnectionPool(BackendConnectionPool.Unlimited, TimeSpan.FromSeconds(1));
        var old = Enumerable.Range(0, 10).Select(_ => new PipeConnection()).ToArray();
        foreach (var connection in old)
        {
            pool.Return(connection, nowMs: 0);
        }

        // 1.5 s later the ten old ones have expired: the first return evicts them, the ring's bottom moves past them.
        var fresh = Enumerable.Range(0, 40).Select(_ => new PipeConnection()).ToArray();
        foreach (var connection in fresh)
        {
            pool.Return(connection, nowMs: 1500);
        }

        Assert.All(old, c => Assert.True(c.IsClosed));
        Assert.Equal(40, pool.Count);
        for (int i = fresh.Length - 1; i >= 0; i--)
        {
            Assert.Same(fresh[i], pool.Take(nowMs: 1600));
        }

        Assert.DoesNotContain(fresh, c => c.IsClosed);
    }

    [Fact]
    public void A_limit_of_zero_keeps_nothing()
    {
        var pool = new BackendConnectionPool(0, TimeSpan.FromSeconds(30));
        var connection = new PipeConnection();
        pool.Return(connection, 0);
        Assert.True(connection.IsClosed);
        Assert.Null(pool.Take(0));
    }

    [Fact]
    public async Task Reuse_idle_count_and_every_close_are_counted_with_their_reason_for_the_worker_and_server()
    {
        var settings = ConfigValidator.Validate(
            new ProxyConfig
            {
                Frontends = [new FrontendConfig { Name = "f", Bind = ["127.0.0.1:1"], Backend = "b" }],
                Backends = [new BackendConfig { Name = "b", Servers = [new ServerConfig { Name = "s0", Address = "127.0.0.1:2" }, new ServerConfig { Name = "s1", Address = "127.0.0.1:3" }] }],
            },
            "test");
        var counters = new ProxyCounters(settings, workerCount: 2);
        var frontend = counters.For(settings.Frontends[0]);
        var pool = new BackendConnectionPool(2, TimeSpan.FromSeconds(1), frontend, worker: 1, server: 1);
        var reused = new PipeConnection();
        var closedByServer = new PipeConnection();
        var expiring = new PipeConnection();
        pool.Return(reused, 0);
        Assert.Same(reused, pool.Take(0));
        pool.Return(expiring, 0);
        pool.Return(closedByServer, 500);
        pool.Return(reused, 500); // full: closed
        await closedByServer.FromServer.Writer.CompleteAsync();
        pool.Sweep(1200); // the server closed one; the other idle since 0 is past its timeout

        var totals = counters.Snapshot().Server("b", 1).Connections;
        Assert.Equal(new BackendConnectionTotals(Opened: 0, Reused: 1, Closed: 3, ClosedIdleTimeout: 1, ClosedByServer: 1, ClosedPoolFull: 1, Idle: 0), totals);
        Assert.Equal(default, counters.Snapshot().Server("b", 0).Connections);
        frontend.BackendOpened(1, 1);
        frontend.BackendClosed(1, 1, BackendCloseReason.AfterUse);
        var snapshot = counters.Snapshot();
        Assert.Equal(1, snapshot.Server("b", 1).Connections.Opened);
        Assert.Equal(1, snapshot.Server("b", 1).Connections.ClosedOther);
        Assert.Equal(4, snapshot.Workers[1].Connections.Closed); // a worker's figures sum its servers'
        Assert.Equal(0, snapshot.Workers[0].Connections.Closed);
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
