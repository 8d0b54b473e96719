using Fastsock.Native;
using Fastsock.Samples.Proxy.Balancing;
using Fastsock.Samples.Proxy.Config;
using Fastsock.Transport;

namespace Fastsock.Samples.Proxy.Routing;

/// <summary>
/// Opens a connection to a server from the calling worker: TCP through the runtime's locality-preserving
/// connector, <c>inproc:</c> through an in-memory pair on the same worker with the named app on the other end.
/// </summary>
internal sealed class ServerConnector(IReadOnlyDictionary<string, ConnectionHandler> inProcessApps, TimeSpan connectTimeout)
{
    /// <summary>Apps that can be named as <c>inproc:NAME</c> servers.</summary>
    public IReadOnlyDictionary<string, ConnectionHandler> InProcessApps { get; } = inProcessApps;

    public async Task<Connection> ConnectAsync(ServerState server, CancellationToken cancellationToken)
    {
        var address = server.Settings.Address;
        switch (address.Kind)
        {
            case ServerKind.InProc:
                var (client, app) = InMemoryConnection.CreatePair();
                _ = InProcessApps[address.Path!](app);
                return client;
            case ServerKind.Tcp:
                using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
                {
                    timeout.CancelAfter(connectTimeout);
                    return await FastsockConnector.ConnectAsync(address.EndPoint!, timeout.Token).ConfigureAwait(true);
                }

            default:
                throw new NotSupportedException($"server {server}: unix socket servers are not connected by this build; use host:port or inproc:NAME");
        }
    }

    /// <summary>Errors that mean "this server did not take the connection": try another.</summary>
    public static bool IsConnectFailure(Exception exception) =>
        exception is NativeCallException or TimeoutException or OperationCanceledException or NotSupportedException;
}
