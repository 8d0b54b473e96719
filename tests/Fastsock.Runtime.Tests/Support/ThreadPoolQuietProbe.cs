using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Xunit.Abstractions;

namespace Fastsock.Tests.Support;

/// <summary>
/// Counts the .NET thread-pool work items a server process runs while it serves keep-alive <c>GET /plaintext</c>
/// requests, against an idle window of the same length.
/// </summary>
/// <remarks>
/// A request should live on its worker thread from the read to the write; anything that resumes or runs on the thread
/// pool instead (an await that lost the worker's context, a timer per request) shows as
/// <see cref="ThreadPool.CompletedWorkItemCount"/> growing with the requests. The client runs on a dedicated thread with
/// synchronous sockets, so it queues nothing itself. Periodic runtime and server work (a sweep timer, the GC's or tiered
/// compilation's own items) also runs while idle, so the idle window of the same length is subtracted; what is left
/// must stay under one work item per <see cref="RequestsPerWorkItem"/> requests. Up to three windows are measured and
/// one clean window passes: a per-request cause shows in every window, a one-off event in at most one.
/// </remarks>
internal static class ThreadPoolQuietProbe
{
    public const int RequestsPerWorkItem = 100;
    private const int WarmUpRequests = 5_000;
    private const int WindowRequests = 20_000;
    private const int Windows = 3;

    /// <summary>Drives <paramref name="endPoint"/> over <paramref name="connections"/> keep-alive connections and asserts a quiet window.</summary>
    public static async Task AssertQuietAsync(EndPoint endPoint, int connections, string body, ITestOutputHelper output)
    {
        int rounds = WindowRequests / connections;
        int requests = rounds * connections;
        var windows = new List<(long Load, long Idle)>();
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                Measure(endPoint, connections, body, rounds, requests, windows);
            }
            catch (Exception ex)
            {
                failure = ex;
            }
        })
        { IsBackground = true, Name = "thread-pool-quiet-client" };
        thread.Start();
        Assert.True(await Task.Run(() => thread.Join(TimeSpan.FromSeconds(180))), "The load did not finish within 180 s.");
        if (failure is not null)
        {
            throw new InvalidOperationException("The load client failed.", failure);
        }

        foreach (var (load, idle) in windows)
        {
            output.WriteLine($"{connections} connection(s): {load} thread-pool work items over {requests} requests, {idle} over an idle window as long");
        }

        Assert.True(
            windows.Exists(w => IsQuiet(w.Load, w.Idle, requests)),
            $"Every window ran at least one thread-pool work item per {RequestsPerWorkItem} requests beyond the idle baseline " +
            $"({requests} requests; load/idle: {string.Join(", ", windows.Select(w => $"{w.Load}/{w.Idle}"))}).");
    }

    private static bool IsQuiet(long load, long idle, int requests) => (load - idle) * RequestsPerWorkItem < requests;

    private static void Measure(EndPoint endPoint, int connections, string body, int rounds, int requests, List<(long Load, long Idle)> windows)
    {
        var sockets = new Socket[connections];
        try
        {
            for (int c = 0; c < connections; c++)
            {
                sockets[c] = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveTimeout = 30_000, SendTimeout = 30_000 };
                sockets[c].Connect(endPoint);
            }

            var send = KeepAliveAllocationProbe.Request;
            byte[] receive = new byte[64 * 1024];
            int length = 0;
            foreach (var socket in sockets)
            {
                length = KeepAliveAllocationProbe.FirstResponseLength(socket, receive, body);
            }

            KeepAliveAllocationProbe.RunRounds(sockets, send, receive, length, Math.Max(1, WarmUpRequests / connections));
            for (int w = 0; w < Windows; w++)
            {
                var clock = Stopwatch.StartNew();
                long before = ThreadPool.CompletedWorkItemCount;
                KeepAliveAllocationProbe.RunRounds(sockets, send, receive, length, rounds);
                long load = ThreadPool.CompletedWorkItemCount - before;
                var elapsed = clock.Elapsed;

                // The baseline: the same length of time with the connections open and nothing sent.
                before = ThreadPool.CompletedWorkItemCount;
                Thread.Sleep(elapsed);
                long idle = ThreadPool.CompletedWorkItemCount - before;
                windows.Add((load, idle));
                if (IsQuiet(load, idle, requests))
                {
                    break;
                }
            }
        }
        finally
        {
            foreach (var socket in sockets)
            {
                socket?.Dispose();
            }
        }
    }
}
