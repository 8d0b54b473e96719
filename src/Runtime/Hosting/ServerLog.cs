using Microsoft.Extensions.Logging;

namespace Fastsock.Hosting;

internal static partial class ServerLog
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Listening on {EndPoint} (steering: {Steering})")]
    public static partial void Listening(ILogger logger, System.Net.IPEndPoint endPoint, Fastsock.Locality.ListenerSteering steering);

    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "Started {Count} workers on CPUs {Cpus}")]
    public static partial void Started(ILogger logger, int count, Fastsock.Locality.CpuSet cpus);

    [LoggerMessage(EventId = 102, Level = LogLevel.Information, Message = "Stopping: {Active} connections open, waiting up to {TimeoutMs} ms for them to finish")]
    public static partial void Stopping(ILogger logger, long active, long timeoutMs);

    [LoggerMessage(EventId = 103, Level = LogLevel.Warning, Message = "Shutdown timeout reached: aborting {Active} connections")]
    public static partial void Aborting(ILogger logger, long active);

    [LoggerMessage(EventId = 104, Level = LogLevel.Information, Message = "Stopped")]
    public static partial void Stopped(ILogger logger);

    [LoggerMessage(EventId = 105, Level = LogLevel.Information, Message = "{Signal} received: shutting down gracefully")]
    public static partial void SignalReceived(ILogger logger, System.Runtime.InteropServices.PosixSignal signal);
}
