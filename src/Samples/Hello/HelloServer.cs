using Fastsock.Hosting;
using Fastsock.Locality;
using Fastsock.Native;
using Microsoft.Extensions.Logging;

namespace Fastsock.Samples.Hello;

/// <summary>Builds the server from the command line, prints where it listens, runs until SIGTERM/Ctrl+C.</summary>
internal static class HelloServer
{
    public static int Run(string[] urls, string cores, ListenerSteering steering, LogLevel logLevel, bool tcpFriends = false)
    {
        using var loggerFactory = LoggerFactory.Create(logging => logging
            .SetMinimumLevel(logLevel)
            .AddSimpleConsole(console =>
            {
                console.SingleLine = true;
                console.TimestampFormat = "HH:mm:ss ";
            }));
        using var unobservedTaskExceptions = new UnobservedTaskExceptionLog(loggerFactory.CreateLogger("Fastsock.Hello")); // a lost task fault is one warning

        FastsockServer? server = null;
        try
        {
            var builder = FastsockServer.CreateBuilder()
                .UseLoggerFactory(loggerFactory)
                .Configure(options =>
                {
                    options.Cores = CpuSet.Parse(cores);
                    options.Steering = steering;
                    options.TcpFriends.Enabled = tcpFriends;
                });
            var app = new HelloApp(() => server!.GetStats(), () => server!.GetTcpFriendsStats());
            foreach (var url in urls)
            {
                builder.Listen(url, app.HandleAsync);
            }

            server = builder.Build();
            server.StartAsync().GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or NativeCallException or InvalidOperationException)
        {
            Console.Error.WriteLine($"fastsock-hello: {ex.Message}");
            return 2;
        }

        foreach (var endPoint in server!.EndPoints)
        {
            Console.WriteLine($"Listening on http://{endPoint}");
        }

        foreach (var (worker, cpu, threadId) in server.Workers)
        {
            Console.WriteLine($"Worker {worker} -> CPU {cpu} (thread fastsock-w{worker}, tid {threadId})");
        }

        if (server.TcpFriendsCgroup is { } cgroup)
        {
            Console.WriteLine($"TCP friends on cgroup {cgroup}");
        }

        // The signal handlers are in place once WaitForShutdownAsync has returned its task: only then may the line
        // that invites Ctrl+C appear (a script that sends SIGINT on seeing it would otherwise race the registration).
        var shutdown = server.WaitForShutdownAsync();
        Console.WriteLine("Press Ctrl+C to stop.");
        shutdown.GetAwaiter().GetResult();
        return 0;
    }
}
