using System.Runtime.InteropServices;
using Fastsock.Native;

namespace Fastsock.Locality;

/// <summary>
/// The classic-BPF program attached to a reuseport group (SO_ATTACH_REUSEPORT_CBPF). It loads the number of the
/// CPU running the program (the one processing the SYN, SKF_AD_CPU) and returns the group index of the listener
/// whose worker is pinned to that CPU. A CPU with no worker returns an index past the end, which makes the kernel
/// fall back to its flow hash.
/// </summary>
internal static unsafe class ReusePortSteering
{
    private const ushort BPF_LD_W_ABS = 0x20;   // BPF_LD | BPF_W | BPF_ABS
    private const ushort BPF_JMP_JEQ_K = 0x15;  // BPF_JMP | BPF_JEQ | BPF_K
    private const ushort BPF_RET_K = 0x06;      // BPF_RET | BPF_K
    private const int SKF_AD_OFF = -0x1000;
    private const int SKF_AD_CPU = 36;
    private const uint NoListener = 0xFFFF;

    /// <summary>
    /// Builds the program for a group where <paramref name="cpuBySlot"/>[i] is the CPU of the listener at group
    /// index i (-1 for a listener tied to no CPU).
    /// </summary>
    public static SocketFilter[] Build(IReadOnlyList<int> cpuBySlot)
    {
        var program = new List<SocketFilter> { new(BPF_LD_W_ABS, 0, 0, unchecked((uint)(SKF_AD_OFF + SKF_AD_CPU))) };
        for (int slot = 0; slot < cpuBySlot.Count; slot++)
        {
            if (cpuBySlot[slot] < 0)
            {
                continue;
            }

            // if (A == cpu) return slot; else fall through to the next test.
            program.Add(new SocketFilter(BPF_JMP_JEQ_K, 0, 1, (uint)cpuBySlot[slot]));
            program.Add(new SocketFilter(BPF_RET_K, 0, 0, (uint)slot));
        }

        program.Add(new SocketFilter(BPF_RET_K, 0, 0, NoListener));
        return [.. program];
    }

    /// <summary>Attaches the program to the group that <paramref name="anyMemberFd"/> belongs to.</summary>
    public static void Attach(int anyMemberFd, IReadOnlyList<int> cpuBySlot, string endPoint)
    {
        var program = Build(cpuBySlot);
        fixed (SocketFilter* filter = program)
        {
            var fprog = new SocketFilterProgram { Length = (ushort)program.Length, Filter = filter };
            if (SocketCalls.SetOption(anyMemberFd, SocketCalls.SOL_SOCKET, SocketCalls.SO_ATTACH_REUSEPORT_CBPF, &fprog, sizeof(SocketFilterProgram)) != 0)
            {
                throw Errno.Exception($"setsockopt(SO_ATTACH_REUSEPORT_CBPF, {endPoint})", "The kernel refused the CPU steering program; use --steering hash.");
            }
        }
    }

    /// <summary><c>struct sock_filter</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal readonly record struct SocketFilter(ushort Code, byte JumpTrue, byte JumpFalse, uint K);

    /// <summary><c>struct sock_fprog</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct SocketFilterProgram
    {
        public ushort Length;
        public SocketFilter* Filter;
    }
}
