using System.Diagnostics;
using System.Net;
using System.Text;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Transport.Tls;

/// <summary>
/// openssl s_client as a process whose output is collected as it comes, so a test can wait for a line before typing
/// the next one (s_client's commands, like K for a KeyUpdate, act only while stdin is open).
/// </summary>
internal sealed class OpenSslClientProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private OpenSslClientProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>Everything s_client printed so far, stdout and stderr interleaved by line.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static OpenSslClientProcess Start(EndPoint server, string arguments) =>
        new(Process.Start(new ProcessStartInfo("openssl", $"s_client -connect 127.0.0.1:{((IPEndPoint)server).Port} {arguments}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        })!);

    /// <summary>Runs s_client to its end with <paramref name="input"/> typed and stdin closed; returns all it printed.</summary>
    public static async Task<string> RunAsync(EndPoint server, string arguments, string input = "")
    {
        using var client = Start(server, arguments);
        await client.TypeAsync(input);
        client._process.StandardInput.Close();
        await client._process.WaitForExitAsync().WaitAsync(Clients.Timeout);
        return client.Output;
    }

    public async Task TypeAsync(string text)
    {
        await _process.StandardInput.WriteAsync(text);
        await _process.StandardInput.FlushAsync();
    }

    /// <summary>Waits (generously) until s_client has printed <paramref name="text"/>.</summary>
    public async Task WaitForAsync(string text)
    {
        Assert.True(await Eventually.HoldsAsync(() => Output.Contains(text, StringComparison.Ordinal)), $"s_client never printed '{text}':\n{Output}");
    }

    public async Task<int> CloseInputAndWaitAsync()
    {
        _process.StandardInput.Close();
        await _process.WaitForExitAsync().WaitAsync(Clients.Timeout);
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.Append(line).Append('\n');
        }
    }
}
