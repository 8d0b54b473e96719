using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Fastsock.Hosting;
using Fastsock.Locality;
using Fastsock.Native;
using Fastsock.Tests.Locality;
using Fastsock.Tests.Support;
using Fastsock.Transport;
using static Fastsock.Tests.Support.WorkerThreads;

namespace Fastsock.Tests.Transport;

public sealed class OutboundConnectTests
{
    [Fact]
    public async Task Outbound_connection_exchanges_bytes_and_closes_once_both_ends_are_complete()
    {
        await using var server = await TestServers.StartAsync(TestServers.Echo);
        var result = await OnWorker(server, 0, () => RoundTrip(server.EndPoints[0], "hello"));
        Assert.Equal("hello", result.Reply);
        Assert.Equal(0, result.Worker);
        await Eventually.AssertAsync(() => server.GetStats().Sum(s => s.Active) == 0, () => $"{server.GetStats().Sum(s => s.Active)} connection(s) still open");
        var stats = server.GetStats()[0];
        Assert.Equal(1, stats.Connected);
        Assert.Equal(1, stats.OutboundLocalConnections + stats.OutboundRemoteConnections);
    }

    [Fact]
    public async Task Outbound_connection_over_ipv6_loopback_works()
    {
        await using var server = await TestServers.StartAsync(TestServers.Echo, endPoint: new IPEndPoint(IPAddress.IPv6Loopback, 0));
        var result = await OnWorker(server, 0, () => RoundTrip(server.EndPoints[0], "six"));
        Assert.Equal("six", result.Reply);
        Assert.Equal(AddressFamily.InterNetworkV6, result.Local.AddressFamily);
    }

    [Fact]
    public async Task Modulo_strategy_gives_every_worker_ports_whose_low_bits_are_its_index()
    {
        await using var server = await TestServers.StartAsync(TestServers.Echo, o => o.Outbound.Strategy = SourcePortStrategy.Modulo);
        int workers = server.Workers.Count;
        int stride = SourcePortSelector.ModuloStride(workers);
        for (int worker = 0; worker < workers; worker++)
        {
            for (int i = 0; i < 3; i++)
            {
                var result = await OnWorker(server, worker, () => RoundTrip(server.EndPoints[0], "m"));
                Assert.Equal(worker, result.Local.Port % stride);
                Assert.Equal(worker, result.Worker);
            }
        }
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("::1")]
    public async Task Rss_strategy_picks_ports_whose_reply_hashes_to_the_workers_cpu(string address)
    {
        var loopback = IPAddress.Parse(address);
        var cpus = CpuSet.Allowed();
        int[] queueCpus = [.. cpus];
        int[] table = [.. Enumerable.Range(0, 128).Select(i => i % queueCpus.Length)];
        await using var server = await TestServers.StartAsync(TestServers.Echo, o =>
        {
            o.Outbound.Strategy = SourcePortStrategy.Rss;
            o.Outbound.RssKey = ToeplitzHashTests.MicrosoftKey;
            o.Outbound.RssIndirectionTable = table;
            o.Outbound.RssQueueCpus = queueCpus;
        }, new IPEndPoint(loopback, 0));
        var remote = server.EndPoints[0];
        for (int worker = 0; worker < server.Workers.Count; worker++)
        {
            var connector = server.Connectors[worker];
            Assert.Equal(SourcePortStrategy.Rss, connector.Strategy);
            var result = await OnWorker(server, worker, () => RoundTrip(remote, "r"));
            Assert.True(connector.Selector!.Slice.Contains(result.Local.Port));
            var input = ToeplitzHashTests.Input(remote.ToString(), result.Local.ToString(), withPorts: true);
            uint hash = ToeplitzHashTests.BitwiseReference(ToeplitzHashTests.MicrosoftKey, input);
            Assert.Equal(server.Workers[worker].Cpu, queueCpus[table[hash % 128]]);
        }
    }

    [Fact]
    public async Task Rss_without_a_readable_topology_falls_back_to_the_kernel()
    {
        await using var server = await TestServers.StartAsync(TestServers.Echo, o =>
        {
            o.Outbound.Strategy = SourcePortStrategy.Rss;
            o.Outbound.RssInterface = "lo";
        });
        Assert.All(server.Connectors, c => Assert.Equal(SourcePortStrategy.Kernel, c.Strategy));
        var result = await OnWorker(server, 0, () => RoundTrip(server.EndPoints[0], "k"));
        Assert.Equal("k", result.Reply);
    }

    [Fact]
    public async Task Busy_port_is_skipped_and_the_next_candidate_is_used()
    {
        using var busy = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        busy.Bind(new IPEndPoint(IPAddress.Any, 0));
        busy.Listen();
        int busyPort = ((IPEndPoint)busy.LocalEndPoint!).Port;
        await using var server = await TestServers.StartAsync(TestServers.Echo, o =>
        {
            o.Cores = CoreSets.First;
            o.Outbound.Strategy = SourcePortStrategy.Modulo;
            o.Outbound.PortRange = (busyPort, Math.Min(busyPort + 7, 65535));
        });
        var result = await OnWorker(server, 0, () => RoundTrip(server.EndPoints[0], "b"));
        Assert.NotEqual(busyPort, result.Local.Port);
        Assert.InRange(result.Local.Port, busyPort + 1, busyPort + 7);
        Assert.True(server.Connectors[0].Selector!.CandidatesTried >= 2);
    }

    [Fact]
    public async Task No_free_local_port_fails_with_EADDRNOTAVAIL_and_is_counted()
    {
        using var busy = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        busy.Bind(new IPEndPoint(IPAddress.Any, 0));
        busy.Listen();
        int busyPort = ((IPEndPoint)busy.LocalEndPoint!).Port;
        await using var server = await TestServers.StartAsync(TestServers.Echo, o =>
        {
            o.Cores = CoreSets.First;
            o.Outbound.Strategy = SourcePortStrategy.Modulo;
            o.Outbound.PortRange = (busyPort, busyPort);
        });
        var error = await Assert.ThrowsAsync<NativeCallException>(() => OnWorker(server, 0, () => RoundTrip(server.EndPoints[0], "x")));
        Assert.Equal(Errno.EADDRNOTAVAIL, error.Errno);
        Assert.Contains("No free local port", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, server.GetStats()[0].PortsExhausted);
    }

    [Fact]
    public async Task Connect_to_a_closed_port_fails_with_ECONNREFUSED_naming_the_endpoint()
    {
        using var refusing = LoopbackPorts.Refusing();
        int closedPort = refusing.Port;

        await using var server = await TestServers.StartAsync(TestServers.Echo);
        var target = refusing.EndPoint;
        var error = await Assert.ThrowsAsync<NativeCallException>(() => server.ConnectAsync(0, target));
        Assert.Equal(Errno.ECONNREFUSED, error.Errno);
        Assert.Contains($"connect(127.0.0.1:{closedPort})", error.Message, StringComparison.Ordinal);
        Assert.Contains("ECONNREFUSED", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, server.GetStats()[0].ConnectFailures);
    }

    [Fact]
    public async Task Connect_that_gets_no_answer_times_out_after_the_configured_time()
    {
        using var silent = await SilentListener.StartAsync();
        await using var server = await TestServers.StartAsync(TestServers.Echo, o => o.Outbound.ConnectTimeout = TimeSpan.FromMilliseconds(400));
        var started = System.Diagnostics.Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<TimeoutException>(() => server.ConnectAsync(0, silent.EndPoint));
        Assert.InRange(started.ElapsedMilliseconds, 400 - Clients.CoarseClockSlackMs, 15_000);
        Assert.Contains($"connect({silent.EndPoint})", error.Message, StringComparison.Ordinal);
        Assert.Contains("400 ms", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, server.GetStats()[0].ConnectFailures);
    }

    [Fact]
    public async Task Cancelling_a_connect_in_flight_ends_it_with_OperationCanceledException()
    {
        using var silent = await SilentListener.StartAsync();
        await using var server = await TestServers.StartAsync(TestServers.Echo);
        var started = System.Diagnostics.Stopwatch.StartNew(); // before the token's timer starts
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var error = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => server.ConnectAsync(0, silent.EndPoint, cancel.Token));
        Assert.InRange(started.ElapsedMilliseconds, 200 - Clients.CoarseClockSlackMs, 4_500); // before the 5 s connect timeout
        Assert.Contains("cancelled", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Server_stop_gives_up_connects_in_flight()
    {
        using var silent = await SilentListener.StartAsync();
        var server = await TestServers.StartAsync(TestServers.Echo);
        var connect = server.ConnectAsync(0, silent.EndPoint);
        await Task.Delay(100);
        var started = System.Diagnostics.Stopwatch.StartNew();
        await server.DisposeAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => connect);
        Assert.True(started.ElapsedMilliseconds < 4_500, $"{started.ElapsedMilliseconds} ms: not before the 5 s connect timeout");
    }

    /// <summary>A listener whose accept queue is full: it drops new SYNs, so a connect hangs like one to a silent host.</summary>
    internal sealed class SilentListener : IDisposable
    {
        private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        private readonly List<Socket> _fillers = [];

        public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndPoint!;

        public static async Task<SilentListener> StartAsync()
        {
            var silent = new SilentListener();
            silent._listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            silent._listener.Listen(0);
            for (int i = 0; i < 8; i++)
            {
                var filler = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                silent._fillers.Add(filler);
                using var attempt = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
                try
                {
                    await filler.ConnectAsync(silent.EndPoint, attempt.Token);
                }
                catch (OperationCanceledException)
                {
                    return silent; // the queue is full
                }
            }

            throw new InvalidOperationException("The listener's accept queue never filled; cannot make a silent peer on loopback.");
        }

        public void Dispose()
        {
            foreach (var filler in _fillers)
            {
                filler.Dispose();
            }

            _listener.Dispose();
        }
    }

    [Fact]
    public async Task Connecting_off_a_worker_thread_is_refused_with_a_clear_message()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => FastsockConnector.ConnectAsync(new IPEndPoint(IPAddress.Loopback, 9)));
        Assert.Contains("off a Fastsock worker thread", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Name_endpoints_are_refused_with_advice_to_resolve_them()
    {
        await using var server = await TestServers.StartAsync(TestServers.Echo);
        var error = Assert.Throws<ArgumentException>(() => { _ = server.ConnectAsync(0, new DnsEndPoint("localhost", 80)); });
        Assert.Contains("resolve", error.Message, StringComparison.Ordinal);
    }

    internal sealed record RoundTripResult(string Reply, int Worker, IPEndPoint Local, int IncomingCpu);

    /// <summary>Runs on a worker: connects, sends, half-closes, reads to the end, completes both ends.</summary>
    internal static async Task<RoundTripResult> RoundTrip(IPEndPoint target, string text)
    {
        var connection = await FastsockConnector.ConnectAsync(target);
        var output = connection.Transport.Output;
        var input = connection.Transport.Input;
        await output.WriteAsync(Encoding.ASCII.GetBytes(text));
        await output.CompleteAsync();
        var reply = new StringBuilder();
        while (true)
        {
            var read = await input.ReadAsync();
            foreach (var segment in read.Buffer)
            {
                reply.Append(Encoding.ASCII.GetString(segment.Span));
            }

            input.AdvanceTo(read.Buffer.End);
            if (read.IsCompleted || read.IsCanceled)
            {
                break;
            }
        }

        await input.CompleteAsync();
        return new RoundTripResult(reply.ToString(), connection.WorkerIndex, (IPEndPoint)connection.LocalEndPoint!, connection.IncomingCpu);
    }
}
