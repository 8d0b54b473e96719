using Microsoft.Extensions.Logging;

namespace Fastsock.Hosting.Handover;

/// <summary>
/// <c>net.ipv4.tcp_migrate_req</c> (Linux 5.14): when a reuseport listener closes, its queued connections move to
/// another listener of the group instead of being reset. A hand-over never closes a listener, so this is the safety
/// net for what goes wrong (a process killed before it passed its sockets on).
/// </summary>
internal static class TcpMigrateReq
{
    private const string Path = "/proc/sys/net/ipv4/tcp_migrate_req";

    public static void Enable(ILogger logger)
    {
        try
        {
            if (File.ReadAllText(Path).Trim() != "1")
            {
                File.WriteAllText(Path, "1");
            }

            HandoverLog.MigrateReqOn(logger);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            HandoverLog.MigrateReqOff(logger, ex.Message);
        }
    }
}
