using System.Net;
using System.Net.Sockets;
using System.Text;
using Fastsock.Hosting;
using Fastsock.Locality;
using Fastsock.Samples.Hello;
using Fastsock.Samples.Proxy.Config;
using Fastsock.Samples.Proxy.Frontends;
using Fastsock.Samples.Proxy.Routing;
using Fastsock.Tests.Support;
using Fastsock.Transport;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// A keep-alive request through an http frontend to the in-process Hello app, reusing one pooled backend connection,
/// allocates (almost) nothing in the whole process. Measured like <c>HelloAllocationTests</c>: a client that allocates
/// nothing per request, process-wide allocated bytes over windows of requests, pass when one window is clean.
/// </summary>
public sealed class HttpProxyAllocationTests(ITestOutputHelper output)
{
    private const int WarmUpRequests = 5_000;
    private const int WindowRequests = 20_000;
    private const long MaxBytesPerWindow = WindowRequests; // < 1 byte per request
    private const int Windows = 3;

    private static readonly byte[] Request = Encoding.ASCII.GetBytes(
        "GET /plaintext HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: wrk\r\nAccept: text/plain\r\nConnection: keep-alive\r\n\r\n");

    [Fact]
    public async Task Keep_alive_requests_through_the_http_frontend_allocate_nothing_in_the_process()
    {
        var backend = new BackendSettings(
            "hello", BalanceAlgorithm.RoundRobin, [new ServerSettings("hello", new ServerAddress(ServerKind.InProc, null, "hello"), 1, ProxyHeaderMode.None)],
            HealthCheck: null, MaxIdlePerWorker: 8, KeepAliveIdle: TimeSpan.FromSeconds(30));
        var timeouts = new TimeoutSettings(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(60));
        FastsockServer? server = null;
        var hello = new HelloApp(() => server!.GetStats());
        var connector = new ServerConnector(new Dictionary<string, ConnectionHandler> { ["hello"] = hello.HandleAsync }, timeouts.Connect);
        var frontend = new HttpFrontend(
            new FrontendSettings("demo", [], ProxyMode.Http, backend, 1000, false), new BackendPool(backend, 1), connector, timeouts, 0, 1, NullLogger.Instance);
        server = await TestServers.StartAsync(frontend.HandleAsync, o => o.Cores = CpuSet.Of(0));
        await using var running = server;

        long[] windows = [];
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                windows = MeasureWindows(server.EndPoints[0]);
            }
            catch (Exception ex)
            {
                failure = ex;
            }
        })
        { IsBackground = true, Name = "allocation-client" };
        thread.Start();
        Assert.True(await Task.Run(() => thread.Join(TimeSpan.FromSeconds(120))), "The load did not finish within 120 s.");
        Assert.Null(failure);
        foreach (long bytes in windows)
        {
            output.WriteLine($"{bytes} B over {WindowRequests} requests = {(double)bytes / WindowRequests:F4} B/request");
        }

        Assert.True(
            windows.Any(bytes => bytes < MaxBytesPerWindow),
            $"Every window allocated at least {MaxBytesPerWindow} B per {WindowRequests} requests: {string.Join(", ", windows)} B.");
        Assert.Equal(0, server.GetStats().Sum(w => w.HandlerErrors));
    }

    /// <summary>Runs on a dedicated thread; nothing in the loops allocates.</summary>
    private static long[] MeasureWindows(EndPoint endPoint)
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveTimeout = 30_000, SendTimeout = 30_000 };
        socket.Connect(endPoint);
        byte[] receive = new byte[64 * 1024];
        int responseLength = FirstResponseLength(socket, receive);
        Run(socket, receive, responseLength, WarmUpRequests);
        var windows = new List<long>(Windows);
        for (int w = 0; w < Windows; w++)
        {
            long before = GC.GetTotalAllocatedBytes(precise: true);
            Run(socket, receive, responseLength, WindowRequests);
            long bytes = GC.GetTotalAllocatedBytes(precise: true) - before;
            windows.Add(bytes);
            Assert.EndsWith("\r\n\r\nHello, World!", Encoding.ASCII.GetString(receive, 0, responseLength), StringComparison.Ordinal);
            if (bytes < MaxBytesPerWindow)
            {
                break;
            }
        }

        return [.. windows];
    }

    private static void Run(Socket socket, byte[] receive, int responseLength, int requests)
    {
        for (int r = 0; r < requests; r++)
        {
            socket.Send(Request, SocketFlags.None);
            int received = 0;
            while (received < responseLength)
            {
                int n = socket.Receive(receive.AsSpan(received, responseLength - received), SocketFlags.None);
                if (n == 0)
                {
                    throw new EndOfStreamException($"The proxy closed the connection after {received} of {responseLength} bytes.");
                }

                received += n;
            }
        }
    }

    private static int FirstResponseLength(Socket socket, byte[] receive)
    {
        socket.Send(Request);
        int received = 0;
        do
        {
            int n = socket.Receive(receive.AsSpan(received), SocketFlags.None);
            if (n == 0)
            {
                throw new EndOfStreamException("The proxy closed the connection before the first response.");
            }

            received += n;
        }
        while (!Encoding.ASCII.GetString(receive, 0, received).EndsWith("Hello, World!", StringComparison.Ordinal));

        return received;
    }
}
