using System.Net;
using System.Net.Sockets;
using System.Text;
using Xunit.Abstractions;

namespace Fastsock.Tests.Support;

/// <summary>
/// Counts what a server process allocates per keep-alive <c>GET /plaintext</c> ("Hello, World!").
/// </summary>
/// <remarks>
/// Handlers run on worker threads, so a per-thread counter read by the test would miss them; instead this counts every
/// byte the process allocates (<see cref="GC.GetTotalAllocatedBytes(bool)"/>) while a client that itself allocates
/// nothing per request (preallocated buffers, synchronous Send/Receive on a dedicated thread) drives the server. The
/// bound is under one byte per request, so any per-request allocation anywhere fails it. The runtime allocates a few
/// bytes once in a while on its own (tiered compilation moving a hot loop to optimised code, a timer firing): the probe
/// warms up, then measures up to three windows and passes when one is clean. A per-request allocation shows in every
/// window; a one-off runtime event in at most one.
/// </remarks>
internal static class KeepAliveAllocationProbe
{
    private const int WarmUpRequests = 5_000;
    private const int WindowRequests = 20_000;
    private const long MaxBytesPerWindow = WindowRequests; // < 1 byte per request
    private const int Windows = 3;
    private const string Body = "Hello, World!";

    private static readonly byte[] Request = Encoding.ASCII.GetBytes(
        "GET /plaintext HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: wrk\r\nAccept: text/plain\r\nConnection: keep-alive\r\n\r\n");

    /// <summary>Drives <paramref name="endPoint"/> with <paramref name="batch"/> pipelined requests per write and asserts a clean window.</summary>
    public static async Task AssertAllocatesNothingAsync(EndPoint endPoint, int batch, ITestOutputHelper output)
    {
        long[] windows = [];
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                windows = MeasureWindows(endPoint, batch);
            }
            catch (Exception ex)
            {
                failure = ex;
            }
        })
        { IsBackground = true, Name = "allocation-client" };
        thread.Start();
        Assert.True(await Task.Run(() => thread.Join(TimeSpan.FromSeconds(120))), "The load did not finish within 120 s.");
        if (failure is not null)
        {
            throw new InvalidOperationException("The load client failed.", failure);
        }

        foreach (long bytes in windows)
        {
            output.WriteLine($"batch {batch}: {bytes} B over {WindowRequests} requests = {(double)bytes / WindowRequests:F4} B/request");
        }

        Assert.True(
            windows.Any(bytes => bytes < MaxBytesPerWindow),
            $"Every window allocated at least {MaxBytesPerWindow} B per {WindowRequests} requests: {string.Join(", ", windows)} B.");
    }

    /// <summary>Runs on a dedicated thread; nothing in the loops allocates.</summary>
    private static long[] MeasureWindows(EndPoint endPoint, int batch)
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveTimeout = 30_000, SendTimeout = 30_000 };
        socket.Connect(endPoint);
        byte[] send = new byte[Request.Length * batch];
        for (int i = 0; i < batch; i++)
        {
            Request.CopyTo(send, i * Request.Length);
        }

        // Every response has the same length (the Date field is fixed-width), so one tells the size of all.
        byte[] receive = new byte[64 * 1024];
        int batchLength = FirstResponseLength(socket, receive) * batch;
        Assert.True(batchLength <= receive.Length);

        RunBatches(socket, send, receive, batchLength, WarmUpRequests / batch);
        var windows = new List<long>(Windows);
        for (int w = 0; w < Windows; w++)
        {
            long before = GC.GetTotalAllocatedBytes(precise: true);
            RunBatches(socket, send, receive, batchLength, WindowRequests / batch);
            long bytes = GC.GetTotalAllocatedBytes(precise: true) - before;
            windows.Add(bytes);

            // Outside the window: a wrong response length would desynchronise the stream, so check a batch ended right.
            Assert.EndsWith("\r\n\r\n" + Body, Encoding.ASCII.GetString(receive, 0, batchLength), StringComparison.Ordinal);
            if (bytes < MaxBytesPerWindow)
            {
                break;
            }
        }

        return [.. windows];
    }

    private static void RunBatches(Socket socket, byte[] send, byte[] receive, int batchLength, int batches)
    {
        for (int b = 0; b < batches; b++)
        {
            int sent = 0;
            while (sent < send.Length)
            {
                sent += socket.Send(send.AsSpan(sent), SocketFlags.None);
            }

            int received = 0;
            while (received < batchLength)
            {
                int n = socket.Receive(receive.AsSpan(received, batchLength - received), SocketFlags.None);
                if (n == 0)
                {
                    throw new EndOfStreamException($"The server closed the connection after {received} of {batchLength} bytes.");
                }

                received += n;
            }
        }
    }

    private static int FirstResponseLength(Socket socket, byte[] receive)
    {
        socket.Send(Request);
        int received = 0;
        string text;
        do
        {
            int n = socket.Receive(receive.AsSpan(received), SocketFlags.None);
            if (n == 0)
            {
                throw new EndOfStreamException("The server closed the connection before the first response.");
            }

            received += n;
            text = Encoding.ASCII.GetString(receive, 0, received);
        }
        while (!text.EndsWith(Body, StringComparison.Ordinal));

        return received;
    }
}
