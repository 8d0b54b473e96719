using System.Diagnostics;

namespace Fastsock.Tests.Perf;

/// <summary>The built fastsock-perf-report run as a real process by the tests' dotnet host.</summary>
internal static class ReportProcess
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    // The test project references perf/Report, so its build output sits next to the test assembly.
    private static readonly string Dll = Path.Combine(AppContext.BaseDirectory, "fastsock-perf-report.dll");

    public static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Perf", "Fixtures", name);

    public static bool GnuplotInstalled() =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Any(dir => File.Exists(Path.Combine(dir, "gnuplot")));

    /// <summary>Runs the tool; <paramref name="path"/> replaces PATH (e.g. an empty directory to hide gnuplot).</summary>
    public static async Task<(int Exit, string Stdout, string Stderr)> RunAsync(string? path, params string[] arguments)
    {
        Assert.True(File.Exists(Dll), $"{Dll} is missing: build the solution first.");
        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Dll);
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        if (path is not null)
        {
            info.Environment["PATH"] = path;
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(Timeout);
        await process.WaitForExitAsync(cts.Token);
        return (process.ExitCode, await stdout, await stderr);
    }
}
