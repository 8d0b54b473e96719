using System.Text;
using Fastsock.Samples.Proxy.Config;

namespace Fastsock.Samples.Proxy.Routing;

/// <summary>What the proxy works out once per server, so no request or connect has to: read-only after construction.</summary>
internal sealed class ServerRoute(ServerSettings settings)
{
    /// <summary>The Host field sent for an HTTP/1.0 request that had none: the server's address.</summary>
    public byte[] FallbackHost { get; } = Encoding.ASCII.GetBytes(settings.Address.EndPoint?.ToString() ?? "localhost");

    /// <summary>The unix socket the same server also listens on, when configured.</summary>
    public LocalFastPath? LocalFastPath { get; } = settings.LocalFastPath is { } path ? new LocalFastPath(path) : null;
}
