using System.Collections.ObjectModel;
using Fastsock.Transport;

namespace Fastsock.Hosting;

/// <summary>
/// Apps hosted in the server's own process and reached by name (an <c>inproc:NAME</c> backend) through an in-memory
/// connection on the caller's worker: no socket, no syscall. Register them on the builder before starting.
/// </summary>
public sealed class InProcessApps
{
    private readonly Dictionary<string, ConnectionHandler> _apps = new(StringComparer.Ordinal);

    internal InProcessApps()
    {
        Handlers = new ReadOnlyDictionary<string, ConnectionHandler>(_apps);
    }

    /// <summary>The registered apps by name (a live, read-only view).</summary>
    public IReadOnlyDictionary<string, ConnectionHandler> Handlers { get; }

    /// <summary>Registers <paramref name="handler"/> as the app called <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">The name is empty, has whitespace, or is already taken.</exception>
    public void Add(string name, ConnectionHandler handler)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(handler);
        if (name.Length == 0 || name.Any(char.IsWhiteSpace))
        {
            throw new ArgumentException($"In-process app name '{name}' is empty or has whitespace; use a short word such as 'hello'.", nameof(name));
        }

        if (!_apps.TryAdd(name, handler))
        {
            throw new ArgumentException($"An in-process app named '{name}' is already registered; give each app its own name.", nameof(name));
        }
    }

    /// <summary>
    /// Opens a connection to the app called <paramref name="name"/> on the calling worker (call it from a connection
    /// handler): the app serves one end of an in-memory pair, the caller gets the other.
    /// </summary>
    /// <exception cref="KeyNotFoundException">No app has that name.</exception>
    public Connection Connect(string name)
    {
        if (!_apps.TryGetValue(name, out var handler))
        {
            throw new KeyNotFoundException($"No in-process app named '{name}'; registered: {string.Join(", ", _apps.Keys)}.");
        }

        var (client, server) = InMemoryConnection.CreatePair();
        _ = handler(server);
        return client;
    }
}
