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
/// its own before using any of them. The descriptors follow group by group, slot by slot; then, when the description
/// says <c>ticket-keys</c>, one message of TLS ticket keys.
/// </summary>
internal sealed record ListenerSetDescription(int Pid, int Workers, ListenerSteering Steering, IReadOnlyList<OfferedGroup> Groups)
{
    private const string Magic = "fastsock-listeners 1";
    private const string TicketKeysKey = "ticket-keys";

    /// <summary>The length of the TLS ticket keys sent after the descriptors; 0 when none are.</summary>
    public int TicketKeysLength { get; init; }

    public int DescriptorCount => Groups.Sum(g => g.DescriptorCount);

    public string Format()
    {
        var text = new StringBuilder();
        text.Append(Magic).Append('\n');
        text.Append(CultureInfo.InvariantCulture, $"pid {Pid}\nworkers {Workers}\nsteering {Steering.ToString().ToLowerInvariant()}\n");
        if (TicketKeysLength > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"{TicketKeysKey} {TicketKeysLength}\n");
        }

        foreach (var group in Groups)
        {
            var slots = group.WorkerBySlot.Length == 0 ? "shared" : string.Join(',', group.WorkerBySlot);
            text.Append(CultureInfo.InvariantCulture, $"group {group.Requested} {group.Bound} {slots}\n");
        }

        return text.ToString();
    }

    /// <exception cref="FormatException">Not a description this version understands, or one that does not hold together
    /// (a slot naming a worker the set does not have, say); the message is one line.</exception>
    public static ListenerSetDescription Parse(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length < 4 || lines[0] != Magic)
        {
            throw new FormatException($"the other process does not speak '{Magic}' (first line: '{Shown(lines.Length > 0 ? lines[0] : "")}')");
        }

        int pid = Number(lines[1], "pid", int.MaxValue);
        int workers = Number(lines[2], "workers", MaxWorkers);
        var steering = SteeringNamed(Value(lines[3], "steering"));
        int first = 4;
        int ticketKeys = 0;
        if (lines.Length > first && lines[first].StartsWith(TicketKeysKey + " ", StringComparison.Ordinal))
        {
            ticketKeys = Number(lines[first++], TicketKeysKey, Transport.Tls.TlsTicketKeys.Length);
            if (ticketKeys != Transport.Tls.TlsTicketKeys.Length)
            {
                throw new FormatException($"'{TicketKeysKey}' is {ticketKeys} B, not the {Transport.Tls.TlsTicketKeys.Length} B of OpenSSL's ticket keys");
            }
        }

        var groups = new List<OfferedGroup>();
        for (int i = first; i < lines.Length; i++)
        {
            var parts = Value(lines[i], "group").Split(' ');
            if (parts.Length != 3 || !IPEndPoint.TryParse(parts[0], out var requested) || !IPEndPoint.TryParse(parts[1], out var bound))
            {
                throw new FormatException($"bad group line '{Shown(lines[i])}'");
            }

            groups.Add(new OfferedGroup(requested, bound, Slots(parts[2], workers, steering, lines[i])));
        }

        return new ListenerSetDescription(pid, workers, steering, groups) { TicketKeysLength = ticketKeys };
    }

    // More CPUs than Linux supports (CONFIG_NR_CPUS tops out at 8192): a description claiming so is not a server's.
    private const int MaxWorkers = 8192;

    /// <summary>The workers of one group's slots: each a worker of the set, none twice; "shared" exactly for steering single.</summary>
    private static int[] Slots(string text, int workers, ListenerSteering steering, string line)
    {
        if (steering == ListenerSteering.Single || text == "shared")
        {
            return steering == ListenerSteering.Single && text == "shared" ? []
                : throw new FormatException($"group line '{Shown(line)}': 'shared' goes with steering single and only with it");
        }

        var names = text.Split(',');
        if (names.Length > workers)
        {
            throw new FormatException($"group line '{Shown(line)}' has {names.Length} slots for {workers} workers");
        }

        var slots = new int[names.Length];
        var seen = new bool[workers];
        for (int i = 0; i < names.Length; i++)
        {
            if (!int.TryParse(names[i], NumberStyles.None, CultureInfo.InvariantCulture, out slots[i]) || slots[i] >= workers || seen[slots[i]])
            {
                throw new FormatException($"group line '{Shown(line)}': slot {i} names worker '{Shown(names[i])}'; each slot names a worker from 0 to {workers - 1}, each worker once");
            }

            seen[slots[i]] = true;
        }

        return slots;
    }

    private static int Number(string line, string key, int max)
    {
        var text = Value(line, key);
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) && value >= 1 && value <= max ? value
            : throw new FormatException($"'{key}' is '{Shown(text)}', not a number from 1 to {max}");
    }

    private static ListenerSteering SteeringNamed(string text) => text switch
    {
        "cpu" => ListenerSteering.Cpu,
        "hash" => ListenerSteering.Hash,
        "single" => ListenerSteering.Single,
        _ => throw new FormatException($"'steering' is '{Shown(text)}', not cpu, hash or single"),
    };

    private static string Value(string line, string key) =>
        line.StartsWith(key + " ", StringComparison.Ordinal) ? line[(key.Length + 1)..] : throw new FormatException($"expected '{key} …', got '{Shown(line)}'");

    /// <summary>Peer text quoted in a one-line message: control characters out, at most 80 characters.</summary>
    private static string Shown(string text)
    {
        var shown = new StringBuilder(Math.Min(text.Length, 80));
        foreach (char c in text.AsSpan(0, Math.Min(text.Length, 80)))
        {
            shown.Append(char.IsControl(c) ? '?' : c);
        }

        return text.Length > 80 ? shown.Append('…').ToString() : shown.ToString();
    }
}
