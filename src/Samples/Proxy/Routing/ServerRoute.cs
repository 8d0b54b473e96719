using System.Text;
using Fastsock.Samples.Proxy.Balancing;

namespace Fastsock.Samples.Proxy.Routing;

/// <summary>What the proxy works out once per server, so no request or connect has to: read-only after construction.</summary>
internal sealed class ServerRoute(ServerState server)
{
    /// <summary>The server this was worked out for (a slot may later hold another server).</summary>
    public ServerState Server { get; } = server;

    /// <summary>The Host field sent for an HTTP/1.0 request that had none: the server's address.</summary>
    public byte[] FallbackHost { get; } = Encoding.ASCII.GetBytes(server.Settings.Address.EndPoint?.ToString() ?? "localhost");

    /// <summary>The unix socket the same server also listens on, when configured.</summary>
    public LocalFastPath? LocalFastPath { get; } = server.Settings.LocalFastPath is { } path ? new LocalFastPath(path) : null;
}
