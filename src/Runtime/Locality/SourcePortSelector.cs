using System.Buffers.Binary;
using System.Numerics;
using Fastsock.Transport;

namespace Fastsock.Locality;

/// <summary>
/// One worker's source-port picker. <see cref="SourcePortStrategy.Rss"/> walks the worker's slice and keeps the ports
/// whose reply hashes (Toeplitz, the NIC's key and table) to a queue served by the worker's CPU;
/// <see cref="SourcePortStrategy.Modulo"/> keeps the ports whose low bits are the worker's index (Fastsocket's
/// Receive Flow Deliver, steered by <c>ethtool -N</c> rules). Owned by one worker thread: no locks, no allocation.
/// </summary>
internal sealed class SourcePortSelector
{
    private readonly RssTopology? _rss;
    private readonly int _moduloBase;
    private readonly int _moduloStride;
    private readonly int _rssStride;
    private int _cursor;

    public SourcePortSelector(SourcePortStrategy strategy, PortRange range, int workerIndex, int workerCount, int cpu, RssTopology? rss)
    {
        Strategy = strategy;
        Cpu = cpu;
        WorkerIndex = workerIndex;
        switch (strategy)
        {
            case SourcePortStrategy.Rss:
                _rss = rss ?? throw new ArgumentException("The Rss strategy needs an RSS topology.", nameof(rss));
                Slice = range.Slice(workerIndex, workerCount);
                CandidateCount = Slice.Count;
                _rssStride = CoprimeStride(CandidateCount);
                break;
            case SourcePortStrategy.Modulo:
                // Ports whose value mod 2^k (k: worker count rounded up to a power of two) is this worker's index.
                _moduloStride = ModuloStride(workerCount);
                _moduloBase = range.First + (((workerIndex - range.First) % _moduloStride) + _moduloStride) % _moduloStride;
                Slice = range;
                CandidateCount = _moduloBase > range.Last ? 0 : ((range.Last - _moduloBase) / _moduloStride) + 1;
                break;
            default:
                Slice = range;
                break;
        }
    }

    public SourcePortStrategy Strategy { get; }

    public int Cpu { get; }

    public int WorkerIndex { get; }

    /// <summary>The ports this worker may use (Rss: its own slice; Modulo: the whole range, one port in stride).</summary>
    public PortRange Slice { get; }

    /// <summary>Ports this worker considers per scan, before the RSS filter.</summary>
    public int CandidateCount { get; }

    /// <summary>Candidates looked at (for Rss, hashed) and ports handed out, for the metrics and the benchmark.</summary>
    public long CandidatesTried { get; private set; }

    public long PortsPicked { get; private set; }

    public static int ModuloStride(int workerCount) => (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(workerCount, 1));

    /// <summary>
    /// Starts a scan for a connection to <paramref name="remoteAddress"/>:<paramref name="remotePort"/> from
    /// <paramref name="localAddress"/> (raw address bytes, network order; used by Rss only).
    /// </summary>
    public PortScan BeginScan(ReadOnlySpan<byte> remoteAddress, ReadOnlySpan<byte> localAddress, int remotePort)
    {
        var scan = new PortScan { Remaining = CandidateCount, Index = _cursor };
        if (_rss is { } rss)
        {
            // The reply's tuple: source = remote, destination = us. Everything but our port is fixed: hash it once.
            var hash = rss.Hash;
            uint h = 0;
            int position = 0;
            foreach (byte b in remoteAddress)
            {
                h ^= hash.ByteAt(position++, b);
            }

            foreach (byte b in localAddress)
            {
                h ^= hash.ByteAt(position++, b);
            }

            h ^= hash.ByteAt(position, (byte)(remotePort >> 8)) ^ hash.ByteAt(position + 1, (byte)remotePort);
            scan.PartialHash = h;
            scan.PortPosition = position + 2;
        }

        return scan;
    }

    /// <summary>The next candidate port for this worker, or false when the scan has seen every one.</summary>
    public bool TryNext(ref PortScan scan, out int port)
    {
        while (scan.Remaining > 0)
        {
            scan.Remaining--;
            int index = scan.Index;
            scan.Index = index + 1 == CandidateCount ? 0 : index + 1;
            CandidatesTried++;
            switch (Strategy)
            {
                case SourcePortStrategy.Modulo:
                    port = _moduloBase + (index * _moduloStride);
                    break;
                case SourcePortStrategy.Rss:
                    port = Slice.First + (int)((long)index * _rssStride % CandidateCount);
                    if (CpuOfPort(scan, port) != Cpu)
                    {
                        continue;
                    }

                    break;
                default:
                    port = 0;
                    return false;
            }

            // The next scan starts after this port: fresh ports first, recently closed ones (TIME_WAIT) last.
            _cursor = scan.Index;
            PortsPicked++;
            return true;
        }

        port = 0;
        return false;
    }

    /// <summary>
    /// A step near the golden section of <paramref name="count"/> and coprime with it, so a scan still visits every port
    /// once. Toeplitz is linear in the port's bits: neighbouring ports often hash to the same queue, and walking them
    /// in order meets long runs of the wrong queue; big steps flip many bits at once.
    /// </summary>
    private static int CoprimeStride(int count)
    {
        int stride = Math.Max(1, (int)(count * 0.6180339887));
        while (System.Numerics.BigInteger.GreatestCommonDivisor(stride, count) != 1)
        {
            stride++;
        }

        return stride;
    }

    /// <summary>The CPU the reply to <paramref name="port"/> would be processed on.</summary>
    public int CpuOfPort(in PortScan scan, int port)
    {
        var hash = _rss!.Hash;
        uint h = scan.PartialHash ^ hash.ByteAt(scan.PortPosition, (byte)(port >> 8)) ^ hash.ByteAt(scan.PortPosition + 1, (byte)port);
        return _rss.CpuOf(h);
    }

    /// <summary>Raw address bytes of an IPv4 or IPv6 <c>sockaddr</c> (network order).</summary>
    public static ReadOnlySpan<byte> AddressBytes(ReadOnlySpan<byte> sockaddr) =>
        BinaryPrimitives.ReadUInt16LittleEndian(sockaddr) == Native.SocketCalls.AF_INET6 ? sockaddr.Slice(8, 16) : sockaddr.Slice(4, 4);
}

/// <summary>The state of one port scan: where it is, how much is left, and the hash of the fixed part of the tuple.</summary>
internal struct PortScan
{
    public int Index;
    public int Remaining;
    public uint PartialHash;
    public int PortPosition;
}
