namespace Fastsock.Engine;

/// <summary>
/// A worker's counters. Only the worker thread writes them (plain increments, no interlocked, no shared cache
/// line with another worker); metrics and /stats read them from other threads with volatile reads.
/// </summary>
internal sealed class WorkerCounters
{
    public long Accepted;
    public long Connected;
    public long Closed;
    public long BytesReceived;
    public long BytesSent;
    public long SendCalls; // send and writev calls of connections' output (handler flushes), EAGAIN included
    public long PassiveLocal;
    public long PassiveRemote;
    public long ActiveLocal;
    public long ActiveRemote;
    public long ConnectFailed;
    public long PortsExhausted;
    public long HandlerErrors;
    public long Aborted;
    public long BytesSpliced;
    public long BytesCopied;

    public long Active => Volatile.Read(ref Accepted) + Volatile.Read(ref Connected) - Volatile.Read(ref Closed);
}
