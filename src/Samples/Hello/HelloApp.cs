using Fastsock.Hosting;
using Fastsock.Http;
using Fastsock.Http.Server;
using Fastsock.Transport;

namespace Fastsock.Samples.Hello;

/// <summary>
/// The routes of the Hello server on the runtime's HTTP/1.1 loop: <c>/plaintext</c> and <c>/</c> (text),
/// <c>/json</c>, <c>/stats</c> (the workers' counters); other paths 404, other methods than GET and HEAD 405.
/// Per request it allocates nothing but for <c>/stats</c>: the bodies are pre-encoded.
/// </summary>
internal sealed class HelloApp : IHttpApplication
{
    private readonly Func<IReadOnlyList<WorkerStats>> _stats;
    private readonly Func<IReadOnlyList<Fastsock.Transport.TcpFriendsStats>>? _friends;
    private readonly HttpServerLoop _loop;

    public HelloApp(Func<IReadOnlyList<WorkerStats>> stats, Func<IReadOnlyList<Fastsock.Transport.TcpFriendsStats>>? friends = null)
    {
        _stats = stats;
        _friends = friends;
        _loop = new HttpServerLoop(this);
    }

    /// <summary>The connection handler to listen with.</summary>
    public Task HandleAsync(Connection connection) => _loop.HandleAsync(connection);

    public ValueTask ProcessRequestAsync(HttpExchange exchange)
    {
        var path = exchange.Path;
        if (path.SequenceEqual("/plaintext"u8) || path.SequenceEqual("/"u8))
        {
            Respond(exchange, "text/plain"u8, "Hello, World!"u8);
        }
        else if (path.SequenceEqual("/json"u8))
        {
            Respond(exchange, "application/json"u8, "{\"message\":\"Hello, World!\"}"u8);
        }
        else if (path.SequenceEqual("/stats"u8))
        {
            if (IsGet(exchange))
            {
                exchange.WriteResponse(200, "application/json"u8, StatsJson.Write(_stats(), _friends?.Invoke()));
            }
            else
            {
                exchange.WriteError(405);
            }
        }
        else
        {
            exchange.WriteError(404);
        }

        return default;
    }

    private static void Respond(HttpExchange exchange, ReadOnlySpan<byte> contentType, ReadOnlySpan<byte> content)
    {
        if (IsGet(exchange))
        {
            exchange.WriteResponse(200, contentType, content);
        }
        else
        {
            exchange.WriteError(405);
        }
    }

    private static bool IsGet(HttpExchange exchange) => exchange.Method is RequestMethod.Get or RequestMethod.Head;
}
