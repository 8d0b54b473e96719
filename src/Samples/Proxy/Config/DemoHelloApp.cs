using Fastsock.Http;
using Fastsock.Http.Server;
using Fastsock.Transport;

namespace Fastsock.Samples.Proxy.Config;

/// <summary>
/// The proxy's built-in demo backend, registered as the in-process app <c>hello</c> (<c>inproc:hello</c>): on the
/// runtime's HTTP/1.1 loop, <c>GET /plaintext</c> and <c>GET /</c> answer <c>Hello, World!</c>; other paths 404,
/// other methods than GET and HEAD 405. Allocation-free per request.
/// </summary>
internal sealed class DemoHelloApp : IHttpApplication
{
    public const string Name = "hello";

    private readonly HttpServerLoop _loop;

    public DemoHelloApp() => _loop = new HttpServerLoop(this);

    public Task HandleAsync(Connection connection) => _loop.HandleAsync(connection);

    public ValueTask ProcessRequestAsync(HttpExchange exchange)
    {
        var path = exchange.Path;
        if (!path.SequenceEqual("/plaintext"u8) && !path.SequenceEqual("/"u8))
        {
            exchange.WriteError(404);
        }
        else if (exchange.Method is not (RequestMethod.Get or RequestMethod.Head))
        {
            exchange.WriteError(405);
        }
        else
        {
            exchange.WriteResponse(200, "text/plain"u8, "Hello, World!"u8);
        }

        return default;
    }
}
