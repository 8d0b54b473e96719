// CPU cost of forwarding through a Fastsock relay on loopback: copy vs splice.
// client thread (CPU 1) → relay worker (CPU 0, the measured thread) → sink thread (CPU 1), N GiB one way per mode.
// The relay worker's CPU time comes from /proc/self/task/TID/stat (utime + stime: splice and loopback transmit
// run in its system time), so the client and the sink are not counted; process CPU is printed for reference.
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Fastsock.Hosting;
using Fastsock.Locality;
using Fastsock.Transport;

long gib = args.Length > 0 ? long.Parse(args[0], CultureInfo.InvariantCulture) : 4;
int pipeKiB = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 256;
long total = gib << 30;
var cpus = CpuSet.Allowed();
int relayCpu = cpus[0];
int otherCpu = cpus[^1];
Console.WriteLine($"{gib} GiB one way per run; relay worker on CPU {relayCpu}, client and sink on CPU {otherCpu}; splice pipe {pipeKiB} KiB");

foreach (var mode in new[] { ForwardingMode.Copy, ForwardingMode.Splice, ForwardingMode.Copy, ForwardingMode.Splice })
{
    await RunAsync(mode);
}

async Task RunAsync(ForwardingMode mode)
{
    using var sinkListener = new Socket(SocketType.Stream, ProtocolType.Tcp);
    sinkListener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
    sinkListener.Listen();
    var options = new ForwardingOptions { PipeSize = pipeKiB * 1024 };
    await using var relay = FastsockServer.CreateBuilder()
        .Configure(o => o.Cores = CpuSet.Of(relayCpu))
        .Listen(new IPEndPoint(IPAddress.Loopback, 0), async client =>
        {
            var backend = await FastsockConnector.ConnectAsync(sinkListener.LocalEndPoint!);
            await ConnectionForwarder.ForwardAsync(client, backend, mode, options);
        })
        .Build();
    await relay.StartAsync();
    int relayTid = relay.Workers[0].ThreadId;

    var sink = Pinned(() =>
    {
        using var socket = sinkListener.Accept();
        var buffer = new byte[1 << 20];
        long received = 0;
        int n;
        while ((n = socket.Receive(buffer)) > 0)
        {
            received += n;
        }

        return received;
    });

    using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
    client.Connect(relay.EndPoints[0]);
    await Task.Delay(100); // the forward is set up before the first byte, so splice moves every byte

    double relayBefore = ThreadCpuSeconds(relayTid);
    var processBefore = Process.GetCurrentProcess().TotalProcessorTime;
    var clock = Stopwatch.StartNew();
    await Pinned(() =>
    {
        var chunk = new byte[1 << 20];
        Random.Shared.NextBytes(chunk);
        for (long sent = 0; sent < total; sent += chunk.Length)
        {
            client.Send(chunk);
        }

        client.Shutdown(SocketShutdown.Send);
        return 0L;
    });
    long got = await sink;
    clock.Stop();
    double relaySeconds = ThreadCpuSeconds(relayTid) - relayBefore;
    double processCpu = (Process.GetCurrentProcess().TotalProcessorTime - processBefore).TotalSeconds;
    double gb = total / 1e9;
    var stats = relay.GetStats()[0];
    Console.WriteLine(FormattableString.Invariant(
        $"{mode,-6}: {got >> 20} MiB in {clock.Elapsed.TotalSeconds:0.00} s ({gb / clock.Elapsed.TotalSeconds:0.00} GB/s); relay worker {relaySeconds:0.000} CPU s = {relaySeconds / gb:0.000} CPU s/GB; whole process {processCpu / gb:0.000} CPU s/GB; spliced {stats.BytesSpliced >> 20} MiB, copied {stats.BytesCopied >> 20} MiB"));
    if (got != total)
    {
        throw new InvalidOperationException($"sink got {got} bytes, expected {total}");
    }
}

static double ThreadCpuSeconds(int tid)
{
    // Fields 14 and 15 (utime, stime) in clock ticks; the command name (field 2) may hold spaces, so split after ')'.
    var stat = File.ReadAllText($"/proc/self/task/{tid}/stat");
    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    long ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
    return ticks / 100.0; // USER_HZ is 100 on Linux
}

Task<long> Pinned(Func<long> body)
{
    var done = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
    new Thread(() =>
    {
        try
        {
            CpuAffinity.PinCurrentThread(otherCpu);
            done.SetResult(body());
        }
        catch (Exception ex)
        {
            done.SetException(ex);
        }
    }) { IsBackground = true }.Start();
    return done.Task;
}
