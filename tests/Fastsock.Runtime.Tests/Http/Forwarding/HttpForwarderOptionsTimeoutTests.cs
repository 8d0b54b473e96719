using System.IO.Pipelines;
using System.Net;
using Fastsock.Http.Proxying;
using Fastsock.Transport;

namespace Fastsock.Tests.Http.Forwarding;

/// <summary>
/// <see cref="HttpForwarderOptions.ResponseTimeout"/> has one meaning for every path, as Kestrel's and YARP's timeouts do:
/// <see cref="Timeout.InfiniteTimeSpan"/> is no timeout (copied or spliced), zero or another negative value is refused
/// where the options are given to a forwarder, with one line naming the value and what to use instead.
/// </summary>
public sealed class HttpForwarderOptionsTimeoutTests
{
    public static TheoryData<long> RefusedTicks => new() { 0, -1, TimeSpan.FromMilliseconds(-2).Ticks, TimeSpan.FromSeconds(-30).Ticks };

    [Theory]
    [MemberData(nameof(RefusedTicks))]
    public void A_zero_or_negative_response_timeout_other_than_infinite_is_refused_by_the_forwarder_with_the_value_and_what_to_do(long ticks)
    {
        var timeout = TimeSpan.FromTicks(ticks);
        var client = new Unconnected();
        var options = new HttpForwarderOptions { ResponseTimeout = timeout };

        var created = Assert.Throws<ArgumentOutOfRangeException>(() => new HttpExchangeForwarder(client, [127, 0, 0, 1], options));
        Assert.Equal("options", created.ParamName);
        Assert.Contains(timeout.ToString(), created.Message, StringComparison.Ordinal);
        Assert.Contains("Timeout.InfiniteTimeSpan", created.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', created.Message);

        var forwarder = new HttpExchangeForwarder(client, [127, 0, 0, 1], new HttpForwarderOptions());
        var set = Assert.Throws<ArgumentOutOfRangeException>(() => forwarder.Options = options);
        Assert.Contains(timeout.ToString(), set.Message, StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromSeconds(30), forwarder.Options.ResponseTimeout); // the refused options were not taken
    }

    [Fact]
    public void An_infinite_or_positive_response_timeout_is_accepted()
    {
        var forwarder = new HttpExchangeForwarder(new Unconnected(), [127, 0, 0, 1], new HttpForwarderOptions { ResponseTimeout = Timeout.InfiniteTimeSpan });
        forwarder.Options = new HttpForwarderOptions { ResponseTimeout = TimeSpan.FromTicks(1) };
        Assert.Equal(TimeSpan.FromTicks(1), forwarder.Options.ResponseTimeout);
    }

    /// <summary>
    /// The backend pauses longer than several ticks of the timer wheel before its head and inside its body: an infinite
    /// timeout read as a negative delay would fire at the next tick (a 504, or a body cut short).
    /// </summary>
    [Theory]
    [InlineData(ForwardingMode.Splice)]
    [InlineData(ForwardingMode.Copy)]
    public async Task An_infinite_response_timeout_waits_for_a_slow_backend_whether_the_body_is_copied_or_spliced(ForwardingMode mode)
    {
        const int Part = 1000;
        const int Rest = 64 * 1024;
        var pause = TimeSpan.FromMilliseconds(400); // eight ticks of the wheel: the stimulus; the proof is the outcome
        await using var harness = await ExchangeHarness.StartAsync(
            new HttpForwarderOptions { Forwarding = mode, SpliceThreshold = 4096, ResponseTimeout = Timeout.InfiniteTimeSpan });
        var client = await harness.ConnectClientAsync();
        await client.SendAsync("GET /slow HTTP/1.1\r\nHost: h\r\n\r\n");
        var backend = await harness.AcceptBackendAsync();
        await backend.ReadHeadAsync();

        await Task.Delay(pause);
        string head = $"HTTP/1.1 200 OK\r\nContent-Length: {Part + Rest}\r\n\r\n";
        await backend.SendAsync(head + new string('p', Part));
        Assert.Equal(head, await client.ReadHeadAsync());
        Assert.Equal(new string('p', Part), await client.ReadAsync(Part));
        await Task.Delay(pause);
        await backend.SendAsync(new string('r', Rest));

        Assert.Equal(new string('r', Rest), await client.ReadAsync(Rest));
        var outcome = await harness.NextOutcomeAsync();
        Assert.Equal((HttpForwarderError.None, true, true), (outcome.Error, outcome.ClientKeepAlive, outcome.BackendReusable));
        Assert.Equal(mode == ForwardingMode.Splice, harness.BytesSpliced >= Rest);
    }

    /// <summary>A connection over two pipes nobody reads: the forwarder's constructor needs one, the options checks nothing more.</summary>
    private sealed class Unconnected : Connection, IDuplexPipe
    {
        private readonly Pipe _in = new();
        private readonly Pipe _out = new();

        public PipeReader Input => _in.Reader;

        public PipeWriter Output => _out.Writer;

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
}
