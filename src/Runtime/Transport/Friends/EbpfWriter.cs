namespace Fastsock.Transport.Friends;

/// <summary>
/// Writes eBPF instructions with named forward jumps, so the programs in <see cref="FriendsPrograms"/> read like the
/// assembly they are. Only the opcodes those programs need.
/// </summary>
internal sealed class EbpfWriter
{
    // Registers: r0 return value, r1-r5 helper arguments (clobbered by calls), r6-r9 kept across calls, r10 frame pointer.
    public const int R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R6 = 6, R7 = 7, R8 = 8, FP = 10;

    private const byte ClassLd = 0x00, ClassLdx = 0x01, ClassSt = 0x02, ClassStx = 0x03, ClassAlu = 0x04, ClassJmp = 0x05, ClassJmp32 = 0x06, ClassAlu64 = 0x07;
    private const byte SizeW = 0x00, SizeDw = 0x18;
    private const byte ModeImm = 0x00, ModeMem = 0x60, ModeAtomic = 0xC0;
    private const byte SourceK = 0x00, SourceX = 0x08;
    private const byte OpAdd = 0x00, OpSub = 0x10, OpAnd = 0x50, OpMov = 0xB0, OpEnd = 0xD0, ToBigEndian = 0x08;
    private const byte JumpAlways = 0x00, JumpEqual = 0x10, JumpGreater = 0x20, JumpNotEqual = 0x50, OpCall = 0x80, OpExit = 0x90;
    private const int PseudoMapFd = 1;

    private readonly List<EbpfInstruction> _code = [];
    private readonly Dictionary<string, int> _labels = [];
    private readonly List<(int At, string Label)> _jumps = [];

    /// <summary>dst = src (64-bit).</summary>
    public void Move(int dst, int src) => Emit(ClassAlu64 | OpMov | SourceX, dst, src, 0, 0);

    /// <summary>dst = imm (64-bit, sign-extended).</summary>
    public void MoveImmediate(int dst, int imm) => Emit(ClassAlu64 | OpMov | SourceK, dst, 0, 0, imm);

    /// <summary>dst += imm (64-bit).</summary>
    public void AddImmediate(int dst, int imm) => Emit(ClassAlu64 | OpAdd | SourceK, dst, 0, 0, imm);

    /// <summary>dst -= src (64-bit).</summary>
    public void Subtract(int dst, int src) => Emit(ClassAlu64 | OpSub | SourceX, dst, src, 0, 0);

    /// <summary>dst &amp;= imm (32-bit).</summary>
    public void And32(int dst, int imm) => Emit(ClassAlu | OpAnd | SourceK, dst, 0, 0, imm);

    /// <summary>dst = byte-swapped 32-bit dst (to big-endian on this little-endian machine).</summary>
    public void SwapBytes32(int dst) => Emit(ClassAlu | OpEnd | ToBigEndian, dst, 0, 0, 32);

    /// <summary>dst = *(u32 *)(src + offset).</summary>
    public void Load32(int dst, int src, short offset) => Emit(ClassLdx | ModeMem | SizeW, dst, src, offset, 0);

    /// <summary>dst = *(u64 *)(src + offset).</summary>
    public void Load64(int dst, int src, short offset) => Emit(ClassLdx | ModeMem | SizeDw, dst, src, offset, 0);

    /// <summary>*(u64 *)(dst + offset) = imm (sign-extended).</summary>
    public void Store64Immediate(int dst, short offset, int imm) => Emit(ClassSt | ModeMem | SizeDw, dst, 0, offset, imm);

    /// <summary>*(u32 *)(dst + offset) = src.</summary>
    public void Store32(int dst, short offset, int src) => Emit(ClassStx | ModeMem | SizeW, dst, src, offset, 0);

    /// <summary>*(u32 *)(dst + offset) = imm.</summary>
    public void Store32Immediate(int dst, short offset, int imm) => Emit(ClassSt | ModeMem | SizeW, dst, 0, offset, imm);

    /// <summary>lock *(u64 *)(dst + offset) += src: counters other CPUs' programs may be adding to as well.</summary>
    public void AtomicAdd64(int dst, short offset, int src) => Emit(ClassStx | ModeAtomic | SizeDw, dst, src, offset, OpAdd);

    /// <summary>dst = the map whose fd is <paramref name="mapFd"/> (a two-slot load the kernel rewrites to the map's address).</summary>
    public void LoadMap(int dst, int mapFd)
    {
        Emit(ClassLd | ModeImm | SizeDw, dst, PseudoMapFd, 0, mapFd);
        Emit(0, 0, 0, 0, 0);
    }

    public void Call(int helper) => Emit(ClassJmp | OpCall, 0, 0, 0, helper);

    public void Exit() => Emit(ClassJmp | OpExit, 0, 0, 0, 0);

    public void Jump(string label) => EmitJump(ClassJmp | JumpAlways, 0, 0, 0, label);

    /// <summary>if ((u32)dst == imm) goto label. 32-bit compare: a 64-bit one would sign-extend imm.</summary>
    public void JumpIfEqual32(int dst, int imm, string label) => EmitJump(ClassJmp32 | JumpEqual | SourceK, dst, 0, imm, label);

    /// <summary>if ((u32)dst != imm) goto label.</summary>
    public void JumpIfNotEqual32(int dst, int imm, string label) => EmitJump(ClassJmp32 | JumpNotEqual | SourceK, dst, 0, imm, label);

    /// <summary>if (dst == imm) goto label, 64-bit: for pointers returned by helpers.</summary>
    public void JumpIfEqual64(int dst, int imm, string label) => EmitJump(ClassJmp | JumpEqual | SourceK, dst, 0, imm, label);

    /// <summary>if (dst &gt; imm) goto label, 64-bit unsigned (imm sign-extended: keep it positive).</summary>
    public void JumpIfGreater64(int dst, int imm, string label) => EmitJump(ClassJmp | JumpGreater | SourceK, dst, 0, imm, label);

    /// <summary>if (dst &gt; src) goto label, 64-bit unsigned.</summary>
    public void JumpIfGreaterRegister64(int dst, int src, string label) => EmitJump(ClassJmp | JumpGreater | SourceX, dst, src, 0, label);

    /// <summary>if (dst != imm) goto label, 64-bit.</summary>
    public void JumpIfNotEqual64(int dst, int imm, string label) => EmitJump(ClassJmp | JumpNotEqual | SourceK, dst, 0, imm, label);

    public void Label(string name) => _labels.Add(name, _code.Count);

    /// <summary>The program, every jump resolved; throws for a label used but never placed (a bug in the program text).</summary>
    public EbpfInstruction[] Build()
    {
        var code = _code.ToArray();
        foreach (var (at, label) in _jumps)
        {
            if (!_labels.TryGetValue(label, out int target))
            {
                throw new InvalidOperationException($"eBPF label '{label}' is never placed.");
            }

            var jump = code[at];
            code[at] = jump with { Offset = checked((short)(target - at - 1)) };
        }

        return code;
    }

    private void EmitJump(int code, int dst, int src, int imm, string label)
    {
        _jumps.Add((_code.Count, label));
        Emit(code, dst, src, 0, imm);
    }

    private void Emit(int code, int dst, int src, short offset, int imm) =>
        _code.Add(EbpfInstruction.Make((byte)code, dst, src, offset, imm));
}
