namespace Fastsock.Hosting;

/// <summary>A snapshot of one worker's counters (see also the "Fastsock" meter).</summary>
public readonly record struct WorkerStats(
    int Worker,
    int Cpu,
    int ThreadId,
    long Accepted,
    long Active,
    long Closed,
    long Aborted,
    long HandlerErrors,
    long BytesReceived,
    long BytesSent,
    long LocalConnections,
    long RemoteConnections,
    long PoolRented,
    long PoolRecycled,
    long PoolSlabs,
    long PoolBlocksInUse,
    long Connected = 0,
    long OutboundLocalConnections = 0,
    long OutboundRemoteConnections = 0,
    long ConnectFailures = 0,
    long PortsExhausted = 0,
    long BytesSpliced = 0,
    long BytesCopied = 0,
    long KernelPipesOpen = 0,
    long KernelPipesCached = 0)
{
    /// <summary>
    /// send(2) and writev(2) calls that carried the handlers' flushed output. Flushes made in one worker turn leave
    /// together, so with <see cref="BytesSent"/> this tells how many bytes each call carried.
    /// </summary>
    public long SendCalls { get; init; }
}
