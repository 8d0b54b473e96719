using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Samples;

/// <summary>The built <c>fastsock-hello</c> as a real process: command line, startup output, errors, SIGTERM.</summary>
[Trait("Category", "Slow")] // real processes, peers or long loads: skip with --filter Category!=Slow
public sealed class HelloProcessTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    // The test project references the sample, so its build output sits next to the test assembly.
    private static readonly string HelloDll = Path.Combine(AppContext.BaseDirectory, "fastsock-hello.dll");

    [Fact]
    public async Task Sample_serves_requests_prints_its_cpu_map_and_exits_0_on_sigterm()
    {
        using var hello = SampleProcess.Start(HelloDll, $"--urls http://127.0.0.1:0 --cores {CoreSets.FirstText}");
        var endPoint = await hello.ListeningOnAsync();
        Assert.Equal(IPAddress.Loopback, endPoint.Address);
        Assert.NotEqual(0, endPoint.Port);

        using (var client = await RawHttpClient.ConnectAsync(endPoint))
        {
            await client.SendAsync("GET /plaintext HTTP/1.1\r\nHost: localhost\r\n\r\n");
            var response = await client.ReadResponseAsync();
            Assert.Equal(200, response.Status);
            Assert.Equal("Hello, World!", response.Body);
        }

        hello.Signal("TERM");
        int exitCode = await hello.WaitForExitAsync(TimeSpan.FromSeconds(15));

        Assert.Equal(0, exitCode);
        Assert.Contains($"Listening on http://{endPoint}", hello.Stdout, StringComparison.Ordinal);
        Assert.Contains($"Worker 0 -> CPU {CoreSets.FirstCpu}", hello.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cores_outside_the_affinity_mask_exit_2_with_one_line_naming_the_cpu()
    {
        using var hello = SampleProcess.Start(HelloDll, "--urls http://127.0.0.1:0 --cores 999");
        Assert.Equal(2, await hello.WaitForExitAsync(Timeout));
        string error = hello.Stderr.Trim();
        Assert.Contains("999", error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error);
    }

    [Fact]
    public async Task Port_in_use_exits_2_with_eaddrinuse()
    {
        // A listener without SO_REUSEPORT: the sample's reuseport listeners cannot share its port.
        using var occupant = new Socket(SocketType.Stream, ProtocolType.Tcp);
        occupant.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        occupant.Listen();
        int port = ((IPEndPoint)occupant.LocalEndPoint!).Port;

        using var hello = SampleProcess.Start(HelloDll, $"--urls http://127.0.0.1:{port} --cores {CoreSets.FirstText}");
        Assert.Equal(2, await hello.WaitForExitAsync(Timeout));
        Assert.Contains("EADDRINUSE", hello.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", hello.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Url_with_an_unsupported_scheme_exits_2()
    {
        using var hello = SampleProcess.Start(HelloDll, $"--urls ftp://x:1 --cores {CoreSets.FirstText}");
        Assert.Equal(2, await hello.WaitForExitAsync(Timeout));
        Assert.Contains("ftp", hello.Stderr, StringComparison.Ordinal);
    }
}
