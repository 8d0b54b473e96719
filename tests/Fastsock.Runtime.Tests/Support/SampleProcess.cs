using System.Diagnostics;
using System.Text;

namespace Fastsock.Tests.Support;

/// <summary>A sample (fastsock-hello, fastsock-proxy) run by the same dotnet host as the tests, its output captured line by line.</summary>
internal sealed class SampleProcess : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly Lock _gate = new();

    private SampleProcess(Process process) => _process = process;

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

    public static SampleProcess Start(string dll, string arguments)
    {
        Assert.True(File.Exists(dll), $"{dll} is missing: build the solution first.");
        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet", $"\"{dll}\" {arguments}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var process = new Process { StartInfo = info };
        var sample = new SampleProcess(process);
        process.OutputDataReceived += (_, e) => sample.Append(sample._stdout, e.Data);
        process.ErrorDataReceived += (_, e) => sample.Append(sample._stderr, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return sample;
    }

    public async Task WaitForLineAsync(string text)
    {
        var deadline = Stopwatch.StartNew();
        while (!Stdout.Contains(text, StringComparison.Ordinal))
        {
            if (_process.HasExited)
            {
                Assert.Fail($"the sample exited ({_process.ExitCode}) before printing '{text}'. stderr: {Stderr}");
            }

            Assert.True(deadline.Elapsed < Timeout, $"the sample did not print '{text}' within {Timeout}. stdout: {Stdout}");
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
            Assert.Fail($"the sample did not exit within {timeout}. stdout: {Stdout} stderr: {Stderr}");
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
