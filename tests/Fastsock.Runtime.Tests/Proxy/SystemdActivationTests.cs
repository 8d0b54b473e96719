using System.Net;
using Fastsock.Locality;
using Fastsock.Native;
using Fastsock.Tests.Samples;
using Fastsock.Tests.Support;
using Fastsock.Transport;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// Socket activation as systemd does it (sd_listen_fds(3)): listening sockets at fds 3, 4, … and
/// <c>LISTEN_FDS</c>/<c>LISTEN_PID</c> naming the process. A bash launcher moves sockets this test opened to those
/// numbers and execs the proxy (exec keeps the pid, so <c>LISTEN_PID=$$</c> is the proxy's).
/// </summary>
[Trait("Category", "Slow")] // real processes, peers or long loads: skip with --filter Category!=Slow
public sealed class SystemdActivationTests : IDisposable
{
    private static readonly string ProxyDll = Path.Combine(AppContext.BaseDirectory, "fastsock-proxy.dll");
    private readonly string _dir = Directory.CreateTempSubdirectory("fastsock-activation-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task The_proxy_serves_on_one_passed_socket_per_worker_including_a_connection_queued_before_it_started(string cores)
    {
        int workers = CpuSet.Parse(cores).Count;
        await AssertActivatedAsync(cores, sockets: workers);
    }

    [TwoCpuFact]
    public async Task One_passed_reuseport_socket_is_joined_by_the_other_workers_sockets()
    {
        await AssertActivatedAsync(CoreSets.FirstTwo.ToString(), sockets: 1);
    }

    private async Task AssertActivatedAsync(string cores, int sockets)
    {
        var fds = OpenReusePortGroup(sockets, out var endPoint);
        var config = Path.Combine(_dir, "proxy.json");
        File.WriteAllText(config, $$"""
            { "frontends": [ { "name": "web", "bind": ["{{endPoint}}"], "mode": "http", "backend": "app" } ],
              "backends": [ { "name": "app", "servers": [ { "address": "inproc:hello" } ] } ] }
            """);

        // Queued in the passed socket before any process accepts: activation must not lose it.
        using var early = await RawHttpClient.ConnectAsync(endPoint);
        SampleProcess proxy;
        try
        {
            proxy = StartActivated(fds, [ProxyDll, "--config", config, "--cores", cores]);
        }
        finally
        {
            foreach (int fd in fds)
            {
                FileCalls.Close(fd); // the proxy holds its own
            }
        }

        using (proxy)
        {
            await proxy.WaitForLineAsync("Press Ctrl+C");
            Assert.Contains($"Took over {sockets} listening sockets from systemd (LISTEN_FDS)", proxy.Stdout, StringComparison.Ordinal);
            Assert.Equal(endPoint, await proxy.ListeningOnAsync("frontend web"));

            await early.SendAsync("GET /plaintext HTTP/1.1\r\nHost: test\r\n\r\n");
            Assert.Equal("Hello, World!", (await early.ReadResponseAsync()).Body);
            for (int i = 0; i < 20; i++)
            {
                using var client = await RawHttpClient.ConnectAsync(endPoint);
                await client.SendAsync("GET /plaintext HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
                Assert.Equal("Hello, World!", (await client.ReadResponseAsync()).Body);
            }

            proxy.Signal("TERM");
            Assert.Equal(0, await proxy.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }
    }

    private static int[] OpenReusePortGroup(int count, out IPEndPoint endPoint)
    {
        var fds = new int[count];
        endPoint = new IPEndPoint(IPAddress.Loopback, 0);
        for (int i = 0; i < count; i++)
        {
            fds[i] = ListenSocket.Open(endPoint, reusePort: true, incomingCpu: -1, backlog: 128, noDelay: true);
            endPoint = ListenSocket.LocalEndPoint(fds[i]);
            Assert.True(fds[i] > 2 + count, $"fd {fds[i]} would be overwritten by the launcher's moves to 3..{2 + count}");
        }

        return fds;
    }

    /// <summary>
    /// Runs <paramref name="arguments"/> under the dotnet host with <paramref name="fds"/> moved to 3, 4, … The fds are
    /// inheritable only while the launcher starts (another test starting a process then inherits them too, and only
    /// holds a listening socket it never reads).
    /// </summary>
    private static SampleProcess StartActivated(int[] fds, string[] arguments)
    {
        var moves = string.Join(' ', fds.Select((fd, i) => $"{3 + i}<&{fd} {fd}<&-"));
        var script = $"exec {moves}; export LISTEN_PID=$$ LISTEN_FDS={fds.Length}; exec \"$0\" \"$@\"";
        foreach (int fd in fds)
        {
            Assert.Equal(0, PathCalls.Control(fd, PathCalls.F_SETFD, 0));
        }

        try
        {
            return SampleProcess.StartProgram("/bin/bash", ["-c", script, SampleProcess.DotnetHost, .. arguments]);
        }
        finally
        {
            foreach (int fd in fds)
            {
                PathCalls.Control(fd, PathCalls.F_SETFD, PathCalls.FD_CLOEXEC);
            }
        }
    }
}
