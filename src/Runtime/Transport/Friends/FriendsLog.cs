using Microsoft.Extensions.Logging;

namespace Fastsock.Transport.Friends;

internal static partial class FriendsLog
{
    [LoggerMessage(EventId = 900, Level = LogLevel.Information, Message = "TCP friends on: loopback connections in cgroup {Cgroup} exchange data by sk_msg redirect (forwarding copies them, never splices)")]
    public static partial void On(ILogger logger, string cgroup);

    [LoggerMessage(EventId = 901, Level = LogLevel.Warning, Message = "TCP friends off, connections use TCP as usual: {Reason}")]
    public static partial void Off(ILogger logger, string reason);
}
