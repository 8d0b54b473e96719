using System.Globalization;

namespace Fastsock.Transport;

/// <summary>Settings for outbound connections (see <see cref="FastsockConnector"/>).</summary>
public sealed class OutboundOptions
{
    /// <summary>How the local port is chosen. Default <see cref="SourcePortStrategy.Kernel"/>.</summary>
    public SourcePortStrategy Strategy { get; set; } = SourcePortStrategy.Kernel;

    /// <summary>Local ports to split between workers. Default: the kernel's <c>ip_local_port_range</c>.</summary>
    public (int First, int Last)? PortRange { get; set; }

    /// <summary>
    /// How long a connect may take before it fails with a timeout. A fraction of a millisecond counts as a whole one (never
    /// given up early). <see cref="Timeout.InfiniteTimeSpan"/>: no timeout of ours (a TCP connect still fails when the
    /// kernel gives up its SYN retries, <c>net.ipv4.tcp_syn_retries</c>; a unix one waiting on a full backlog waits until
    /// cancelled). Zero and other negative values are rejected at start. Default 5 s.
    /// </summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The interface whose RSS key and table to read. Default: the interface of the default route.</summary>
    public string? RssInterface { get; set; }

    /// <summary>The RSS key (usually 40 bytes); with the two below, replaces what the interface reports.</summary>
    public byte[]? RssKey { get; set; }

    /// <summary>The RSS indirection table: entry i is the queue for hashes with <c>hash % length == i</c>.</summary>
    public int[]? RssIndirectionTable { get; set; }

    /// <summary>Queue → CPU that processes it. Default: from <c>/proc/interrupts</c> and <c>/proc/irq/*/smp_affinity_list</c>.</summary>
    public int[]? RssQueueCpus { get; set; }

    /// <summary>Parses a strategy as written on a command line: <c>kernel</c>, <c>modulo</c> or <c>rss</c>.</summary>
    /// <exception cref="FormatException">Not one of the three; the message lists them.</exception>
    public static SourcePortStrategy ParseStrategy(string text) => text?.Trim().ToLowerInvariant() switch
    {
        "kernel" => SourcePortStrategy.Kernel,
        "modulo" => SourcePortStrategy.Modulo,
        "rss" => SourcePortStrategy.Rss,
        _ => throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"Source-port strategy '{text}' is not known; use kernel, modulo or rss.")),
    };

    internal void Validate()
    {
        if (ConnectTimeout <= TimeSpan.Zero && ConnectTimeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentException(
                $"Outbound.ConnectTimeout {ConnectTimeout} is not positive; give a positive time (e.g. 00:00:05), or Timeout.InfiniteTimeSpan for no connect timeout.");
        }

        if (PortRange is { } range)
        {
            Locality.PortRange.Create(range.First, range.Last, "Outbound.PortRange");
        }

        if (RssIndirectionTable is { Length: 0 })
        {
            throw new ArgumentException("Outbound.RssIndirectionTable is empty; give at least one queue.");
        }
    }
}
