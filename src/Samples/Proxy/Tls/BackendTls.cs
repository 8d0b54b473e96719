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

    /// <summary>
    /// After an exchange failed on <paramref name="connection"/>: one warning line when a TLS record from the server
    /// caused it (refused, or cut short by the server's close), naming the server and what the client got. The
    /// connection is closed by the caller, never pooled; the runtime counts the record per server.
    /// </summary>
    public static void ReportRecordFailure(ILogger logger, string backend, ServerState server, Connection connection, int answerStatus)
    {
        var failure = TlsLayer.RecordFailureOf(connection);
        if (failure == TlsClientRecordFailure.None)
        {
            return;
        }

        string outcome = answerStatus != 0 ? $"answered {answerStatus} to the client" : "the response to the client was cut short";
        RecordFailed(logger, backend, server.Settings.Name, Describe(failure), outcome);
    }

    /// <summary>What the server did, as the warning lines of both modes say it ("the server …").</summary>
    public static string Describe(TlsClientRecordFailure failure) => failure == TlsClientRecordFailure.Rejected
        ? "sent a TLS record that failed to decrypt or verify"
        : "closed its connection inside a TLS record";

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

    [LoggerMessage(EventId = 382, Level = LogLevel.Warning, Message = "Backend {Backend}, server {Server}: the server {Failure}; {Outcome}, and the connection to the server was closed")]
    private static partial void RecordFailed(ILogger logger, string backend, string server, string failure, string outcome);

    [LoggerMessage(EventId = 381, Level = LogLevel.Warning, Message = "Backend {Backend}, server {Server} ({Address}): tls verify is false: its certificate is not checked, so anyone on the path can pose as it; give caFile instead")]
    private static partial void Unverified(ILogger logger, string backend, string server, string address);
}
