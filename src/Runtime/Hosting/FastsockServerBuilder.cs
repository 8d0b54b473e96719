using System.Globalization;
using System.Net;
using Fastsock.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fastsock.Hosting;

/// <summary>Configures a <see cref="FastsockServer"/>: options, logging, and what to run on which endpoint.</summary>
public sealed class FastsockServerBuilder
{
    private readonly List<(IPEndPoint EndPoint, ConnectionHandler Handler)> _bindings = [];
    private ILoggerFactory _loggerFactory = NullLoggerFactory.Instance;

    internal FastsockServerBuilder()
    {
    }

    /// <summary>The options the server is built with; change them before <see cref="Build"/>.</summary>
    public FastsockServerOptions Options { get; } = new();

    /// <summary>Apps reachable by name in this process (<c>inproc:NAME</c>), through in-memory connections.</summary>
    public InProcessApps InProcessApps { get; } = new();

    /// <summary>Registers an in-process app under <paramref name="name"/> (see <see cref="Hosting.InProcessApps"/>).</summary>
    public FastsockServerBuilder AddInProcessApp(string name, ConnectionHandler handler)
    {
        InProcessApps.Add(name, handler);
        return this;
    }

    /// <summary>Changes <see cref="Options"/> in one place (e.g. from configuration).</summary>
    public FastsockServerBuilder Configure(Action<FastsockServerOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        configure(Options);
        return this;
    }

    /// <summary>Where the server logs (default: nowhere).</summary>
    public FastsockServerBuilder UseLoggerFactory(ILoggerFactory loggerFactory)
    {
        _loggerFactory = loggerFactory ?? throw new ArgumentNullException(nameof(loggerFactory));
        return this;
    }

    /// <summary>Runs <paramref name="handler"/> for every connection accepted on <paramref name="endPoint"/> (port 0: any free port).</summary>
    public FastsockServerBuilder Listen(IPEndPoint endPoint, ConnectionHandler handler)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        ArgumentNullException.ThrowIfNull(handler);
        _bindings.Add((endPoint, handler));
        return this;
    }

    /// <summary>
    /// Kestrel-style address: <c>http://127.0.0.1:8080</c>, <c>http://[::1]:8080</c>, <c>http://*:8080</c> (all IPv4),
    /// <c>http://localhost:8080</c> (127.0.0.1) or the same without a scheme.
    /// </summary>
    public FastsockServerBuilder Listen(string url, ConnectionHandler handler) => Listen(ParseUrl(url), handler);

    /// <summary>Creates the server; it opens nothing until <see cref="FastsockServer.StartAsync"/>.</summary>
    public FastsockServer Build()
    {
        if (_bindings.Count == 0)
        {
            throw new InvalidOperationException("No endpoint to listen on: call Listen (e.g. --urls http://127.0.0.1:8080).");
        }

        return new FastsockServer(Options, [.. _bindings], _loggerFactory);
    }

    /// <exception cref="FormatException">The address cannot be used; the message says why.</exception>
    public static IPEndPoint ParseUrl(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        var text = url.Trim();
        int scheme = text.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0)
        {
            var name = text[..scheme];
            if (!name.Equals("http", StringComparison.OrdinalIgnoreCase) && !name.Equals("tcp", StringComparison.OrdinalIgnoreCase))
            {
                throw new FormatException($"Address '{url}': scheme '{name}' is not served; use http:// (TLS is not supported).");
            }

            text = text[(scheme + 3)..];
        }

        text = text.TrimEnd('/');
        int colon = text.LastIndexOf(':');
        if (colon < 0 || (text.StartsWith('[') && !text[..colon].EndsWith(']')))
        {
            throw new FormatException($"Address '{url}' has no port; write it like http://127.0.0.1:8080.");
        }

        var host = text[..colon].Trim('[', ']');
        if (!int.TryParse(text[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port > IPEndPoint.MaxPort)
        {
            throw new FormatException($"Address '{url}': port '{text[(colon + 1)..]}' is not a number from 0 to 65535.");
        }

        IPAddress address = host switch
        {
            "*" or "+" or "0.0.0.0" => IPAddress.Any,
            "localhost" => IPAddress.Loopback,
            _ when IPAddress.TryParse(host, out var parsed) => parsed,
            _ => throw new FormatException($"Address '{url}': host '{host}' is not an IP address; use an address such as 127.0.0.1, [::1] or *."),
        };
        return new IPEndPoint(address, port);
    }
}
