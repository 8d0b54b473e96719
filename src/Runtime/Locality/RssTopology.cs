using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Fastsock.Native;
using Fastsock.Transport;

namespace Fastsock.Locality;

/// <summary>
/// What a NIC's RSS does with a flow: the Toeplitz key, the indirection table (hash → queue) and which CPU serves each
/// queue. Read without root: key and table through <c>SIOCETHTOOL</c>/<c>ETHTOOL_GRSSH</c>, queue → CPU from the
/// queue IRQs' <c>smp_affinity_list</c>; any part may come from options instead.
/// </summary>
internal sealed class RssTopology
{
    public RssTopology(byte[] key, int[] indirectionTable, int[] queueCpus, string source)
    {
        if (indirectionTable.Length == 0)
        {
            throw new ArgumentException("The RSS indirection table is empty.", nameof(indirectionTable));
        }

        foreach (int queue in indirectionTable)
        {
            if ((uint)queue >= (uint)queueCpus.Length)
            {
                throw new ArgumentException($"The RSS indirection table names queue {queue}, but the CPU of only {queueCpus.Length} queues is known.", nameof(queueCpus));
            }
        }

        Key = key;
        Hash = new ToeplitzHash(key);
        IndirectionTable = indirectionTable;
        QueueCpus = queueCpus;
        Source = source;
    }

    public byte[] Key { get; }

    public ToeplitzHash Hash { get; }

    public int[] IndirectionTable { get; }

    public int[] QueueCpus { get; }

    /// <summary>Where the topology came from, for the log: <c>options</c> or <c>ethtool eth0</c>.</summary>
    public string Source { get; }

    /// <summary>The CPU whose queue receives packets with this hash. Drivers index the table with the hash's low bits.</summary>
    public int CpuOf(uint hash) => QueueCpus[IndirectionTable[(int)(hash % (uint)IndirectionTable.Length)]];

    /// <summary>True when some queue is served by <paramref name="cpu"/>, i.e. some port can be local to it.</summary>
    public bool Serves(int cpu) => Array.IndexOf(QueueCpus, cpu) >= 0;

    /// <summary>Builds the topology from options, filling gaps from the interface; null with the reason when it cannot.</summary>
    public static RssTopology? TryLoad(OutboundOptions options, out string? reason)
    {
        reason = null;
        byte[]? key = options.RssKey;
        int[]? table = options.RssIndirectionTable;
        int[]? queueCpus = options.RssQueueCpus;
        string source = "options";
        if (key is null || table is null || queueCpus is null)
        {
            string? iface = options.RssInterface ?? DefaultRouteInterface();
            if (iface is null)
            {
                reason = "no RssInterface was given and /proc/net/route has no default route";
                return null;
            }

            source = $"interface {iface}";
            if (key is null || table is null)
            {
                if (!TryReadEthtool(iface, out var nicKey, out var nicTable, out reason))
                {
                    return null;
                }

                key ??= nicKey;
                table ??= nicTable;
            }

            if (queueCpus is null && !TryReadQueueCpus(iface, out queueCpus, out reason))
            {
                return null;
            }
        }

        try
        {
            return new RssTopology(key, table, queueCpus!, source);
        }
        catch (ArgumentException ex)
        {
            reason = ex.Message;
            return null;
        }
    }

    /// <summary>Reads the key and the indirection table of <paramref name="iface"/> with two <c>ETHTOOL_GRSSH</c> calls.</summary>
    public static unsafe bool TryReadEthtool(string iface, out byte[] key, out int[] table, out string? reason)
    {
        key = [];
        table = [];
        var name = Encoding.ASCII.GetBytes(iface);
        if (name.Length >= IoctlCalls.IfNameSize)
        {
            reason = $"interface name '{iface}' is longer than {IoctlCalls.IfNameSize - 1} characters";
            return false;
        }

        int fd = SocketCalls.Socket(SocketCalls.AF_INET, SocketCalls.SOCK_DGRAM | SocketCalls.SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            reason = Errno.Exception("socket(AF_INET, SOCK_DGRAM)").Message;
            return false;
        }

        try
        {
            Span<byte> header = stackalloc byte[IoctlCalls.RxfhHeaderSize];
            if (!Grssh(fd, name, header, iface, out reason))
            {
                return false;
            }

            int indirSize = (int)BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
            int keySize = (int)BinaryPrimitives.ReadUInt32LittleEndian(header[12..]);
            if (indirSize == 0 || keySize == 0)
            {
                reason = $"{iface} reports no RSS indirection table or key (table {indirSize} entries, key {keySize} bytes)";
                return false;
            }

            var full = new byte[IoctlCalls.RxfhHeaderSize + (indirSize * 4) + keySize];
            BinaryPrimitives.WriteUInt32LittleEndian(full.AsSpan(8), (uint)indirSize);
            BinaryPrimitives.WriteUInt32LittleEndian(full.AsSpan(12), (uint)keySize);
            if (!Grssh(fd, name, full, iface, out reason))
            {
                return false;
            }

            byte hfunc = full[16];
            if (hfunc != 0 && hfunc != IoctlCalls.ETH_RSS_HASH_TOP)
            {
                reason = $"{iface} hashes with function 0x{hfunc:x}, not Toeplitz";
                return false;
            }

            table = new int[indirSize];
            for (int i = 0; i < indirSize; i++)
            {
                table[i] = (int)BinaryPrimitives.ReadUInt32LittleEndian(full.AsSpan(IoctlCalls.RxfhHeaderSize + (i * 4)));
            }

            key = full.AsSpan(IoctlCalls.RxfhHeaderSize + (indirSize * 4), keySize).ToArray();
            return true;
        }
        finally
        {
            FileCalls.Close(fd);
        }
    }

    private static unsafe bool Grssh(int fd, byte[] name, Span<byte> rxfh, string iface, out string? reason)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(rxfh, IoctlCalls.ETHTOOL_GRSSH);
        Span<byte> ifreq = stackalloc byte[IoctlCalls.IfReqSize];
        ifreq.Clear();
        name.CopyTo(ifreq);
        fixed (byte* data = rxfh)
        fixed (byte* request = ifreq)
        {
            *(byte**)(request + IoctlCalls.IfNameSize) = data;
            if (IoctlCalls.Ioctl(fd, IoctlCalls.SIOCETHTOOL, request) != 0)
            {
                reason = Errno.Exception($"ioctl({iface}, SIOCETHTOOL ETHTOOL_GRSSH)").Message;
                return false;
            }
        }

        reason = null;
        return true;
    }

    /// <summary>
    /// Queue → CPU from the interface's queue IRQs: lines of <c>/proc/interrupts</c> naming the interface
    /// (<c>eth0-TxRx-3</c>, <c>eth0-rx-3</c>…) in queue order, each IRQ's first CPU in <c>smp_affinity_list</c>.
    /// </summary>
    public static bool TryReadQueueCpus(string iface, out int[]? queueCpus, out string? reason, string procRoot = "/proc")
    {
        queueCpus = null;
        var cpus = new List<int>();
        try
        {
            foreach (var line in File.ReadLines(Path.Combine(procRoot, "interrupts")))
            {
                var fields = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length < 2 || !fields[0].EndsWith(':'))
                {
                    continue;
                }

                string irqName = fields[^1];
                if (!irqName.StartsWith(iface + "-", StringComparison.Ordinal) || irqName.Contains("tx", StringComparison.Ordinal) && !irqName.Contains("TxRx", StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }

                string irq = fields[0].TrimEnd(':');
                string list = File.ReadAllText(Path.Combine(procRoot, "irq", irq, "smp_affinity_list")).Trim();
                var set = CpuSet.Parse(list);
                cpus.Add(set.Count > 0 ? set[0] : -1);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            reason = $"cannot read the queue IRQs of {iface}: {ex.Message}";
            return false;
        }

        if (cpus.Count == 0)
        {
            reason = $"no queue IRQ of {iface} in /proc/interrupts (a virtual interface?); give RssQueueCpus";
            return false;
        }

        queueCpus = [.. cpus];
        reason = null;
        return true;
    }

    /// <summary>The interface of the IPv4 default route, from <c>/proc/net/route</c>.</summary>
    public static string? DefaultRouteInterface(string path = "/proc/net/route")
    {
        try
        {
            foreach (var line in File.ReadLines(path).Skip(1))
            {
                var fields = line.Split('\t', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                if (fields.Length > 2 && fields[1] == "00000000")
                {
                    return fields[0];
                }
            }
        }
        catch (IOException)
        {
        }

        return null;
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Source}: key {Key.Length} bytes, table {IndirectionTable.Length} entries, queue CPUs [{string.Join(',', QueueCpus)}]");
}
