using System.Text;
using Fastsock.Http;
using Fastsock.Http.Server;

namespace PackageConsumer;

/// <summary>Answers every GET with a greeting that names the worker and CPU that served it.</summary>
internal sealed class GreetingApp : IHttpApplication
{
    public ValueTask ProcessRequestAsync(HttpExchange exchange)
    {
        if (exchange.Method is not (RequestMethod.Get or RequestMethod.Head))
        {
            exchange.WriteError(405);
            return default;
        }

        var connection = exchange.Connection;
        string text = $"Hello from Fastsock.Runtime: worker {connection.WorkerIndex}, CPU {connection.WorkerCpu}\n";
        exchange.WriteResponse(200, "text/plain"u8, Encoding.UTF8.GetBytes(text));
        return default;
    }
}
