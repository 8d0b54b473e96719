using System.Runtime.Versioning;
using Fastsock.Hosting;
using Fastsock.Http.Server;
using PackageConsumer;

// Fastsock drives Linux syscalls: an app on it declares it runs on Linux (CA1416 checks every call otherwise).
[assembly: SupportedOSPlatform("linux")]

// Usage: fastsock-package-consumer [URL]  (default http://127.0.0.1:0: any free port, printed once listening).
string url = args.Length > 0 ? args[0] : "http://127.0.0.1:0";
var loop = new HttpServerLoop(new GreetingApp());
await using var server = FastsockServer.CreateBuilder()
    .Listen(url, loop.HandleAsync)
    .Build();
await server.StartAsync().ConfigureAwait(false);
foreach (var endPoint in server.EndPoints)
{
    Console.WriteLine($"Listening on http://{endPoint}");
}

// Until SIGTERM or Ctrl+C; then the server drains its connections and stops.
await server.WaitForShutdownAsync().ConfigureAwait(false);
Console.WriteLine("Stopped");
