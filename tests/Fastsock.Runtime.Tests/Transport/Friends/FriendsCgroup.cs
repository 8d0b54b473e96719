using System.Diagnostics;
using System.Text.Json;
using Fastsock.Tests.Support;
using Fastsock.Transport.Friends;

namespace Fastsock.Tests.Transport.Friends;

/// <summary>
/// A cgroup v2 of the test's own, which the test host joins while it lives: sockets it creates and processes it starts
/// meanwhile belong to it, so TCP friends attached there touches nothing else on the machine. On dispose the host goes
/// back to its cgroup and the directory is removed (once the processes started in it have exited).
/// </summary>
internal sealed class FriendsCgroup : IDisposable
{
    private static int s_count;
    private readonly string _original;

    private FriendsCgroup(string path, string original)
    {
        Path = path;
        _original = original;
    }

    /// <summary>The directory, e.g. /sys/fs/cgroup/fastsock-friends-1234-1.</summary>
    public string Path { get; }

    public static FriendsCgroup CreateAndJoin()
    {
        string mount = CgroupDirectory.Cgroup2Mount() ?? throw new Xunit.Sdk.XunitException("no cgroup2 mount: TCP friends needs cgroup v2");
        string original = System.IO.Path.Join(mount, CgroupDirectory.OwnCgroup() ?? "/");
        string path = System.IO.Path.Join(original, $"fastsock-friends-{Environment.ProcessId}-{Interlocked.Increment(ref s_count)}");
        Directory.CreateDirectory(path);
        File.WriteAllText(System.IO.Path.Join(path, "cgroup.procs"), Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return new FriendsCgroup(path, original);
    }

    /// <summary>Ids of the programs attached to this cgroup, with their names (from <c>bpftool cgroup show</c>).</summary>
    public IReadOnlyList<(int Id, string Name)> AttachedPrograms() => Bpftool.CgroupPrograms(Path);

    public void Dispose()
    {
        // The test host goes back, and so do processes it started here that outlive the test method (the harness
        // stops its proxies after it): a cgroup with processes in it cannot be removed.
        string procs = System.IO.Path.Join(_original, "cgroup.procs");
        File.WriteAllText(procs, Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var watch = Stopwatch.StartNew();
        while (true)
        {
            foreach (var pid in File.ReadAllLines(System.IO.Path.Join(Path, "cgroup.procs")))
            {
                try
                {
                    File.WriteAllText(procs, pid);
                }
                catch (IOException)
                {
                    // It exited meanwhile.
                }
            }

            try
            {
                Directory.Delete(Path);
                return;
            }
            catch (IOException) when (watch.Elapsed < Clients.Timeout)
            {
                Thread.Sleep(50);
            }
        }
    }
}

/// <summary>bpftool, to see from outside what the kernel holds.</summary>
internal static class Bpftool
{
    public static IReadOnlyList<(int Id, string Name)> CgroupPrograms(string cgroup)
    {
        using var json = JsonDocument.Parse(Run($"-j cgroup show {cgroup}"));
        var programs = new List<(int, string)>();
        foreach (var entry in json.RootElement.EnumerateArray())
        {
            programs.Add((entry.GetProperty("id").GetInt32(), entry.GetProperty("name").GetString() ?? ""));
        }

        return programs;
    }

    /// <summary>Ids of every loaded program with this name.</summary>
    public static IReadOnlyList<int> ProgramsNamed(string name)
    {
        using var json = JsonDocument.Parse(Run("-j prog show"));
        var ids = new List<int>();
        foreach (var entry in json.RootElement.EnumerateArray())
        {
            if (entry.TryGetProperty("name", out var n) && n.GetString() == name)
            {
                ids.Add(entry.GetProperty("id").GetInt32());
            }
        }

        return ids;
    }

    private static string Run(string arguments)
    {
        Assert.True(File.Exists("/usr/sbin/bpftool"), "bpftool is missing: .ci/run installs it (apt-get install bpftool)");
        using var process = Process.Start(new ProcessStartInfo("/usr/sbin/bpftool", arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        string output = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(Clients.Timeout), "bpftool did not return");
        Assert.True(process.ExitCode == 0, $"bpftool {arguments} exited {process.ExitCode}: {process.StandardError.ReadToEnd()}");
        return string.IsNullOrWhiteSpace(output) ? "[]" : output;
    }
}

/// <summary>
/// A fact that needs root (BPF programs, cgroup directories): skipped, saying why, when not root and not in CI; in CI
/// (CI set) it runs and fails, so a CI that lost root shows up.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class FriendsFactAttribute : FactAttribute
{
    public FriendsFactAttribute()
    {
        if (!Environment.IsPrivilegedProcess && Environment.GetEnvironmentVariable("CI") is null)
        {
            Skip = "Needs root: TCP friends loads BPF programs and creates a cgroup v2 directory for the test.";
        }
    }
}

/// <summary>The theory form of <see cref="FriendsFactAttribute"/>.</summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class FriendsTheoryAttribute : TheoryAttribute
{
    public FriendsTheoryAttribute()
    {
        if (!Environment.IsPrivilegedProcess && Environment.GetEnvironmentVariable("CI") is null)
        {
            Skip = "Needs root: TCP friends loads BPF programs and creates a cgroup v2 directory for the test.";
        }
    }
}
