using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Fastsock.Hosting;
using Fastsock.Locality;
using Fastsock.Transport;
using Microsoft.Extensions.Logging;

namespace Fastsock.Perf.Locality;

/// <summary>
/// The active half of the experiment: a FastsockServer whose workers open outbound connections to a backend; every
/// connection records SO_INCOMING_CPU after its first received bytes, and the server's stats count how many of them
/// were processed on their own worker's CPU (OutboundLocal) or elsewhere (OutboundRemote).
/// </summary>
internal static class ActiveRun
{
    /// <summary>The Microsoft/Intel default RSS key (the one most NIC drivers ship as their default).</summary>
    public static readonly byte[] DefaultKey = Convert.FromHexString("6d5a56da255b0ec24167253d43a38fb0d0ca2bcbae7b30b477cb2da38030f20c6a42b73bbeac01fa");

    public static async Task<int> RunAsync(Arguments args)
    {
        var inv = CultureInfo.InvariantCulture;
        var target = FastsockServerBuilder.ParseUrl(args.Require("target"));
        var strategyText = args.Require("strategy");
        var strategy = OutboundOptions.ParseStrategy(strategyText);
        var cores = CpuSet.Parse(args.Get("cores") ?? "0-1");
        int connections = args.Int("connections", 2000, 1, 1_000_000);
        int concurrency = args.Int("concurrency", 16, 1, 4096);
        var listen = args.Get("listen") ?? "127.0.0.1:0";
        var path = args.Get("path") ?? "/plaintext";
        var rssInterface = args.Get("rss-interface");
        bool rssModel = args.Flag("rss-model");

        using var loggerFactory = LoggerFactory.Create(logging => logging
            .SetMinimumLevel(LogLevel.Information)
            .AddSimpleConsole(console => console.SingleLine = true));
        var builder = FastsockServer.CreateBuilder()
            .UseLoggerFactory(loggerFactory)
            .Configure(o =>
            {
                o.Cores = cores;
                o.Outbound.Strategy = strategy;
                o.Outbound.RssInterface = rssInterface;
                if (rssModel)
                {
                    o.Outbound.RssKey = DefaultKey;
                    o.Outbound.RssQueueCpus = [.. cores];
                    o.Outbound.RssIndirectionTable = [.. Enumerable.Range(0, 128).Select(i => i % cores.Count)];
                }
            })
            // The runtime needs one listener; this one is never used.
            .Listen(listen, static c => Task.CompletedTask);

        await using var server = builder.Build();
        await server.StartAsync();
        string effective = server.Connectors.Count > 0 ? server.Connectors[0].Strategy.ToString().ToLowerInvariant() : "none";
        if (strategy == SourcePortStrategy.Rss && effective != "rss" && !rssModel)
        {
            RssTopology.TryLoad(new OutboundOptions { RssInterface = rssInterface }, out var reason);
            Console.Error.WriteLine($"rss unavailable ({reason}); the runtime fell back to the kernel's port choice");
        }

        var request = Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: {target}\r\nConnection: close\r\n\r\n");
        int workers = server.Workers.Count;
        int next = -1;
        int ok = 0;
        int failed = 0;
        string? firstError = null;
        var watch = Stopwatch.StartNew();
        var lanes = Enumerable.Range(0, Math.Min(concurrency, connections)).Select(async _ =>
        {
            while (true)
            {
                int n = Interlocked.Increment(ref next);
                if (n >= connections)
                {
                    return;
                }

                try
                {
                    long bytes = await ExchangeAsync(server, n % workers, target, request);
                    if (bytes > 0)
                    {
                        Interlocked.Increment(ref ok);
                    }
                    else
                    {
                        Interlocked.Increment(ref failed);
                    }
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    Interlocked.Increment(ref failed);
                    Interlocked.CompareExchange(ref firstError, ex.Message, null);
                }
            }
        }).ToArray();
        await Task.WhenAll(lanes);
        watch.Stop();

        // Connections are counted when their transport finishes; wait (bounded) for the last ones to close.
        for (int i = 0; i < 100 && server.GetStats().Sum(s => s.Active) > 0; i++)
        {
            await Task.Delay(50);
        }

        var stats = server.GetStats();
        long local = stats.Sum(s => s.OutboundLocalConnections);
        long remote = stats.Sum(s => s.OutboundRemoteConnections);
        foreach (var s in stats)
        {
            Console.WriteLine(string.Create(inv,
                $"worker {s.Worker} cpu {s.Cpu}: connected {s.Connected} outboundLocal {s.OutboundLocalConnections} outboundRemote {s.OutboundRemoteConnections} connectFailures {s.ConnectFailures} portsExhausted {s.PortsExhausted}"));
        }

        if (firstError is not null)
        {
            Console.Error.WriteLine($"first error: {firstError}");
        }

        double fraction = local + remote == 0 ? double.NaN : (double)local / (local + remote);
        var perWorker = string.Join(' ', stats.Select(s => string.Create(inv, $"w{s.Worker}=cpu{s.Cpu}:{s.OutboundLocalConnections}/{s.OutboundRemoteConnections}")));
        Console.WriteLine(string.Create(inv,
            $"RESULT strategy={strategyText}{(rssModel ? "+model" : "")} effective={effective} target={target} connections={connections} ok={ok} failed={failed} local={local} remote={remote} fraction={fraction:0.0000} seconds={watch.Elapsed.TotalSeconds:0.00} {perWorker}"));
        return failed == 0 ? 0 : 1;
    }

    /// <summary>Connects from <paramref name="worker"/>, sends the request, reads until the peer closes; returns the bytes read.</summary>
    private static async Task<long> ExchangeAsync(FastsockServer server, int worker, IPEndPoint target, byte[] request)
    {
        var connection = await server.ConnectAsync(worker, target);
        var input = connection.Transport.Input;
        var output = connection.Transport.Output;
        long bytes = 0;
        try
        {
            await output.WriteAsync(request);
            while (true)
            {
                var read = await input.ReadAsync();
                bytes += read.Buffer.Length;
                input.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted || read.IsCanceled)
                {
                    break;
                }
            }
        }
        finally
        {
            await output.CompleteAsync();
            await input.CompleteAsync();
        }

        return bytes;
    }
}
