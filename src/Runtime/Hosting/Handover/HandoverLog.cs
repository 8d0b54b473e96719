using Microsoft.Extensions.Logging;

namespace Fastsock.Hosting.Handover;

internal static partial class HandoverLog
{
    [LoggerMessage(EventId = 120, Level = LogLevel.Information, Message = "Offering the listening sockets to a successor at {Path}")]
    public static partial void Offering(ILogger logger, string path);

    [LoggerMessage(EventId = 121, Level = LogLevel.Information, Message = "Handed {Count} listening sockets over at {Path}: no longer accepting, finishing the connections in flight")]
    public static partial void HandedOver(ILogger logger, int count, string path);

    [LoggerMessage(EventId = 122, Level = LogLevel.Warning, Message = "A successor did not take the listening sockets ({Reason}); still serving")]
    public static partial void Refused(ILogger logger, string reason);

    [LoggerMessage(EventId = 123, Level = LogLevel.Warning, Message = "Hand-over failed ({Reason}); still serving")]
    public static partial void OfferFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 124, Level = LogLevel.Information, Message = "Took over {Count} listening sockets from {Origin}")]
    public static partial void TookOver(ILogger logger, int count, string origin);

    [LoggerMessage(EventId = 125, Level = LogLevel.Information, Message = "net.ipv4.tcp_migrate_req is on: connections queued on a listener that closes move to another member of its group")]
    public static partial void MigrateReqOn(ILogger logger);

    [LoggerMessage(EventId = 127, Level = LogLevel.Information, Message = "net.ipv4.tcp_migrate_req is off ({Reason}); as root: sysctl -w net.ipv4.tcp_migrate_req=1")]
    public static partial void MigrateReqOff(ILogger logger, string reason);

    [LoggerMessage(EventId = 126, Level = LogLevel.Warning, Message = "Took the listening sockets, but the old server did not confirm it stopped accepting ({Reason}); both accept until it stops")]
    public static partial void NotConfirmed(ILogger logger, string reason);
}
