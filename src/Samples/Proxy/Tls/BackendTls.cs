using Fastsock.Samples.Proxy.Balancing;
using Fastsock.Samples.Proxy.Config;
using Fastsock.Transport;
using Fastsock.Transport.Tls;
using Microsoft.Extensions.Logging;

namespace Fastsock.Samples.Proxy.Tls;

/// <summary>
/// TLS to a server whose settings have a <c>tls</c> section: the handshake on the new connection's worker (the
/// runtime's client layer), one log line per failure with the server and the reason, and the start-up warning for
/// servers whose certificate is not checked.
/// </summary>
internal static partial class BackendTls
{
    /// <summary>
    /// <paramref name="connection"/> under TLS when <paramref name="server"/> has it, else unchanged. A failed handshake
    /// closes the connection and throws <see cref="TlsHandshakeException"/> (a connect failure for the caller).
    /// </summary>
    public static async ValueTask<Connection> OverAsync(Connection connection, ServerState server, ILogger logger)
    {
        if (server.Settings.Tls is not { } tls)
        {
            return connection;
        }

        try
        {
            return await TlsLayer.ClientAsync(connection, tls.Options).ConfigureAwait(true);
        }
        catch (TlsHandshakeException ex)
        {
            HandshakeFailed(logger, server.Settings.Name, ReasonName(ex.Reason), ex.Message);
            throw;
        }
    }

    /// <summary>One warning line per server that talks TLS without checking the certificate.</summary>
    public static void WarnUnverified(ProxySettings settings, ILogger logger)
    {
        foreach (var backend in settings.Backends)
        {
            foreach (var server in backend.Servers)
            {
                if (server.Tls is { Verify: false })
                {
                    Unverified(logger, backend.Name, server.Name, server.Address.ToString());
                }
            }

            foreach (var template in backend.DnsServers ?? [])
            {
                if (template.Tls is { Verify: false })
                {
                    Unverified(logger, backend.Name, template.Name, template.Query.ToString());
                }
            }
        }
    }

    /// <summary>The reason as the failure counters and logs name it.</summary>
    public static string ReasonName(TlsClientFailureReason reason) => reason switch
    {
        TlsClientFailureReason.Timeout => "handshake timeout",
        TlsClientFailureReason.UntrustedRoot => "untrusted root",
        TlsClientFailureReason.NameMismatch => "name mismatch",
        TlsClientFailureReason.Expired => "expired",
        TlsClientFailureReason.PeerClosed => "closed during handshake",
        _ => "handshake error",
    };

    [LoggerMessage(EventId = 380, Level = LogLevel.Warning, Message = "Server {Server}: TLS handshake failed ({Reason}): {Detail}")]
    private static partial void HandshakeFailed(ILogger logger, string server, string reason, string detail);

    [LoggerMessage(EventId = 381, Level = LogLevel.Warning, Message = "Backend {Backend}, server {Server} ({Address}): tls verify is false: its certificate is not checked, so anyone on the path can pose as it; give caFile instead")]
    private static partial void Unverified(ILogger logger, string backend, string server, string address);
}
