using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Fastsock.Tests.Samples;

/// <summary>The built <c>fastsock-hello</c> as a real process: command line, startup output, errors, SIGTERM.</summary>
public sealed class HelloProcessTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    // The test project references the sample, so its build output sits next to the test assembly.
    private static readonly string HelloDll = Path.Combine(AppContext.BaseDirectory, "fastsock-hello.dll");

    [Fact]
    public async Task Sample_serves_requests_prints_its_cpu_map_and_exits_0_on_sigterm()
    {
        int port = FreePort();
        using var hello = HelloProcess.Start($"--urls http://127.0.0.1:{port} --cores 0");
        await hello.WaitForLineAsync("Listening on");

        using (var client = await RawHttpClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port)))
        {
            await client.SendAsync("GET /plaintext HTTP/1.1\r\nHost: localhost\r\n\r\n");
            var response = await client.ReadResponseAsync();
            Assert.Equal(200, response.Status);
            Assert.Equal("Hello, World!", response.Body);
        }

        hello.Signal("TERM");
        int exitCode = await hello.WaitForExitAsync(TimeSpan.FromSeconds(15));

        Assert.Equal(0, exitCode);
        Assert.Contains($"Listening on http://127.0.0.1:{port}", hello.Stdout, StringComparison.Ordinal);
        Assert.Contains("Worker 0 -> CPU 0", hello.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cores_outside_the_affinity_mask_exit_2_with_one_line_naming_the_cpu()
    {
        using var hello = HelloProcess.Start($"--urls http://127.0.0.1:{FreePort()} --cores 999");
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

        using var hello = HelloProcess.Start($"--urls http://127.0.0.1:{port} --cores 0");
        Assert.Equal(2, await hello.WaitForExitAsync(Timeout));
        Assert.Contains("EADDRINUSE", hello.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", hello.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Url_with_an_unsupported_scheme_exits_2()
    {
        using var hello = HelloProcess.Start("--urls ftp://x:1 --cores 0");
        Assert.Equal(2, await hello.WaitForExitAsync(Timeout));
        Assert.Contains("ftp", hello.Stderr, StringComparison.Ordinal);
    }

    private static int FreePort()
    {
        using var probe = new Socket(SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    /// <summary>fastsock-hello run by the same dotnet host as the tests, its output captured line by line.</summary>
    private sealed class HelloProcess : IDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _stdout = new();
        private readonly StringBuilder _stderr = new();
        private readonly Lock _gate = new();

        private HelloProcess(Process process) => _process = process;

        public string Stdout
        {
            get
            {
                lock (_gate)
                {
                    return _stdout.ToString();
                }
            }
        }

        public string Stderr
        {
            get
            {
                lock (_gate)
                {
                    return _stderr.ToString();
                }
            }
        }

        public static HelloProcess Start(string arguments)
        {
            Assert.True(File.Exists(HelloDll), $"{HelloDll} is missing: build the solution first.");
            var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet", $"\"{HelloDll}\" {arguments}")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            var process = new Process { StartInfo = info };
            var hello = new HelloProcess(process);
            process.OutputDataReceived += (_, e) => hello.Append(hello._stdout, e.Data);
            process.ErrorDataReceived += (_, e) => hello.Append(hello._stderr, e.Data);
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return hello;
        }

        public async Task WaitForLineAsync(string text)
        {
            var deadline = Stopwatch.StartNew();
            while (!Stdout.Contains(text, StringComparison.Ordinal))
            {
                if (_process.HasExited)
                {
                    Assert.Fail($"fastsock-hello exited ({_process.ExitCode}) before printing '{text}'. stderr: {Stderr}");
                }

                Assert.True(deadline.Elapsed < Timeout, $"fastsock-hello did not print '{text}' within {Timeout}. stdout: {Stdout}");
                await Task.Delay(20);
            }
        }

        /// <summary>A real signal through kill(1): Process.Kill sends SIGKILL, which tests nothing.</summary>
        public void Signal(string name)
        {
            using var kill = Process.Start("kill", $"-{name} {_process.Id}");
            Assert.True(kill.WaitForExit(Timeout), "kill did not return");
            Assert.Equal(0, kill.ExitCode);
        }

        public async Task<int> WaitForExitAsync(TimeSpan timeout)
        {
            try
            {
                await _process.WaitForExitAsync().WaitAsync(timeout);
            }
            catch (TimeoutException)
            {
                Assert.Fail($"fastsock-hello did not exit within {timeout}. stdout: {Stdout} stderr: {Stderr}");
            }

            return _process.ExitCode;
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit();
            }

            _process.Dispose();
        }

        private void Append(StringBuilder target, string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (_gate)
            {
                target.AppendLine(line);
            }
        }
    }
}
