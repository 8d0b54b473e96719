using Fastsock.Transport;

namespace Fastsock.Samples.Proxy.Reload;

/// <summary>
/// What a frontend's listeners call for each accepted connection: the frontend of the last reload. A reload swaps
/// it with one reference write; connections accepted before keep the frontend they started with.
/// </summary>
internal sealed class FrontendSlot(ConnectionHandler handler)
{
    private volatile ConnectionHandler _handler = handler;

    public ConnectionHandler Handler
    {
        get => _handler;
        set => _handler = value;
    }

    public Task HandleAsync(Connection connection) => _handler(connection);
}
