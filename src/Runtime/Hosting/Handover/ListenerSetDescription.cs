using System.Globalization;
using System.Net;
using System.Text;
using Fastsock.Locality;

namespace Fastsock.Hosting.Handover;

/// <summary>
/// One endpoint's listening sockets as the running server holds them: the workers in reuseport group order (the
/// kernel's array, which the CPU steering program indexes), or none for the single shared listener.
/// </summary>
internal sealed record OfferedGroup(IPEndPoint Requested, IPEndPoint Bound, int[] WorkerBySlot)
{
    /// <summary>Descriptors this group sends: one per slot, or the one shared listener.</summary>
    public int DescriptorCount => WorkerBySlot.Length == 0 ? 1 : WorkerBySlot.Length;
}

/// <summary>
/// What the running server offers, sent as text before the descriptors so the successor can refuse a set that is not
/// its own before using any of them. The descriptors follow group by group, slot by slot.
/// </summary>
internal sealed record ListenerSetDescription(int Pid, int Workers, ListenerSteering Steering, IReadOnlyList<OfferedGroup> Groups)
{
    private const string Magic = "fastsock-listeners 1";

    public int DescriptorCount => Groups.Sum(g => g.DescriptorCount);

    public string Format()
    {
        var text = new StringBuilder();
        text.Append(Magic).Append('\n');
        text.Append(CultureInfo.InvariantCulture, $"pid {Pid}\nworkers {Workers}\nsteering {Steering.ToString().ToLowerInvariant()}\n");
        foreach (var group in Groups)
        {
            var slots = group.WorkerBySlot.Length == 0 ? "shared" : string.Join(',', group.WorkerBySlot);
            text.Append(CultureInfo.InvariantCulture, $"group {group.Requested} {group.Bound} {slots}\n");
        }

        return text.ToString();
    }

    /// <exception cref="FormatException">Not a description this version understands.</exception>
    public static ListenerSetDescription Parse(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length < 4 || lines[0] != Magic)
        {
            throw new FormatException($"the other process does not speak '{Magic}' (first line: '{(lines.Length > 0 ? lines[0] : "")}')");
        }

        int pid = int.Parse(Value(lines[1], "pid"), CultureInfo.InvariantCulture);
        int workers = int.Parse(Value(lines[2], "workers"), CultureInfo.InvariantCulture);
        var steering = Enum.Parse<ListenerSteering>(Value(lines[3], "steering"), ignoreCase: true);
        var groups = new List<OfferedGroup>();
        for (int i = 4; i < lines.Length; i++)
        {
            var parts = Value(lines[i], "group").Split(' ');
            if (parts.Length != 3)
            {
                throw new FormatException($"bad group line '{lines[i]}'");
            }

            int[] slots = parts[2] == "shared" ? [] : [.. parts[2].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture))];
            groups.Add(new OfferedGroup(IPEndPoint.Parse(parts[0]), IPEndPoint.Parse(parts[1]), slots));
        }

        return new ListenerSetDescription(pid, workers, steering, groups);
    }

    private static string Value(string line, string key) =>
        line.StartsWith(key + " ", StringComparison.Ordinal) ? line[(key.Length + 1)..] : throw new FormatException($"expected '{key} …', got '{line}'");
}
