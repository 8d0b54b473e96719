namespace Fastsock.Http.Server;

/// <summary>
/// An HTTP/1.1 application served by <see cref="HttpServerLoop"/>: called once per request, on the connection's worker,
/// with the exchange that describes the request and writes the response.
/// </summary>
/// <remarks>
/// Return a completed <see cref="ValueTask"/> (<c>default</c>) when the response is written synchronously: that path
/// allocates nothing. An <c>async</c> implementation that awaits on the worker should use
/// <c>[AsyncMethodBuilder(typeof(WorkerPoolingValueTaskMethodBuilder))]</c> so its state machine is pooled.
/// The loop answers with an empty 200 when the application writes no response, as Kestrel does.
/// </remarks>
public interface IHttpApplication
{
    /// <summary>Handles one request: read it from <paramref name="exchange"/> and write the response there.</summary>
    ValueTask ProcessRequestAsync(HttpExchange exchange);
}
