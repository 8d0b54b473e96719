using System.Diagnostics.Metrics;

namespace Fastsock.Hosting;

/// <summary>
/// The "Fastsock" meter. Instruments are observable: the hot path only bumps plain per-worker counters, and the
/// meter reads them when a listener (dotnet-counters, OpenTelemetry) collects. Tagged by worker and CPU.
/// </summary>
internal sealed class FastsockMetrics : IDisposable
{
    public const string MeterName = "Fastsock";

    private readonly Meter _meter = new(MeterName);
    private readonly FastsockServer _server;

    public FastsockMetrics(FastsockServer server)
    {
        _server = server;
        Counter("fastsock.connections.accepted", "{connection}", "Connections accepted", s => s.Accepted);
        _meter.CreateObservableUpDownCounter("fastsock.connections.active", () => Measure(s => s.Active), "{connection}", "Connections open");
        Counter("fastsock.connections.closed", "{connection}", "Connections closed", s => s.Closed);
        Counter("fastsock.connections.aborted", "{connection}", "Connections aborted (reset)", s => s.Aborted);
        Counter("fastsock.handler.errors", "{error}", "Connection handlers that threw", s => s.HandlerErrors);
        Counter("fastsock.bytes.received", "By", "Bytes read from sockets", s => s.BytesReceived);
        Counter("fastsock.bytes.sent", "By", "Bytes written to sockets", s => s.BytesSent);
        Counter("fastsock.socket.sends", "{call}", "send and writev calls that carried handlers' output", s => s.SendCalls);
        Counter("fastsock.locality.local", "{connection}", "Accepted connections whose packets were processed on their worker's CPU (SO_INCOMING_CPU)", s => s.LocalConnections);
        Counter("fastsock.locality.remote", "{connection}", "Accepted connections whose packets were processed on another CPU", s => s.RemoteConnections);
        Counter("fastsock.connections.connected", "{connection}", "Outbound connections established", s => s.Connected);
        Counter("fastsock.locality.outbound.local", "{connection}", "Outbound connections whose replies were processed on their worker's CPU (SO_INCOMING_CPU)", s => s.OutboundLocalConnections);
        Counter("fastsock.locality.outbound.remote", "{connection}", "Outbound connections whose replies were processed on another CPU", s => s.OutboundRemoteConnections);
        Counter("fastsock.outbound.connect_failures", "{error}", "Outbound connects that failed (refused, unreachable, timeout, no port)", s => s.ConnectFailures);
        Counter("fastsock.outbound.ports_exhausted", "{error}", "Outbound connects that found no free local port", s => s.PortsExhausted);
        Counter("fastsock.forward.bytes.spliced", "By", "Bytes forwarded socket to socket with splice(2), never copied to user space", s => s.BytesSpliced);
        Counter("fastsock.forward.bytes.copied", "By", "Bytes forwarded by copying between pipes (copy engine, in-memory backends)", s => s.BytesCopied);
        _meter.CreateObservableGauge("fastsock.forward.pipes.open", () => Measure(s => s.KernelPipesOpen), "{pipe}", "Kernel pipes held for splice (in use and cached)");
        Counter("fastsock.pool.rented", "{block}", "Buffer blocks rented from the worker's pool", s => s.PoolRented);
        Counter("fastsock.pool.recycled", "{block}", "Blocks returned from other threads through the recycle stack", s => s.PoolRecycled);
        _meter.CreateObservableGauge("fastsock.pool.slabs", () => Measure(s => s.PoolSlabs), "{slab}", "Pinned slabs allocated by the worker's pool");
        _meter.CreateObservableGauge("fastsock.pool.in_use", () => Measure(s => s.PoolBlocksInUse), "{block}", "Blocks rented and not yet returned");
    }

    private void Counter(string name, string unit, string description, Func<WorkerStats, long> read) =>
        _meter.CreateObservableCounter(name, () => Measure(read), unit, description);

    private Measurement<long>[] Measure(Func<WorkerStats, long> read)
    {
        var stats = _server.GetStats();
        var measurements = new Measurement<long>[stats.Count];
        for (int i = 0; i < stats.Count; i++)
        {
            measurements[i] = new Measurement<long>(read(stats[i]),
                new KeyValuePair<string, object?>("fastsock.worker", stats[i].Worker),
                new KeyValuePair<string, object?>("fastsock.cpu", stats[i].Cpu));
        }

        return measurements;
    }

    public void Dispose() => _meter.Dispose();
}
