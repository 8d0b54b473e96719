using System.Net;
using System.Text.Json;
using Fastsock.Tests.Samples;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// fastsock-proxy processes handing their listeners over (<c>admin.socket</c>, <c>--takeover</c>) while real clients
/// keep using them: nothing the clients do may fail, and the old process drains and exits 0.
/// </summary>
[Trait("Category", "Slow")] // real processes, peers or long loads: skip with --filter Category!=Slow
public sealed class ProxyTakeoverTests : IDisposable
{
    private static readonly string ProxyDll = Path.Combine(AppContext.BaseDirectory, "fastsock-proxy.dll");
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(30);
    private readonly string _dir = Directory.CreateTempSubdirectory("fastsock-takeover-").FullName;

    private string Socket => Path.Combine(_dir, "admin.sock");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Config(string backend = "inproc:hello", string name = "proxy.json", string frontends = """{ "name": "web", "bind": ["127.0.0.1:0"], "mode": "http", "backend": "app" }""")
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, $$"""
            { "admin": { "bind": "127.0.0.1:0", "socket": "{{Socket}}" },
              "frontends": [ {{frontends}} ],
              "backends": [ { "name": "app", "servers": [ { "address": "{{backend}}" } ] } ] }
            """);
        return path;
    }

    private static async Task<SampleProcess> StartAsync(string arguments)
    {
        var proxy = SampleProcess.Start(ProxyDll, arguments);
        await proxy.WaitForLineAsync("Press Ctrl+C");
        return proxy;
    }

    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task A_takeover_under_constant_load_loses_no_request_and_no_connection(string cores)
    {
        var config = Config();
        using var old = await StartAsync($"--config {config} --cores {cores}");
        var web = await old.ListeningOnAsync("frontend web");
        await using var load = ConstantLoad.Start(web, keepAliveClients: 8);
        await load.WaitForRequestsAsync(200);

        using var successor = await StartAsync($"--config {config} --cores {cores} --takeover {Socket}");
        Assert.Equal(0, await old.WaitForExitAsync(ExitTimeout));
        Assert.Equal(web, await successor.ListeningOnAsync("frontend web"));
        await load.WaitForRequestsAsync(load.Completed + 200);
        await load.WaitForNewConnectionsAsync(load.NewConnections + 20);

        var errors = await load.StopAsync();
        Assert.True(errors.Count == 0, $"{errors.Count} client errors during the takeover, first: {(errors.Count > 0 ? errors[0] : "")}");
        int listeners = 2 * Fastsock.Locality.CpuSet.Parse(cores).Count; // web and admin, one socket per worker each
        Assert.Contains($"Handed {listeners} listening sockets over", old.Stdout, StringComparison.Ordinal);
        Assert.Contains($"Took over {listeners} listening sockets from {Socket}", successor.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task After_a_takeover_every_connection_is_still_accepted_on_the_cpu_that_sent_it(string cores)
    {
        var config = Config();
        using var old = await StartAsync($"--config {config} --cores {cores}");
        var web = await old.ListeningOnAsync("frontend web");
        var admin = await old.ListeningOnAsync("admin");
        var before = await LocalityAsync(admin, web, cores);

        using var successor = await StartAsync($"--config {config} --cores {cores} --takeover {Socket}");
        Assert.Equal(0, await old.WaitForExitAsync(ExitTimeout));
        var after = await LocalityAsync(admin, web, cores);

        Assert.Equal(before.Keys, after.Keys);
        foreach (var (cpu, (local, remote)) in after)
        {
            Assert.Equal(0, before[cpu].Remote);
            Assert.Equal(0, remote);
            Assert.True(local >= ConnectionsPerCpu, $"worker on CPU {cpu} accepted {local} local connections after the takeover, expected at least {ConnectionsPerCpu}");
        }
    }

    [Fact]
    public async Task Requests_in_flight_in_the_old_process_complete_after_the_takeover()
    {
        var requestSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var answer = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var backend = new RawBackend(async conversation =>
        {
            await conversation.ReadHeadAsync();
            requestSeen.TrySetResult();
            await answer.Task;
            await conversation.Socket.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nslow"u8.ToArray());
            await conversation.ReadHeadAsync(); // holds the connection until the proxy closes it
        });
        var config = Config($"127.0.0.1:{backend.Port}");
        using var old = await StartAsync($"--config {config} --cores {CoreSets.FirstText}");
        using var client = await RawHttpClient.ConnectAsync(await old.ListeningOnAsync("frontend web"));
        await client.SendAsync("GET /slow HTTP/1.1\r\nHost: test\r\n\r\n");
        await requestSeen.Task.WaitAsync(Clients.Timeout);

        using var successor = await StartAsync($"--config {config} --cores {CoreSets.FirstText} --takeover {Socket}");
        await old.WaitForLineAsync("Handed");
        Assert.False(old.HasExited, "the old process exited with a request in flight");
        answer.SetResult();

        var response = await client.ReadResponseAsync();
        Assert.Equal(200, response.Status);
        Assert.Equal("slow", response.Body);
        Assert.Equal("close", response.Header("Connection"));
        Assert.Equal(0, await old.WaitForExitAsync(ExitTimeout));
    }

    [Fact]
    public async Task Killing_the_old_process_after_the_takeover_loses_no_listener()
    {
        // A request the backend never answers keeps the old process draining, so the kill lands while it still
        // holds its copies of the listening sockets.
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var backend = new RawBackend(async conversation =>
        {
            while (true)
            {
                var head = await conversation.ReadHeadAsync();
                if (head.StartsWith("GET /hold", StringComparison.Ordinal))
                {
                    held.TrySetResult();
                    await release.Task;
                    return;
                }

                await conversation.Socket.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, World!"u8.ToArray());
            }
        });
        var config = Config($"127.0.0.1:{backend.Port}");
        using var old = await StartAsync($"--config {config} --cores {CoreSets.FirstText}");
        var web = await old.ListeningOnAsync("frontend web");
        using var holding = await RawHttpClient.ConnectAsync(web);
        await holding.SendAsync("GET /hold HTTP/1.1\r\nHost: test\r\n\r\n");
        await held.Task.WaitAsync(Clients.Timeout);

        using var successor = await StartAsync($"--config {config} --cores {CoreSets.FirstText} --takeover {Socket}");
        await old.WaitForLineAsync("Handed");
        old.Signal("KILL");
        await old.WaitForExitAsync(ExitTimeout);
        release.SetResult();

        for (int i = 0; i < 50; i++)
        {
            using var client = await RawHttpClient.ConnectAsync(web);
            await client.SendAsync("GET /plaintext HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
            Assert.Equal("Hello, World!", (await client.ReadResponseAsync()).Body);
        }
    }

    [Fact]
    public async Task A_failed_takeover_exits_2_with_one_line_and_the_old_process_keeps_serving()
    {
        var config = Config();
        using var old = await StartAsync($"--config {config} --cores {CoreSets.FirstText}");
        var web = await old.ListeningOnAsync("frontend web");

        var missing = Path.Combine(_dir, "missing.sock");
        using (var noSocket = SampleProcess.Start(ProxyDll, $"--config {config} --cores {CoreSets.FirstText} --takeover {missing}"))
        {
            Assert.Equal(2, await noSocket.WaitForExitAsync(ExitTimeout));
            Assert.StartsWith($"fastsock-proxy: takeover from {missing} failed: connect({missing}): ENOENT", OneLine(noSocket.Stderr), StringComparison.Ordinal);
        }

        var otherFrontends = Config(name: "other.json", frontends: """
            { "name": "web", "bind": ["127.0.0.1:0"], "mode": "http", "backend": "app" },
            { "name": "extra", "bind": ["127.0.0.1:0"], "mode": "tcp", "backend": "app" }
            """);
        using (var different = SampleProcess.Start(ProxyDll, $"--config {otherFrontends} --cores {CoreSets.FirstText} --takeover {Socket}"))
        {
            Assert.Equal(2, await different.WaitForExitAsync(ExitTimeout));
            Assert.StartsWith($"fastsock-proxy: takeover from {Socket} failed: the listeners differ:", OneLine(different.Stderr), StringComparison.Ordinal);
        }

        var invalid = Path.Combine(_dir, "invalid.json");
        File.WriteAllText(invalid, """{ "frontends": [] }""");
        using (var bad = SampleProcess.Start(ProxyDll, $"--config {invalid} --takeover {Socket}"))
        {
            Assert.Equal(2, await bad.WaitForExitAsync(ExitTimeout));
            Assert.StartsWith($"fastsock-proxy: {invalid}: frontends:", OneLine(bad.Stderr), StringComparison.Ordinal);
        }

        Assert.False(old.HasExited, "a failed takeover stopped the old process");
        using var client = await RawHttpClient.ConnectAsync(web);
        await client.SendAsync("GET /plaintext HTTP/1.1\r\nHost: test\r\n\r\n");
        Assert.Equal("Hello, World!", (await client.ReadResponseAsync()).Body);
        Assert.True(File.Exists(Socket), "the old process stopped offering its listeners");
    }

    [Fact]
    public async Task A_second_proxy_on_the_same_admin_socket_without_takeover_exits_2_before_binding_and_the_first_keeps_serving()
    {
        var config = Config();
        using var old = await StartAsync($"--config {config} --cores {CoreSets.FirstText}");
        var web = await old.ListeningOnAsync("frontend web");

        // Its frontend port is held without SO_REUSEPORT: a second proxy that bound before it looked at admin.socket
        // fails on this bind instead (where a shared port would have joined the running proxy's reuseport group).
        using var occupied = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        occupied.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        occupied.Listen();
        var second = Config(name: "second.json", frontends: $$"""{ "name": "web", "bind": ["{{occupied.LocalEndPoint}}"], "mode": "http", "backend": "app" }""");
        using (var duplicate = SampleProcess.Start(ProxyDll, $"--config {second} --cores {CoreSets.FirstText}"))
        {
            Assert.Equal(2, await duplicate.WaitForExitAsync(ExitTimeout));
            Assert.Equal(
                $"fastsock-proxy: hand-over socket {Socket} is in use: a running server offers its listeners there; take them over (--takeover {Socket}) or choose another path (admin.socket)",
                OneLine(duplicate.Stderr));
        }

        Assert.False(old.HasExited, "the second proxy stopped the first");
        Assert.True(File.Exists(Socket), "the first proxy stopped offering its listeners");
        using var client = await RawHttpClient.ConnectAsync(web);
        await client.SendAsync("GET /plaintext HTTP/1.1\r\nHost: test\r\n\r\n");
        Assert.Equal("Hello, World!", (await client.ReadResponseAsync()).Body);
    }

    private const int ConnectionsPerCpu = 30;

    /// <summary>
    /// Connects from a thread pinned to each CPU, then reads each worker's passive locality from the admin JSON. The
    /// admin reads are connections too: they come from the first CPU, so with steering they are local as well.
    /// </summary>
    private static async Task<Dictionary<int, (long Local, long Remote)>> LocalityAsync(IPEndPoint admin, IPEndPoint web, string cores)
    {
        var cpus = Fastsock.Locality.CpuSet.Parse(cores);
        var before = await ReadLocalityAsync(admin, cpus[0]);
        foreach (int cpu in cpus)
        {
            await Clients.RunPinnedAsync(cpu, () =>
            {
                for (int i = 0; i < ConnectionsPerCpu; i++)
                {
                    Get(web, "/plaintext");
                }

                return 0;
            });
        }

        var after = await ReadLocalityAsync(admin, cpus[0]);
        return after.ToDictionary(p => p.Key, p => (p.Value.Local - before.GetValueOrDefault(p.Key).Local, p.Value.Remote - before.GetValueOrDefault(p.Key).Remote));
    }

    private static async Task<Dictionary<int, (long Local, long Remote)>> ReadLocalityAsync(IPEndPoint admin, int cpu)
    {
        var body = await Clients.RunPinnedAsync(cpu, () => Get(admin, "/stats?format=json"));
        using var json = JsonDocument.Parse(body);
        var result = new Dictionary<int, (long, long)>();
        foreach (var worker in json.RootElement.GetProperty("workers").EnumerateArray())
        {
            var passive = worker.GetProperty("locality").GetProperty("passive");
            result[worker.GetProperty("cpu").GetInt32()] = (passive.GetProperty("local").GetInt64(), passive.GetProperty("remote").GetInt64());
        }

        return result;
    }

    /// <summary>A blocking HTTP/1.0 GET from the calling thread (the response ends with the close); returns the body.</summary>
    private static string Get(IPEndPoint endPoint, string target)
    {
        using var socket = Clients.ConnectBlocking(endPoint);
        socket.Send(System.Text.Encoding.ASCII.GetBytes($"GET {target} HTTP/1.0\r\nHost: test\r\n\r\n"));
        var received = new MemoryStream();
        var buffer = new byte[16 * 1024];
        int n;
        while ((n = socket.Receive(buffer)) > 0)
        {
            received.Write(buffer, 0, n);
        }

        var text = System.Text.Encoding.UTF8.GetString(received.ToArray());
        int body = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.True(text.StartsWith("HTTP/1.1 200", StringComparison.Ordinal) && body > 0, $"GET {target}: {text}");
        return text[(body + 4)..];
    }

    private static string OneLine(string stderr)
    {
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(lines.Length == 1, $"expected one line on stderr, got: {stderr}");
        return lines[0];
    }
}
