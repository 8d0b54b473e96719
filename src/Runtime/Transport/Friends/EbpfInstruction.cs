using System.Runtime.InteropServices;

namespace Fastsock.Transport.Friends;

/// <summary><c>struct bpf_insn</c>: opcode, destination and source registers (4 bits each), offset, immediate.</summary>
[StructLayout(LayoutKind.Sequential)]
internal readonly record struct EbpfInstruction(byte Code, byte Registers, short Offset, int Immediate)
{
    public static EbpfInstruction Make(byte code, int dst, int src, short offset, int immediate) =>
        new(code, (byte)((src << 4) | (dst & 0xF)), offset, immediate);
}
