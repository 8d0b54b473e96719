using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Fastsock.Tests.Samples;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Proxy;

/// <summary>fastsock-proxy as a real process in tcp mode, in front of real peers (redis, the Hello app).</summary>
[Trait("Category", "Slow")] // real processes, peers or long loads: skip with --filter Category!=Slow
public sealed class ProxyProcessTests : IDisposable
{
    private static readonly string ProxyDll = Path.Combine(AppContext.BaseDirectory, "fastsock-proxy.dll");
    private readonly string _dir = Directory.CreateTempSubdirectory("fastsock-proxy-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Config(string json)
    {
        var path = Path.Combine(_dir, "proxy.json");
        File.WriteAllText(path, json);
        return path;
    }

    [Fact]
    public async Task Tcp_frontend_serves_the_in_process_hello_app_and_stops_on_sigterm()
    {
        var config = Config($$"""
            { "frontends": [ { "name": "demo", "bind": ["127.0.0.1:0"], "mode": "tcp", "backend": "hello" } ],
              "backends": [ { "name": "hello", "servers": [ { "address": "inproc:hello" } ] } ] }
            """);
        using var proxy = SampleProcess.Start(ProxyDll, $"--config {config} --cores {CoreSets.FirstText}");
        await proxy.WaitForLineAsync("Press Ctrl+C");
        using (var client = await RawHttpClient.ConnectAsync(await proxy.ListeningOnAsync("frontend demo")))
        {
            for (int i = 0; i < 3; i++)
            {
                await client.SendAsync("GET /plaintext HTTP/1.1\r\nHost: localhost\r\n\r\n");
                var response = await client.ReadResponseAsync();
                Assert.Equal("Hello, World!", response.Body);
            }
        }

        proxy.Signal("TERM");
        Assert.Equal(0, await proxy.WaitForExitAsync(TimeSpan.FromSeconds(15)));
        Assert.Contains($"Worker 0 -> CPU {CoreSets.FirstCpu}", proxy.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task At_start_each_bind_is_announced_in_one_line_and_each_backend_with_its_frontends_in_one()
    {
        var config = Config($$"""
            { "frontends": [ { "name": "web", "bind": ["127.0.0.1:0", "127.0.0.2:0"], "mode": "http", "backend": "hello" },
                             { "name": "raw", "bind": ["127.0.0.1:0"], "mode": "tcp", "backend": "hello" } ],
              "backends": [ { "name": "hello", "servers": [ { "address": "inproc:hello" } ] } ],
              "admin": { "bind": "127.0.0.1:0" } }
            """);
        using var proxy = SampleProcess.Start(ProxyDll, $"--config {config} --cores {CoreSets.FirstText}");
        await proxy.WaitForLineAsync("Press Ctrl+C");

        var lines = proxy.Stdout.Split('\n', StringSplitOptions.TrimEntries);
        int Count(string prefix) => lines.Count(l => l.StartsWith(prefix, StringComparison.Ordinal));
        Assert.True(Count("Frontend web ") == 2, $"expected one line per bind of web: {proxy.Stdout}");
        Assert.True(Count("Frontend raw ") == 1, $"expected one line for raw: {proxy.Stdout}");
        Assert.True(Count("Admin ") == 1, $"expected one admin line: {proxy.Stdout}");
        Assert.Equal(["Backend hello (frontend web, raw): inproc:hello"], lines.Where(l => l.StartsWith("Backend ", StringComparison.Ordinal)));
        Assert.NotEqual(0, (await proxy.ListeningOnAsync("frontend raw")).Port); // still the form scripts parse
        Assert.NotEqual(0, (await proxy.ListeningOnAsync("admin")).Port);
    }

    [Theory]
    [InlineData("copy")]
    [InlineData("splice")]
    public async Task Redis_works_through_the_proxy_with_redis_cli_and_redis_benchmark(string forwarding)
    {
        using var redis = await LoopbackPorts.StartPeerAsync(RedisServer.StartAsync);
        {
            var config = Config($$"""
                { "frontends": [ { "bind": ["127.0.0.1:0"], "mode": "tcp", "backend": "redis" } ],
                  "backends": [ { "name": "redis", "servers": [ { "address": "127.0.0.1:{{redis.Port}}" } ] } ] }
                """);
            using var proxy = SampleProcess.Start(ProxyDll, $"--config {config} --cores {CoreSets.FirstText} --forwarding {forwarding}");
            await proxy.WaitForLineAsync("Press Ctrl+C");
            int proxyPort = (await proxy.ListeningOnAsync("frontend")).Port;

            Assert.Equal("OK", (await RunAsync("redis-cli", $"-p {proxyPort} SET fastsock:key through-the-proxy")).Trim());
            Assert.Equal("through-the-proxy", (await RunAsync("redis-cli", $"-p {proxyPort} GET fastsock:key")).Trim());
            var bench = await RunAsync("redis-benchmark", $"-p {proxyPort} -n 20000 -c 20 -P 4 -t set,get -q");
            Assert.Contains("SET:", bench, StringComparison.Ordinal);
            Assert.Contains("GET:", bench, StringComparison.Ordinal);
            Assert.Contains("requests per second", bench, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task With_every_server_down_the_client_connection_is_closed()
    {
        using var refusing = LoopbackPorts.Refusing();
        var config = Config($$"""
            { "frontends": [ { "bind": ["127.0.0.1:0"], "mode": "tcp", "backend": "b" } ],
              "backends": [ { "name": "b", "servers": [ { "address": "127.0.0.1:{{refusing.Port}}" } ] } ], "retries": 1 }
            """);
        using var proxy = SampleProcess.Start(ProxyDll, $"--config {config} --cores {CoreSets.FirstText}");
        await proxy.WaitForLineAsync("Press Ctrl+C");
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(await proxy.ListeningOnAsync("frontend")).WaitAsync(Clients.Timeout);
        var buffer = new byte[16];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        Assert.Equal(0, await client.ReceiveAsync(buffer, SocketFlags.None, timeout.Token));
        await proxy.WaitForLineAsync("ECONNREFUSED");
    }

    [Fact]
    public async Task Bad_config_exits_2_naming_the_file_and_the_key()
    {
        var config = Config("""{ "frontends": [ { "bind": ["127.0.0.1:1"], "backend": "missing" } ], "backends": [] }""");
        using var proxy = SampleProcess.Start(ProxyDll, $"--config {config}");
        Assert.Equal(2, await proxy.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal($"fastsock-proxy: {config}: frontends[0].backend: 'missing' is not a backend; defined: ", proxy.Stderr.Trim() + " ");
    }

    private static async Task<string> RunAsync(string file, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(process.ExitCode == 0, $"{file} {arguments} exited {process.ExitCode}: {await process.StandardError.ReadToEndAsync()}");
        return await output;
    }
}
