using System.Net;
using System.Net.Sockets;
using Fastsock.Native;
using Fastsock.Samples.Proxy.Balancing;
using Fastsock.Samples.Proxy.Config;
using Fastsock.Samples.Proxy.Tls;
using Fastsock.Transport;
using Fastsock.Transport.Tls;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fastsock.Samples.Proxy.Routing;

/// <summary>
/// Opens a connection to a server from the calling worker: TCP through the runtime's locality-preserving
/// connector, <c>unix:</c> over AF_UNIX through the same connector, <c>inproc:</c> through an in-memory pair on the
/// same worker with the named app on the other end. A TCP server with a <c>localFastPath</c> whose socket file exists
/// is reached over AF_UNIX instead (TCP again if that socket refuses); whether it exists is looked up at most once a
/// second (<see cref="LocalFastPath"/>), not per connection.
/// </summary>
internal sealed class ServerConnector(IReadOnlyDictionary<string, ConnectionHandler> inProcessApps, TimeSpan connectTimeout)
{
    /// <summary>How long a connect may take; a reload may change it (new connects use the new value).</summary>
    public TimeSpan ConnectTimeout { get; set; } = connectTimeout;

    /// <summary>Where failed TLS handshakes to servers are logged.</summary>
    public ILogger Logger { get; init; } = NullLogger.Instance;

    /// <summary>Apps that can be named as <c>inproc:NAME</c> servers.</summary>
    public IReadOnlyDictionary<string, ConnectionHandler> InProcessApps { get; } = inProcessApps;

    /// <summary>
    /// A new connection to <paramref name="server"/>, under TLS when the server has a <c>tls</c> section (a failed
    /// handshake throws <see cref="TlsHandshakeException"/>); <paramref name="route"/> gives its local fast path, if any.
    /// </summary>
    public async Task<Connection> ConnectAsync(ServerState server, ServerRoute route, CancellationToken cancellationToken)
    {
        var connection = await ConnectPlainAsync(server, route, cancellationToken).ConfigureAwait(true);
        return await BackendTls.OverAsync(connection, server, Logger).ConfigureAwait(true);
    }

    private async Task<Connection> ConnectPlainAsync(ServerState server, ServerRoute route, CancellationToken cancellationToken)
    {
        var address = server.Settings.Address;
        switch (address.Kind)
        {
            case ServerKind.InProc:
                var (client, app) = InMemoryConnection.CreatePair();
                _ = InProcessApps[address.Path!](app);
                return client;
            case ServerKind.Unix:
                return await ConnectAsync(new UnixDomainSocketEndPoint(address.Path!), cancellationToken).ConfigureAwait(true);
            default:
                if (route.LocalFastPath is { } fastPath && fastPath.IsWorthTrying(Environment.TickCount64))
                {
                    try
                    {
                        return await ConnectAsync(fastPath.EndPoint, cancellationToken).ConfigureAwait(true);
                    }
                    catch (NativeCallException)
                    {
                        // A socket file left behind by a stopped backend: the TCP address is the authority.
                        fastPath.Refused(Environment.TickCount64);
                    }
                }

                return await ConnectAsync(address.EndPoint!, cancellationToken).ConfigureAwait(true);
        }
    }

    private async Task<Connection> ConnectAsync(EndPoint remote, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Duration.ForTimer(ConnectTimeout));
        return await FastsockConnector.ConnectAsync(remote, timeout.Token).ConfigureAwait(true);
    }

    /// <summary>Errors that mean "this server did not take the connection": try another.</summary>
    public static bool IsConnectFailure(Exception exception) =>
        exception is NativeCallException or TimeoutException or OperationCanceledException or NotSupportedException or ArgumentException or TlsHandshakeException;
}
