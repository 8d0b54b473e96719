// Minimal Kestrel plaintext server, the TechEmpower way: one terminal middleware that writes
// pre-encoded bytes with a fixed Content-Length. No routing, no logging, no host filtering.
// GET /contention answers Monitor.LockContentionCount as plain text (read by perf/run around a load run).
// Usage: dotnet fastsock-perf-kestrel.dll --urls http://127.0.0.1:PORT

using System.Globalization;

var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(static options =>
{
    options.AddServerHeader = false;
    options.Limits.MaxConcurrentConnections = null;
    options.Limits.MaxConcurrentUpgradedConnections = null;
    options.Limits.MinRequestBodyDataRate = null;
    options.Limits.MinResponseDataRate = null;
    options.Limits.Http2.MaxStreamsPerConnection = 100;
});

var app = builder.Build();
app.Run(PlaintextHandler.HandleAsync);
app.Run();

internal static class PlaintextHandler
{
    private static readonly byte[] Body = "Hello, World!"u8.ToArray();

    public static Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        if (HttpMethods.IsGet(request.Method) && request.Path.Equals("/contention", StringComparison.Ordinal))
        {
            response.ContentType = "text/plain";
            return response.WriteAsync(Monitor.LockContentionCount.ToString(CultureInfo.InvariantCulture));
        }

        if (!HttpMethods.IsGet(request.Method) || !request.Path.Equals("/plaintext", StringComparison.Ordinal))
        {
            response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }

        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/plain";
        response.ContentLength = Body.Length;
        return response.Body.WriteAsync(Body, 0, Body.Length);
    }
}
