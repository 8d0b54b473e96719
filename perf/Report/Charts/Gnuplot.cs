using System.Diagnostics;

namespace Fastsock.Perf.Report.Charts;

/// <summary>The gnuplot executable found on PATH, and running a script with it.</summary>
internal sealed class Gnuplot
{
    public const string MissingMessage = "gnuplot not found: install it with apt-get install -y gnuplot-nox; REPORT.md written without charts";

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private Gnuplot(string path, string version)
    {
        Path = path;
        Version = version;
    }

    public string Path { get; }

    /// <summary>As gnuplot prints it, e.g. "gnuplot 5.4 patchlevel 4".</summary>
    public string Version { get; }

    public static Gnuplot? Find()
    {
        string? pathVariable = Environment.GetEnvironmentVariable("PATH");
        if (string.IsNullOrEmpty(pathVariable))
        {
            return null;
        }

        foreach (string dir in pathVariable.Split(System.IO.Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = System.IO.Path.Combine(dir, "gnuplot");
            if (File.Exists(candidate))
            {
                var (exit, stdout, _) = Run(candidate, ["--version"], Directory.GetCurrentDirectory());
                if (exit == 0)
                {
                    return new Gnuplot(candidate, stdout.Trim());
                }
            }
        }

        return null;
    }

    /// <summary>Runs a script; null on success, else the first line gnuplot wrote to stderr.</summary>
    public string? RunScript(string scriptPath)
    {
        var (exit, _, stderr) = Run(Path, [scriptPath], System.IO.Path.GetDirectoryName(scriptPath)!);
        if (exit == 0)
        {
            return null;
        }

        string first = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "no message";
        return $"gnuplot {scriptPath} exited {exit}: {first}";
    }

    private static (int Exit, string Stdout, string Stderr) Run(string file, string[] arguments, string workingDirectory)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Timeout))
        {
            process.Kill();
            return (-1, string.Empty, $"timed out after {Timeout.TotalSeconds} s");
        }

        return (process.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
    }
}
