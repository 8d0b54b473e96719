using System.Buffers;
using System.Diagnostics;
using System.Text;
using Fastsock.Hosting;
using Fastsock.Http.Server;
using Fastsock.Locality;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Http.Server;

/// <summary>
/// An app on <see cref="HttpServerLoop"/> with one route per behaviour under test:
/// <c>/plaintext</c> "Hello, World!" (what the allocation probe expects); <c>/echo</c> reads the whole body and sends it
/// back; <c>/parts</c> writes a 10-byte body in two parts after an extra header; <c>/where</c> answers "host|path|query"; <c>/slow</c> answers only once the server is shutting down;
/// anything else "ignored", without reading the body.
/// </summary>
internal sealed class LoopTestApp : IHttpApplication
{
    /// <summary>Set when a <c>/slow</c> request reached the app.</summary>
    public TaskCompletionSource SlowEntered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static async Task<(FastsockServer Server, LoopTestApp App)> StartAsync(Action<FastsockServerOptions>? configure = null)
    {
        var app = new LoopTestApp();
        var server = await TestServers.StartAsync(new HttpServerLoop(app).HandleAsync, configure ?? (o => o.Cores = CoreSets.First));
        return (server, app);
    }

    public ValueTask ProcessRequestAsync(HttpExchange exchange)
    {
        var path = exchange.Path;
        if (path.SequenceEqual("/plaintext"u8))
        {
            exchange.WriteResponse(200, "text/plain"u8, "Hello, World!"u8);
        }
        else if (path.SequenceEqual("/echo"u8))
        {
            return EchoAsync(exchange);
        }
        else if (path.SequenceEqual("/where"u8))
        {
            var where = $"{Encoding.ASCII.GetString(exchange.Host)}|{Encoding.ASCII.GetString(exchange.Path)}|{Encoding.ASCII.GetString(exchange.Query)}";
            exchange.WriteResponse(200, "text/plain"u8, Encoding.ASCII.GetBytes(where));
        }
        else if (path.SequenceEqual("/parts"u8))
        {
            exchange.StartResponse(200, "text/plain"u8, 10);
            exchange.WriteHeader("X-Parts"u8, "2"u8);
            exchange.WriteBody("01234"u8);
            exchange.WriteBody("56789"u8);
        }
        else if (path.SequenceEqual("/slow"u8))
        {
            return SlowAsync(exchange);
        }
        else
        {
            exchange.WriteResponse(200, "text/plain"u8, "ignored"u8);
        }

        return default;
    }

    private static async ValueTask EchoAsync(HttpExchange exchange)
    {
        var received = new ArrayBufferWriter<byte>();
        while (true)
        {
            var data = await exchange.ReadBodyAsync();
            if (data.IsEmpty)
            {
                break;
            }

            foreach (var segment in data)
            {
                received.Write(segment.Span);
            }
        }

        exchange.WriteResponse(200, "application/octet-stream"u8, received.WrittenSpan);
    }

    private async ValueTask SlowAsync(HttpExchange exchange)
    {
        SlowEntered.TrySetResult();
        var waited = Stopwatch.StartNew();
        while (!exchange.Connection.IsShutdownRequested)
        {
            if (waited.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new TimeoutException("The server did not start shutting down within 30 s.");
            }

            await Task.Delay(10); // resumes on the connection's worker (its synchronization context)
        }

        exchange.WriteResponse(200, "text/plain"u8, "finished"u8);
    }
}
