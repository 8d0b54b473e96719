using Fastsock.Transport;

namespace Fastsock.Http.Server;

/// <summary>
/// The HTTP/1.1 server side of a connection, written once for every app on the runtime: parse each request, answer
/// malformed ones (400/414/431/501/505) and close, call the <see cref="IHttpApplication"/>, step over the body it left
/// unread, keep the connection alive per RFC 9112 §9.3, and serve pipelined requests in order with one flush per read.
/// Its <see cref="HandleAsync"/> is the <see cref="ConnectionHandler"/> to listen with.
/// </summary>
/// <remarks>The choices where the RFCs leave room are listed in <c>src/Runtime/Http/README.md</c>.</remarks>
public sealed class HttpServerLoop
{
    // The parser copies a head that spans buffer segments here; one per worker thread, as a head is parsed in one go.
    [ThreadStatic]
    private static byte[]? t_scratch;

    /// <summary>A loop that serves <paramref name="application"/>, with <paramref name="limits"/> on request heads (default <see cref="HttpParserLimits.Default"/>).</summary>
    public HttpServerLoop(IHttpApplication application, HttpParserLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(application);
        Application = application;
        Parser = new HttpRequestParser(limits ?? HttpParserLimits.Default);
    }

    internal IHttpApplication Application { get; }

    internal HttpRequestParser Parser { get; }

    /// <summary>Serves one connection until it closes, fails or the server shuts down.</summary>
    public Task HandleAsync(Connection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return new HttpServerConnection(this, connection).RunAsync();
    }

    internal byte[] Scratch()
    {
        int length = Parser.Limits.MaxHeadLength;
        var scratch = t_scratch;
        if (scratch is null || scratch.Length < length)
        {
            t_scratch = scratch = new byte[length];
        }

        return scratch;
    }
}
