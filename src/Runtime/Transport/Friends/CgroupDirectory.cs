namespace Fastsock.Transport.Friends;

/// <summary>Finds the cgroup v2 directory TCP friends attaches to: the process's own, or one the options name.</summary>
internal static class CgroupDirectory
{
    /// <summary>
    /// The directory for <paramref name="configured"/> (a directory path, or a cgroup path such as <c>/bench</c>
    /// under the cgroup2 mount), or for this process's own cgroup when it is null. Null with a reason when there is none.
    /// </summary>
    public static string? Resolve(string? configured, out string reason)
    {
        reason = "";
        string? mount = Cgroup2Mount();
        if (mount is null)
        {
            reason = "no cgroup2 file system is mounted (cgroup v1 only)";
            return null;
        }

        if (!string.IsNullOrEmpty(configured))
        {
            string path = configured.StartsWith(mount + "/", StringComparison.Ordinal) || configured == mount
                ? configured
                : Path.Join(mount, configured);
            if (!Directory.Exists(path))
            {
                reason = $"cgroup directory {path} (from cgroup '{configured}') does not exist; create it (mkdir) or name another";
                return null;
            }

            return path;
        }

        string? own = OwnCgroup();
        if (own is null)
        {
            reason = "this process has no cgroup v2 membership in /proc/self/cgroup (cgroup v1 only)";
            return null;
        }

        return Path.Join(mount, own);
    }

    /// <summary>The path of the "0::" line of /proc/self/cgroup (the unified hierarchy), e.g. "/" or "/system.slice/x".</summary>
    public static string? OwnCgroup()
    {
        foreach (var line in File.ReadLines("/proc/self/cgroup"))
        {
            if (line.StartsWith("0::", StringComparison.Ordinal))
            {
                return line[3..];
            }
        }

        return null;
    }

    /// <summary>Where cgroup2 is mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid systems).</summary>
    public static string? Cgroup2Mount()
    {
        // mountinfo: "id parent major:minor root mount-point options [optional...] - fstype source super-options"
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            int separator = line.IndexOf(" - ", StringComparison.Ordinal);
            if (separator < 0 || !line.AsSpan(separator + 3).StartsWith("cgroup2 ", StringComparison.Ordinal))
            {
                continue;
            }

            var fields = line[..separator].Split(' ');
            if (fields.Length > 4)
            {
                return fields[4];
            }
        }

        return null;
    }
}
