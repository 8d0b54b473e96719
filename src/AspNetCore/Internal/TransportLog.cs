using System.Net;
using Fastsock.Locality;
using Microsoft.Extensions.Logging;

namespace Fastsock.AspNetCore.Internal;

internal static partial class TransportLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "Fastsock bound {EndPoint} on {Workers} workers, steering {Steering}")]
    public static partial void Bound(ILogger logger, EndPoint endPoint, int workers, ListenerSteering steering);
}
