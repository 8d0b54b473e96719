using System.Diagnostics;
using System.Text;

namespace Fastsock.Tests.Packaging;

/// <summary>Runs the repository's own tools (bash scripts, dotnet build) as a user would, from the repository root.</summary>
internal static class BuildProcess
{
    /// <summary>The repository root: the folder above the test assembly that holds Fastsock.sln.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Fastsock.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No Fastsock.sln above {AppContext.BaseDirectory}: run the tests from the repository's build output.");
    }

    /// <summary>Runs <paramref name="file"/> to its end; the exit code and stdout and stderr interleaved, for the failure message.</summary>
    public static async Task<(int Exit, string Output)> RunAsync(string file, IEnumerable<string> arguments, string workingDirectory, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(file)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        // The test host runs under dotnet test's MSBuild: a nested build must find its own SDK, not inherit that one's paths.
        foreach (string name in info.Environment.Keys.ToArray())
        {
            if (name.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase))
            {
                info.Environment.Remove(name);
            }
        }

        var output = new StringBuilder();
        var gate = new Lock();
        using var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{file} {string.Join(' ', arguments)} did not finish within {timeout}. Output so far:\n{Text()}");
        }

        return (process.ExitCode, Text());

        void Append(string? line)
        {
            if (line is not null)
            {
                lock (gate)
                {
                    output.AppendLine(line);
                }
            }
        }

        string Text()
        {
            lock (gate)
            {
                return output.ToString();
            }
        }
    }

    /// <summary>Copies a source folder without its build outputs (bin/, obj/).</summary>
    public static void CopySources(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string file in Directory.EnumerateFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }

        foreach (string dir in Directory.EnumerateDirectories(from))
        {
            string name = Path.GetFileName(dir);
            if (name is not ("bin" or "obj"))
            {
                CopySources(dir, Path.Combine(to, name));
            }
        }
    }
}
