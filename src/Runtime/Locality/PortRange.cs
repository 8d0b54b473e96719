using System.Globalization;

namespace Fastsock.Locality;

/// <summary>
/// An inclusive range of local ports, e.g. the kernel's ephemeral range (<c>ip_local_port_range</c>). Each worker
/// gets its own slice, so picking a source port never touches state another core writes.
/// </summary>
internal readonly record struct PortRange(int First, int Last)
{
    public const string EphemeralRangePath = "/proc/sys/net/ipv4/ip_local_port_range";

    public int Count => Last - First + 1;

    public bool Contains(int port) => port >= First && port <= Last;

    /// <summary>The kernel's ephemeral range, or 32768–60999 (its default) when the file cannot be read.</summary>
    public static PortRange ReadEphemeral(string path = EphemeralRangePath)
    {
        try
        {
            var parts = File.ReadAllText(path).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 2
                && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int first)
                && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int last))
            {
                return Create(first, last, path);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return new PortRange(32768, 60999);
    }

    public static PortRange Create(int first, int last, string what)
    {
        if (first < 1 || last > 65535 || first > last)
        {
            throw new ArgumentException($"Port range {first}-{last} from {what} is not valid; give 1 <= first <= last <= 65535.");
        }

        return new PortRange(first, last);
    }

    /// <summary>Slice <paramref name="index"/> of <paramref name="count"/>: contiguous, disjoint, together the whole range.</summary>
    public PortRange Slice(int index, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, count);
        if (count > Count)
        {
            throw new ArgumentException($"Port range {this} has {Count} ports, fewer than the {count} workers that need a slice each.");
        }

        int first = First + (int)((long)Count * index / count);
        int last = First + (int)((long)Count * (index + 1) / count) - 1;
        return new PortRange(first, last);
    }

    public override string ToString() => $"{First}-{Last}";
}
