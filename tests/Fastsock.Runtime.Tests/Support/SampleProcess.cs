using System.Diagnostics;
using System.Net;
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
        return Start(new ProcessStartInfo(DotnetHost, $"\"{dll}\" {arguments}"));
    }

    /// <summary>Starts <paramref name="dll"/> and waits until it printed <paramref name="readyLine"/>; a sample that fails to get there is stopped.</summary>
    public static async Task<SampleProcess> StartReadyAsync(string dll, string arguments, string readyLine = "Press Ctrl+C")
    {
        var sample = Start(dll, arguments);
        try
        {
            await sample.WaitForLineAsync(readyLine);
            return sample;
        }
        catch
        {
            sample.Dispose();
            throw;
        }
    }

    /// <summary>The dotnet host that runs the tests (and so the samples).</summary>
    public static string DotnetHost => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";

    /// <summary>Any program (a launcher that execs a sample, say) with its arguments as given, its output captured the same way.</summary>
    public static SampleProcess StartProgram(string program, IEnumerable<string> arguments) => Start(new ProcessStartInfo(program, arguments));

    private static SampleProcess Start(ProcessStartInfo info)
    {
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.UseShellExecute = false;
        var process = new Process { StartInfo = info };
        var sample = new SampleProcess(process);
        process.OutputDataReceived += (_, e) => sample.Append(sample._stdout, e.Data);
        process.ErrorDataReceived += (_, e) => sample.Append(sample._stderr, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return sample;
    }

    /// <summary>Waits until the sample printed <paramref name="text"/> on stdout; fails at once if it exits first.</summary>
    public async Task WaitForLineAsync(string text)
    {
        bool exited = false;
        bool printed = await Eventually.HoldsAsync(() => Stdout.Contains(text, StringComparison.Ordinal) || (exited = _process.HasExited));
        if (exited)
        {
            await _process.WaitForExitAsync().WaitAsync(Clients.Timeout); // drains the redirected output: the line may still be in flight
        }

        if (exited && !Stdout.Contains(text, StringComparison.Ordinal))
        {
            Assert.Fail($"the sample exited ({_process.ExitCode}) before printing '{text}'. stderr: {Stderr}");
        }

        Assert.True(printed, $"the sample did not print '{text}' within {Clients.Timeout}. stdout: {Stdout}");
    }

    /// <summary>
    /// The address a listener of the sample actually got, from the line it prints once listening:
    /// <c>Listening on http://127.0.0.1:43121</c> (fastsock-hello, one per url),
    /// <c>Frontend web listening on http://127.0.0.1:43121</c>, <c>Admin listening on http://127.0.0.1:8404</c>
    /// (fastsock-proxy). Start samples on port 0 and ask here, so no test picks a port number that another process can
    /// take first.
    /// </summary>
    /// <param name="listener">
    /// The words before "listening on" (any case): "" for Hello's first url, "frontend web", "frontend" (the first
    /// frontend), "admin".
    /// </param>
    public async Task<IPEndPoint> ListeningOnAsync(string listener = "")
    {
        IPEndPoint? found = null;
        await Eventually.HoldsAsync(() => (found = FindListening(listener)) is not null || _process.HasExited);
        if (found is null && _process.HasExited)
        {
            await _process.WaitForExitAsync().WaitAsync(Clients.Timeout); // drains the redirected output: the line may still be in flight
            found = FindListening(listener);
        }

        return found ?? throw new Xunit.Sdk.XunitException(
            $"the sample printed no '{listener} listening on' line within {Clients.Timeout} (exited: {_process.HasExited}). stdout: {Stdout} stderr: {Stderr}");
    }

    private IPEndPoint? FindListening(string listener)
    {
        const string Marker = "listening on ";
        foreach (var line in Stdout.Split('\n'))
        {
            int at = line.IndexOf(Marker, StringComparison.OrdinalIgnoreCase);
            if (at < 0)
            {
                continue;
            }

            string name = line[..at].Trim();
            if (name.Equals(listener, StringComparison.OrdinalIgnoreCase)
                || (listener.Length > 0 && name.StartsWith(listener + " ", StringComparison.OrdinalIgnoreCase)))
            {
                string address = line[(at + Marker.Length)..].Trim();
                int scheme = address.IndexOf("://", StringComparison.Ordinal);
                return IPEndPoint.Parse(scheme >= 0 ? address[(scheme + 3)..] : address);
            }
        }

        return null;
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

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
            _process.WaitForExit(Clients.Timeout);
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
