using System.Diagnostics;
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
/// bound is under one byte per request, so any per-request allocation anywhere fails it. The process allocates on its
/// own too: leftovers of earlier tests still winding down on other threads, timers, tiered compilation moving a hot
/// loop to optimised code. So each loaded window is followed by an idle window of the same length, and only what the
/// load allocated beyond that baseline counts; the probe warms up, then measures up to five windows and passes when
/// one is clean. A per-request allocation shows in every window; a pool growing to a new peak only in some.
/// With several connections the client writes a batch to every connection before reading any answer, so the server has
/// that many exchanges suspended at once (what pools sized for one in-flight request per thread get wrong).
/// </remarks>
internal static class KeepAliveAllocationProbe
{
    private const int WarmUpRequests = 5_000;
    private const int WindowRequests = 20_000;
    private const int Windows = 5;

    // Many connections: pools sized by the peak of exchanges in flight (box pools, backend connections) reach that peak
    // over the first rounds, whatever the request count, so the warm-up is also a number of rounds.
    private const int MinWarmUpRounds = 30;
    private const string Body = "Hello, World!";

    internal static readonly byte[] Request = Encoding.ASCII.GetBytes(
        "GET /plaintext HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: wrk\r\nAccept: text/plain\r\nConnection: keep-alive\r\n\r\n");

    /// <summary>
    /// Drives <paramref name="endPoint"/> over <paramref name="connections"/> keep-alive connections at once with
    /// <paramref name="batch"/> pipelined requests per write, and asserts a clean window.
    /// </summary>
    public static async Task AssertAllocatesNothingAsync(EndPoint endPoint, int batch, ITestOutputHelper output, int connections = 1)
    {
        int rounds = WindowRequests / (batch * connections);
        int requests = rounds * batch * connections;
        Window[] windows = [];
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                windows = MeasureWindows(endPoint, batch, connections, rounds);
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

        foreach (var window in windows)
        {
            output.WriteLine($"{connections} connection(s), batch {batch}: {window.Loaded} B over {requests} requests, {window.Idle} B idle as long: {(double)window.Excess / requests:F4} B/request");
        }

        Assert.True(
            windows.Any(window => window.Excess < requests),
            $"Every window allocated at least {requests} B per {requests} requests beyond its idle baseline: {string.Join(", ", windows.Select(w => w.Excess))} B.");
    }

    /// <summary>Runs on a dedicated thread; nothing in the loops allocates.</summary>
    private static Window[] MeasureWindows(EndPoint endPoint, int batch, int connections, int rounds)
    {
        var sockets = new Socket[connections];
        try
        {
            for (int c = 0; c < connections; c++)
            {
                sockets[c] = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveTimeout = 30_000, SendTimeout = 30_000 };
                sockets[c].Connect(endPoint);
            }

            return MeasureWindows(sockets, batch, rounds);
        }
        finally
        {
            foreach (var socket in sockets)
            {
                socket?.Dispose();
            }
        }
    }

    private static Window[] MeasureWindows(Socket[] sockets, int batch, int rounds)
    {
        byte[] send = new byte[Request.Length * batch];
        for (int i = 0; i < batch; i++)
        {
            Request.CopyTo(send, i * Request.Length);
        }

        // Every response has the same length (the Date field is fixed-width), so one tells the size of all.
        byte[] receive = new byte[64 * 1024];
        int batchLength = 0;
        foreach (var socket in sockets)
        {
            batchLength = FirstResponseLength(socket, receive) * batch;
        }

        Assert.True(batchLength <= receive.Length);

        RunRounds(sockets, send, receive, batchLength, Math.Max(MinWarmUpRounds, WarmUpRequests / (batch * sockets.Length)));
        var windows = new List<Window>(Windows);
        for (int w = 0; w < Windows; w++)
        {
            long started = Stopwatch.GetTimestamp();
            long before = GC.GetTotalAllocatedBytes(precise: true);
            RunRounds(sockets, send, receive, batchLength, rounds);
            long loaded = GC.GetTotalAllocatedBytes(precise: true) - before;
            var length = Stopwatch.GetElapsedTime(started);

            before = GC.GetTotalAllocatedBytes(precise: true);
            Thread.Sleep(length);
            var window = new Window(loaded, GC.GetTotalAllocatedBytes(precise: true) - before);
            windows.Add(window);

            // Outside the window: a wrong response length would desynchronise the stream, so check a batch ended right.
            Assert.EndsWith("\r\n\r\n" + Body, Encoding.ASCII.GetString(receive, 0, batchLength), StringComparison.Ordinal);
            if (window.Excess < (long)rounds * batch * sockets.Length) // < 1 byte per request
            {
                break;
            }
        }

        return [.. windows];
    }

    /// <summary>A round writes one batch to every connection, then reads every connection's answers.</summary>
    internal static void RunRounds(Socket[] sockets, byte[] send, byte[] receive, int batchLength, int rounds)
    {
        for (int r = 0; r < rounds; r++)
        {
            foreach (var socket in sockets)
            {
                int sent = 0;
                while (sent < send.Length)
                {
                    sent += socket.Send(send.AsSpan(sent), SocketFlags.None);
                }
            }

            foreach (var socket in sockets)
            {
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
    }

    /// <summary>Sends one request and reads its response (ending with <paramref name="body"/>): the length of every response.</summary>
    internal static int FirstResponseLength(Socket socket, byte[] receive, string body = Body)
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
        while (!text.EndsWith(body, StringComparison.Ordinal));

        return received;
    }

    /// <summary>Bytes the process allocated under load, and in an idle window as long right after.</summary>
    private readonly record struct Window(long Loaded, long Idle)
    {
        public long Excess => Loaded - Idle;
    }
}
