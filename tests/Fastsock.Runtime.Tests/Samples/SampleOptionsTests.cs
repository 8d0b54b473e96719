using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Samples;

/// <summary>
/// Command-line options of the sample processes that the README promises, seen to take effect from outside: where
/// connections land (/stats), how many listening sockets the kernel holds, which source ports reach a backend.
/// </summary>
public sealed class SampleOptionsTests : IDisposable
{
    private const int ConnectionsPerCpu = 10;
    private static readonly string HelloDll = Path.Combine(AppContext.BaseDirectory, "fastsock-hello.dll");
    private static readonly string ProxyDll = Path.Combine(AppContext.BaseDirectory, "fastsock-proxy.dll");
    private readonly string _dir = Directory.CreateTempSubdirectory("fastsock-options-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [TwoCpuFact]
    public async Task Hello_with_two_workers_and_cpu_steering_serves_each_connection_on_the_worker_of_the_cpu_that_sent_it()
    {
        var cores = CoreSets.FirstTwo;
        using var hello = SampleProcess.Start(HelloDll, $"--urls http://127.0.0.1:0 --cores {cores} --steering cpu");
        var endPoint = await hello.ListeningOnAsync();
        await hello.WaitForLineAsync("Press Ctrl+C");
        Assert.Equal(2, ListeningSockets(endPoint.Port));

        foreach (int cpu in cores)
        {
            Assert.All(await Clients.RunPinnedAsync(cpu, () => GetPlaintext(endPoint, ConnectionsPerCpu)), body => Assert.Equal("Hello, World!", body));
        }

        // Read from the first CPU, so the stats connection itself lands on the first worker.
        var workers = await Clients.RunPinnedAsync(cores[0], () => Workers(endPoint));
        Assert.Equal([(cores[0], ConnectionsPerCpu + 1), (cores[1], ConnectionsPerCpu)], workers.Select(w => (w.Cpu, w.Accepted)));
    }

    [TwoCpuFact]
    public async Task Hello_with_hash_steering_spreads_connections_from_one_cpu_over_both_workers()
    {
        var cores = CoreSets.FirstTwo;
        using var hello = SampleProcess.Start(HelloDll, $"--urls http://127.0.0.1:0 --cores {cores} --steering hash");
        var endPoint = await hello.ListeningOnAsync();
        await hello.WaitForLineAsync("Press Ctrl+C");
        Assert.Equal(2, ListeningSockets(endPoint.Port));

        // 40 connections from one CPU all on one worker by chance: 2 in 2^40.
        await Clients.RunPinnedAsync(cores[0], () => GetPlaintext(endPoint, 40));
        var workers = await Clients.RunPinnedAsync(cores[0], () => Workers(endPoint));
        Assert.All(workers, w => Assert.True(w.Accepted > 0, $"worker on CPU {w.Cpu} accepted nothing: connections were not spread"));
        Assert.Equal(41, workers.Sum(w => w.Accepted));
    }

    [TwoCpuFact]
    public async Task Hello_with_single_steering_holds_one_listening_socket_for_two_workers()
    {
        using var hello = SampleProcess.Start(HelloDll, $"--urls http://127.0.0.1:0 --cores {CoreSets.FirstTwo} --steering single");
        var endPoint = await hello.ListeningOnAsync();
        await hello.WaitForLineAsync("Press Ctrl+C");
        Assert.Equal(1, ListeningSockets(endPoint.Port));
        Assert.Equal(["Hello, World!"], GetPlaintext(endPoint, 1));
    }

    [Fact]
    public async Task Hello_with_an_unknown_steering_exits_2_with_one_line_naming_the_option_the_value_and_the_accepted_values()
    {
        using var hello = SampleProcess.Start(HelloDll, $"--urls http://127.0.0.1:0 --cores {CoreSets.FirstCpu} --steering sideways");
        Assert.Equal(2, await hello.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal("fastsock-hello: --steering: 'sideways' is not one of cpu, hash, single (--help lists the options)", hello.Stderr.Trim());
        Assert.DoesNotContain("Listening on", hello.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Hello_listens_and_answers_on_an_ipv6_url_in_brackets()
    {
        using var hello = SampleProcess.Start(HelloDll, $"--urls http://[::1]:0 --cores {CoreSets.FirstCpu}");
        var endPoint = await hello.ListeningOnAsync();
        await hello.WaitForLineAsync("Press Ctrl+C");
        Assert.Equal(IPAddress.IPv6Loopback, endPoint.Address);
        Assert.Contains($"Listening on http://[::1]:{endPoint.Port}", hello.Stdout, StringComparison.Ordinal);
        Assert.Equal(["Hello, World!"], GetPlaintext(endPoint, 1));
    }

    [Fact]
    public async Task Hello_exits_0_soon_after_sigint()
    {
        // SIGINT inherited as ignored (a test run started with '&' by a script) stays ignored in .NET: env(1) gives the
        // sample the default disposition a terminal would, and execs it, so the pid signalled is the sample's.
        using var hello = SampleProcess.StartProgram("env",
            ["--default-signal=INT", SampleProcess.DotnetHost, HelloDll, "--urls", "http://127.0.0.1:0", "--cores", CoreSets.FirstCpu.ToString(CultureInfo.InvariantCulture)]);
        var endPoint = await hello.ListeningOnAsync();
        await hello.WaitForLineAsync("Press Ctrl+C");
        Assert.Equal(["Hello, World!"], GetPlaintext(endPoint, 1));
        hello.Signal("INT");
        Assert.Equal(0, await hello.WaitForExitAsync(TimeSpan.FromSeconds(15)));
        Assert.Contains("SIGINT received", hello.Stdout, StringComparison.Ordinal);
    }

    [TwoCpuFact]
    public async Task Proxy_with_the_modulo_outbound_strategy_picks_source_ports_whose_remainder_is_the_worker_index()
    {
        var cores = CoreSets.FirstTwo;
        var ports = new List<int>[] { [], [] };
        using var backend = new Socket(SocketType.Stream, ProtocolType.Tcp);
        backend.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        backend.Listen(64);
        var config = Path.Combine(_dir, "proxy.json");
        File.WriteAllText(config, $$"""
            { "frontends": [ { "bind": ["127.0.0.1:0"], "mode": "tcp", "backend": "b" } ],
              "backends": [ { "name": "b", "servers": [ { "address": "127.0.0.1:{{((IPEndPoint)backend.LocalEndPoint!).Port}}" } ] } ] }
            """);
        using var proxy = SampleProcess.Start(ProxyDll, $"--config {config} --cores {cores} --steering cpu --outbound-strategy modulo");
        var frontend = await proxy.ListeningOnAsync("frontend");
        await proxy.WaitForLineAsync("Press Ctrl+C");
        Assert.Contains("Outbound source ports: Modulo", proxy.Stdout, StringComparison.Ordinal);

        for (int worker = 0; worker < 2; worker++)
        {
            for (int i = 0; i < ConnectionsPerCpu; i++)
            {
                // The client's CPU picks the proxy worker (cpu steering); that worker's source port reaches the backend.
                using var client = await Clients.RunPinnedAsync(cores[worker], () => Clients.ConnectBlocking(frontend));
                using var accepted = await backend.AcceptAsync().WaitAsync(TimeSpan.FromSeconds(30));
                ports[worker].Add(((IPEndPoint)accepted.RemoteEndPoint!).Port);
            }
        }

        Assert.All(ports[0], p => Assert.Equal(0, p % 2));
        Assert.All(ports[1], p => Assert.Equal(1, p % 2));
    }

    [TwoCpuFact]
    public async Task Proxy_steering_option_sets_how_many_listening_sockets_two_workers_hold()
    {
        foreach (var (steering, listeners) in new[] { ("single", 1), ("hash", 2) })
        {
            var config = Path.Combine(_dir, $"proxy-{steering}.json");
            File.WriteAllText(config, $$"""
                { "steering": "cpu", "frontends": [ { "bind": ["127.0.0.1:0"], "mode": "http", "backend": "b" } ],
                  "backends": [ { "name": "b", "servers": [ { "address": "inproc:hello" } ] } ] }
                """);
            using var proxy = SampleProcess.Start(ProxyDll, $"--config {config} --cores {CoreSets.FirstTwo} --steering {steering}");
            var frontend = await proxy.ListeningOnAsync("frontend");
            await proxy.WaitForLineAsync("Press Ctrl+C");
            Assert.Equal(listeners, ListeningSockets(frontend.Port));
            Assert.Equal(["Hello, World!"], GetPlaintext(frontend, 1));
        }
    }

    [Fact]
    public async Task Proxy_with_an_unknown_outbound_strategy_exits_2_naming_the_value()
    {
        var config = Path.Combine(_dir, "proxy.json");
        File.WriteAllText(config, $$"""
            { "frontends": [ { "bind": ["127.0.0.1:0"], "mode": "tcp", "backend": "b" } ],
              "backends": [ { "name": "b", "servers": [ { "address": "inproc:hello" } ] } ] }
            """);
        using var proxy = SampleProcess.Start(ProxyDll, $"--config {config} --cores {CoreSets.FirstCpu} --outbound-strategy fastest");
        Assert.Equal(2, await proxy.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal($"fastsock-proxy: {config}: outbound.strategy: Source-port strategy 'fastest' is not known; use kernel, modulo or rss.", proxy.Stderr.Trim());
    }

    [Fact]
    public async Task Proxy_with_an_unknown_steering_exits_2_naming_the_value()
    {
        var config = Path.Combine(_dir, "proxy.json");
        File.WriteAllText(config, $$"""
            { "frontends": [ { "bind": ["127.0.0.1:0"], "mode": "tcp", "backend": "b" } ],
              "backends": [ { "name": "b", "servers": [ { "address": "inproc:hello" } ] } ] }
            """);
        using var proxy = SampleProcess.Start(ProxyDll, $"--config {config} --cores {CoreSets.FirstCpu} --steering sideways");
        Assert.Equal(2, await proxy.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("steering", proxy.Stderr, StringComparison.Ordinal);
        Assert.Contains("'sideways'", proxy.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Proxy_forwards_from_an_ipv6_frontend_to_an_ipv6_server()
    {
        using var hello = SampleProcess.Start(HelloDll, $"--urls http://[::1]:0 --cores {CoreSets.FirstCpu}");
        var server = await hello.ListeningOnAsync();
        await hello.WaitForLineAsync("Press Ctrl+C");
        var config = Path.Combine(_dir, "proxy.json");
        File.WriteAllText(config, $$"""
            { "frontends": [ { "bind": ["[::1]:0"], "mode": "http", "backend": "b" } ],
              "backends": [ { "name": "b", "servers": [ { "address": "{{server}}" } ] } ] }
            """);
        using var proxy = SampleProcess.Start(ProxyDll, $"--config {config} --cores {CoreSets.FirstCpu}");
        var frontend = await proxy.ListeningOnAsync("frontend");
        await proxy.WaitForLineAsync("Press Ctrl+C");
        Assert.Equal(IPAddress.IPv6Loopback, frontend.Address);

        using var client = await RawHttpClient.ConnectAsync(frontend);
        await client.SendAsync("GET /plaintext HTTP/1.1\r\nHost: localhost\r\n\r\n");
        Assert.Equal("Hello, World!", (await client.ReadResponseAsync()).Body);
        await client.SendAsync("GET /stats HTTP/1.1\r\nHost: localhost\r\n\r\n");
        Assert.Equal(1, JsonDocument.Parse((await client.ReadResponseAsync()).Body).RootElement.GetProperty("workers")[0].GetProperty("accepted").GetInt64());
    }


    /// <summary>Sockets in LISTEN state on <paramref name="port"/>, as the kernel lists them.</summary>
    private static int ListeningSockets(int port)
    {
        string suffix = $":{port:X4}";
        int count = 0;
        foreach (var file in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            foreach (var line in File.ReadLines(file).Skip(1))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields[1].EndsWith(suffix, StringComparison.Ordinal) && fields[3] == "0A")
                {
                    count++;
                }
            }
        }

        return count;
    }

    /// <summary>GET /plaintext on <paramref name="count"/> new connections, one after the other, from the calling thread.</summary>
    private static List<string> GetPlaintext(IPEndPoint endPoint, int count)
    {
        var bodies = new List<string>();
        for (int i = 0; i < count; i++)
        {
            bodies.Add(ExchangeUntilClose(endPoint, "GET /plaintext HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").Split("\r\n\r\n", 2)[1]);
        }

        return bodies;
    }

    private static List<(int Cpu, long Accepted)> Workers(IPEndPoint endPoint)
    {
        var body = ExchangeUntilClose(endPoint, "GET /stats HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").Split("\r\n\r\n", 2)[1];
        return [.. JsonDocument.Parse(body).RootElement.GetProperty("workers").EnumerateArray()
            .Select(w => (w.GetProperty("cpu").GetInt32(), w.GetProperty("accepted").GetInt64()))
            .OrderBy(w => w.Item1)];
    }

    private static string ExchangeUntilClose(IPEndPoint endPoint, string request)
    {
        using var socket = Clients.ConnectBlocking(endPoint);
        socket.Send(Encoding.ASCII.GetBytes(request));
        var received = new MemoryStream();
        var buffer = new byte[4096];
        int n;
        while ((n = socket.Receive(buffer)) > 0)
        {
            received.Write(buffer, 0, n);
        }

        return Encoding.ASCII.GetString(received.ToArray());
    }
}
