using System.Net.Sockets;
using System.Runtime.InteropServices;
using Fastsock.AspNetCore;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;

namespace Fastsock.Samples.AspNetCore;

/// <summary>
/// Where requests ran, against sched_getcpu() when the request reaches the app: on the CPU that accepted the connection
/// (Fastsock: the serving worker's CPU, which the reuseport program picked from the SYN's CPU; Kestrel's sockets
/// transport accepts on its accept loop, whose CPU is not known, so it has none), and on the CPU that processed the
/// connection's packets (SO_INCOMING_CPU, both transports). One padded slot per CPU, so cores do not share counters.
/// </summary>
internal sealed partial class LocalityCounters
{
    private const int SolSocket = 1;
    private const int SoIncomingCpu = 49;
    private static readonly object s_incomingCpuKey = new();

    private readonly Slot[] _slots = new Slot[Math.Max(Environment.ProcessorCount, 1) * 2];

    public void Count(HttpContext context, SampleTransport transport)
    {
        int cpu = sched_getcpu();
        int accepting = -1;
        int incoming;
        if (transport == SampleTransport.Fastsock && context.Features.Get<IFastsockConnectionFeature>() is { } feature)
        {
            accepting = feature.Cpu;
            incoming = feature.IncomingCpu;
        }
        else
        {
            incoming = IncomingCpu(context);
        }

        var slot = _slots[(uint)cpu % (uint)_slots.Length];
        Interlocked.Increment(ref slot.Requests);
        if (cpu == accepting)
        {
            Interlocked.Increment(ref slot.OnAcceptingCpu);
        }

        if (cpu == incoming)
        {
            Interlocked.Increment(ref slot.OnIncomingCpu);
        }
    }

    public LocalityStats Snapshot()
    {
        long requests = 0;
        long accepting = 0;
        long incoming = 0;
        foreach (var slot in _slots)
        {
            requests += Volatile.Read(ref slot.Requests);
            accepting += Volatile.Read(ref slot.OnAcceptingCpu);
            incoming += Volatile.Read(ref slot.OnIncomingCpu);
        }

        return new LocalityStats(requests, accepting, incoming, requests == 0 ? 0 : (double)accepting / requests);
    }

    /// <summary>SO_INCOMING_CPU of a sockets-transport connection, read once and kept in the connection's items.</summary>
    private static int IncomingCpu(HttpContext context)
    {
        var items = context.Features.Get<IConnectionItemsFeature>()?.Items;
        if (items is not null && items.TryGetValue(s_incomingCpuKey, out var known))
        {
            return (int)known!;
        }

        int cpu = -1;
        if (context.Features.Get<IConnectionSocketFeature>()?.Socket is { } socket)
        {
            Span<byte> value = stackalloc byte[sizeof(int)];
            try
            {
                if (socket.GetRawSocketOption(SolSocket, SoIncomingCpu, value) == sizeof(int))
                {
                    cpu = BitConverter.ToInt32(value);
                }
            }
            catch (SocketException)
            {
                cpu = -1;
            }
        }

        if (items is not null)
        {
            items[s_incomingCpuKey] = cpu;
        }

        return cpu;
    }

    [LibraryImport("libc")]
    private static partial int sched_getcpu();

    public LocalityCounters()
    {
        for (int i = 0; i < _slots.Length; i++)
        {
            _slots[i] = new Slot();
        }
    }

    /// <summary>One CPU's counters, on its own cache lines.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 128)]
    private sealed class Slot
    {
        [FieldOffset(0)]
        public long Requests;

        [FieldOffset(8)]
        public long OnAcceptingCpu;

        [FieldOffset(16)]
        public long OnIncomingCpu;
    }
}

/// <summary>What /stats answers.</summary>
internal sealed record LocalityStats(long Requests, long OnAcceptingCpu, long OnIncomingCpu, double Fraction);
