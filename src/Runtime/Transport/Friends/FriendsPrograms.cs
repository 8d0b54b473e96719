using static Fastsock.Transport.Friends.EbpfWriter;

namespace Fastsock.Transport.Friends;

/// <summary>
/// The two eBPF programs of TCP friends, written as instructions (no compiler at build or run time).
/// <para>
/// Both build the same 40-byte SOCKHASH key on the stack at fp-40: local address (16 bytes), remote address (16),
/// local port, remote port, both ports in host order. IPv4 addresses are written as IPv4-mapped IPv6
/// (::ffff:a.b.c.d), so an AF_INET socket and a dual-stack AF_INET6 socket speaking IPv4 produce the same key.
/// The sockops program inserts a socket under its own tuple; the sk_msg program looks its peer up under the
/// reversed tuple (the peer's local is our remote), so only pairs whose both ends were inserted meet. A HASH map under
/// the same key holds the bytes each socket has redirected (its budget, see <see cref="SkMsg"/>), and another the bytes
/// its peer's reader reported consumed (its credit, written from user space by <see cref="FriendCredit"/>).
/// </para>
/// <para>
/// Context fields (<c>linux/bpf.h</c>): <c>local_port</c> is in host order, <c>remote_port</c> holds the big-endian
/// port in its upper 16 bits on little-endian machines, so a 32-bit byte swap turns it into the host-order port.
/// </para>
/// </summary>
internal static class FriendsPrograms
{
    /// <summary>Per-CPU counters, one u64 per index.</summary>
    public const int CounterFriends = 0;
    public const int CounterBytesRedirected = 1;
    public const int CounterMessagesRedirected = 2;
    public const int CounterCount = 3;

    public const int KeySize = 40;

    /// <summary>
    /// Bytes one socket may send by redirect; past it the connection goes on through TCP (see <see cref="SkMsg"/>).
    /// Request/response traffic stays far below it for a long while; a bulk transfer gets its first 4 MiB redirected.
    /// </summary>
    public const int RedirectBudget = 4 * 1024 * 1024;

    /// <summary>A budget entry holding this has fallen back to TCP for good (see <see cref="SkMsg"/>): all bits set.</summary>
    public const ulong Faded = ulong.MaxValue;

    private const int HelperMapLookup = 1;
    private const int HelperMapUpdate = 2;
    private const int HelperMapDelete = 3;
    private const int HelperSockOpsCallbackFlagsSet = 59;
    private const int HelperSockHashUpdate = 70;
    private const int HelperMsgRedirectHash = 71;
    private const int AfInet = 2;
    private const int AfInet6 = 10;
    private const int OpActiveEstablished = 4;
    private const int OpPassiveEstablished = 5;
    private const int OpStateChange = 10;        // BPF_SOCK_OPS_STATE_CB: args[0] old state, args[1] new state
    private const int TcpClose = 7;              // BPF_TCP_CLOSE
    private const int StateCallbackFlag = 4;     // BPF_SOCK_OPS_STATE_CB_FLAG
    private const int FlagIngress = 1;
    private const int SkPass = 1;

    // The key on the stack, and the counter index just below it.
    private const short KeyLocal = -40;
    private const short KeyRemote = -24;
    private const short KeyLocalPort = -8;
    private const short KeyRemotePort = -4;
    private const short CounterIndex = -44;
    private const short BudgetZero = -56;

    // sk_msg only: the sending socket's own key (its budget entry's), at fp-88.
    private const short OwnLocal = -88;
    private const short OwnRemote = -72;
    private const short OwnLocalPort = -56;
    private const short OwnRemotePort = -52;

    // ::ffff:0:0/96 read as the third little-endian u32 of an IPv6 address.
    private const int V4MappedWord = unchecked((int)0xFFFF0000);

    // struct bpf_sock_ops
    private const short OpsOp = 0, OpsNewState = 8, OpsFamily = 20, OpsRemoteIp4 = 24, OpsLocalIp4 = 28, OpsRemoteIp6 = 32, OpsLocalIp6 = 48, OpsRemotePort = 64, OpsLocalPort = 68;

    // struct sk_msg_md
    private const short MsgFamily = 16, MsgRemoteIp4 = 20, MsgLocalIp4 = 24, MsgRemoteIp6 = 28, MsgLocalIp6 = 44, MsgRemotePort = 60, MsgLocalPort = 64, MsgSize = 68;

    /// <summary>
    /// BPF_PROG_TYPE_SOCK_OPS. On ACTIVE/PASSIVE_ESTABLISHED of a loopback connection (both addresses in 127.0.0.0/8
    /// or ::1, plain or IPv4-mapped): gives the socket a redirect budget entry and a credit entry (both 0), inserts it
    /// into the SOCKHASH under its own tuple, asks for state callbacks and counts it. On the state change to CLOSE:
    /// removes both entries (the SOCKHASH drops closed sockets by itself). A socket that did not get both entries is
    /// never inserted. The credit entry exists only while the socket does, so a credit written with BPF_EXIST can never
    /// outlive it or land on a later socket of the same tuple.
    /// </summary>
    public static EbpfInstruction[] SockOps(int sockHashFd, int budgetFd, int creditFd, int countersFd)
    {
        var w = new EbpfWriter();
        w.Move(R6, R1);
        w.Load32(R2, R6, OpsOp);
        w.JumpIfEqual32(R2, OpActiveEstablished, "established");
        w.JumpIfEqual32(R2, OpPassiveEstablished, "established");
        w.JumpIfNotEqual32(R2, OpStateChange, "out");
        w.Load32(R2, R6, OpsNewState);
        w.JumpIfNotEqual32(R2, TcpClose, "out");
        OwnKeyFromSockOps(w, "closing");
        DeleteOwnEntry(w, creditFd);
        DeleteOwnEntry(w, budgetFd);
        w.Jump("out");

        w.Label("established");
        OwnKeyFromSockOps(w, "joining");
        RequireLoopback(w, KeyLocal, "local");
        RequireLoopback(w, KeyRemote, "remote");

        // The budget and credit entries exist before the socket can send anything (see SkMsg).
        w.Store64Immediate(FP, BudgetZero, 0);
        CreateOwnEntry(w, budgetFd);
        w.JumpIfNotEqual64(R0, 0, "out");
        CreateOwnEntry(w, creditFd);
        w.JumpIfNotEqual64(R0, 0, "forget");

        w.Move(R1, R6);
        w.LoadMap(R2, sockHashFd);
        w.Move(R3, FP);
        w.AddImmediate(R3, KeyLocal);
        w.MoveImmediate(R4, 0); // BPF_ANY
        w.Call(HelperSockHashUpdate);
        w.JumpIfNotEqual64(R0, 0, "forget");
        w.Move(R1, R6);
        w.MoveImmediate(R2, StateCallbackFlag);
        w.Call(HelperSockOpsCallbackFlagsSet);
        w.MoveImmediate(R7, 1);
        AddToCounter(w, countersFd, CounterFriends, R7, "out");
        w.Jump("out");

        w.Label("forget");
        DeleteOwnEntry(w, creditFd);
        DeleteOwnEntry(w, budgetFd);
        w.Label("out");
        w.MoveImmediate(R0, 1);
        w.Exit();
        return w.Build();
    }

    /// <summary>
    /// BPF_PROG_TYPE_SK_MSG, attached to the SOCKHASH: redirects each send into the receive queue of the peer found
    /// under the reversed tuple (BPF_F_INGRESS) and counts its bytes, while the sending socket's redirected bytes less
    /// its credit (what the peer's reader reported consumed) are at most <see cref="RedirectBudget"/>. When the peer is
    /// not in the map (a backend outside the cgroup, a non-loopback peer), or the budget is spent, or the socket has no
    /// budget entry, the program returns SK_PASS with no redirect: the data goes through TCP as usual. Never SK_DROP.
    /// <para>
    /// Why a budget: redirected data is queued on the receiver at once, with no receive window, so a sender faster
    /// than its reader grows the queue until the kernel's TCP memory runs out and sends fail with ENOMEM (measured,
    /// perf/results/friends.md). The credit only ever counts bytes already read out of that queue, so the bytes queued
    /// unread stay at most the budget plus one send. A reader that reports nothing (any process but ours) leaves the
    /// credit at 0: its peer gets its first 4 MiB redirected, as before credits existed.
    /// </para>
    /// <para>
    /// Past the budget the connection goes on through TCP, whose window bounds it, and the entry is marked
    /// <see cref="Faded"/>: the switch is one way even if credit comes later, and that keeps the byte order (the
    /// receiver reads its redirect queue before its TCP queue, and every redirected byte was queued before the first
    /// byte sent through TCP).
    /// </para>
    /// </summary>
    public static EbpfInstruction[] SkMsg(int sockHashFd, int budgetFd, int creditFd, int countersFd)
    {
        var w = new EbpfWriter();
        w.Move(R6, R1);
        w.Load32(R7, R6, MsgSize);
        w.Load32(R2, R6, MsgFamily);
        w.JumpIfEqual32(R2, AfInet, "v4");
        w.JumpIfNotEqual32(R2, AfInet6, "out");
        CopyAddress6(w, MsgRemoteIp6, KeyLocal);
        CopyAddress6(w, MsgLocalIp6, KeyRemote);
        CopyAddress6(w, MsgLocalIp6, OwnLocal);
        CopyAddress6(w, MsgRemoteIp6, OwnRemote);
        w.Jump("ports");
        w.Label("v4");
        WriteMapped4(w, MsgRemoteIp4, KeyLocal);
        WriteMapped4(w, MsgLocalIp4, KeyRemote);
        WriteMapped4(w, MsgLocalIp4, OwnLocal);
        WriteMapped4(w, MsgRemoteIp4, OwnRemote);
        w.Label("ports");
        w.Load32(R2, R6, MsgRemotePort);
        w.SwapBytes32(R2);
        w.Store32(FP, KeyLocalPort, R2);
        w.Store32(FP, OwnRemotePort, R2);
        w.Load32(R2, R6, MsgLocalPort);
        w.Store32(FP, KeyRemotePort, R2);
        w.Store32(FP, OwnLocalPort, R2);

        w.LoadMap(R1, budgetFd);
        w.Move(R2, FP);
        w.AddImmediate(R2, OwnLocal);
        w.Call(HelperMapLookup);
        w.JumpIfEqual64(R0, 0, "out");
        w.Move(R8, R0);
        w.Load64(R2, R8, 0);
        w.JumpIfEqual64(R2, -1, "out"); // Faded

        // r3 = credit (0 without an entry); redirect while sent - credit <= budget. Credit ahead of sent (bytes the
        // reader took that came through TCP before the pair joined) means nothing of ours is queued unread.
        w.LoadMap(R1, creditFd);
        w.Move(R2, FP);
        w.AddImmediate(R2, OwnLocal);
        w.Call(HelperMapLookup);
        w.MoveImmediate(R3, 0);
        w.JumpIfEqual64(R0, 0, "credited");
        w.Load64(R3, R0, 0);
        w.Label("credited");
        w.Load64(R2, R8, 0);
        w.JumpIfGreaterRegister64(R3, R2, "redirect");
        w.Subtract(R2, R3);
        w.JumpIfGreater64(R2, RedirectBudget, "fade");

        w.Label("redirect");

        w.Move(R1, R6);
        w.LoadMap(R2, sockHashFd);
        w.Move(R3, FP);
        w.AddImmediate(R3, KeyLocal);
        w.MoveImmediate(R4, FlagIngress);
        w.Call(HelperMsgRedirectHash);
        w.JumpIfNotEqual64(R0, SkPass, "out");
        w.AtomicAdd64(R8, 0, R7);
        AddToCounter(w, countersFd, CounterBytesRedirected, R7, "messages");
        w.Label("messages");
        w.MoveImmediate(R7, 1);
        AddToCounter(w, countersFd, CounterMessagesRedirected, R7, "out");
        w.Jump("out");

        // Sends serialise under the socket's lock, so no redirect of this socket races this store.
        w.Label("fade");
        w.Store64Immediate(R8, 0, -1);
        w.Label("out");
        w.MoveImmediate(R0, SkPass);
        w.Exit();
        return w.Build();
    }

    /// <summary>map[own key at fp-40] = the zero u64 at fp-56 (BPF_ANY); r0 = the helper's result.</summary>
    private static void CreateOwnEntry(EbpfWriter w, int mapFd)
    {
        w.LoadMap(R1, mapFd);
        w.Move(R2, FP);
        w.AddImmediate(R2, KeyLocal);
        w.Move(R3, FP);
        w.AddImmediate(R3, BudgetZero);
        w.MoveImmediate(R4, 0); // BPF_ANY
        w.Call(HelperMapUpdate);
    }

    private static void DeleteOwnEntry(EbpfWriter w, int mapFd)
    {
        w.LoadMap(R1, mapFd);
        w.Move(R2, FP);
        w.AddImmediate(R2, KeyLocal);
        w.Call(HelperMapDelete);
    }

    /// <summary>The socket's own key at fp-40 from a sockops context; goes to "out" for a family other than IPv4/IPv6.</summary>
    private static void OwnKeyFromSockOps(EbpfWriter w, string name)
    {
        string v4 = name + "-v4";
        string ports = name + "-ports";
        w.Load32(R2, R6, OpsFamily);
        w.JumpIfEqual32(R2, AfInet, v4);
        w.JumpIfNotEqual32(R2, AfInet6, "out");
        CopyAddress6(w, OpsLocalIp6, KeyLocal);
        CopyAddress6(w, OpsRemoteIp6, KeyRemote);
        w.Jump(ports);
        w.Label(v4);
        WriteMapped4(w, OpsLocalIp4, KeyLocal);
        WriteMapped4(w, OpsRemoteIp4, KeyRemote);
        w.Label(ports);
        w.Load32(R2, R6, OpsLocalPort);
        w.Store32(FP, KeyLocalPort, R2);
        w.Load32(R2, R6, OpsRemotePort);
        w.SwapBytes32(R2);
        w.Store32(FP, KeyRemotePort, R2);
    }

    private static void CopyAddress6(EbpfWriter w, short from, short to)
    {
        for (short i = 0; i < 16; i += 4)
        {
            w.Load32(R2, R6, (short)(from + i));
            w.Store32(FP, (short)(to + i), R2);
        }
    }

    private static void WriteMapped4(EbpfWriter w, short from, short to)
    {
        w.Store32Immediate(FP, to, 0);
        w.Store32Immediate(FP, (short)(to + 4), 0);
        w.Store32Immediate(FP, (short)(to + 8), V4MappedWord);
        w.Load32(R2, R6, from);
        w.Store32(FP, (short)(to + 12), R2);
    }

    /// <summary>Goes to "out" unless the address at <paramref name="at"/> is ::1 or ::ffff:127.x.y.z.</summary>
    private static void RequireLoopback(EbpfWriter w, short at, string name)
    {
        string v6 = name + "-v6";
        string ok = name + "-ok";
        w.Load32(R2, FP, at);
        w.JumpIfNotEqual32(R2, 0, "out");
        w.Load32(R2, FP, (short)(at + 4));
        w.JumpIfNotEqual32(R2, 0, "out");
        w.Load32(R2, FP, (short)(at + 8));
        w.Load32(R3, FP, (short)(at + 12));
        w.JumpIfEqual32(R2, 0, v6);
        w.JumpIfNotEqual32(R2, V4MappedWord, "out");
        w.And32(R3, 0xFF); // first byte of the network-order address
        w.JumpIfNotEqual32(R3, 127, "out");
        w.Jump(ok);
        w.Label(v6);
        w.JumpIfNotEqual32(R3, 0x01000000, "out"); // ::1
        w.Label(ok);
    }

    /// <summary>counters[index] += value on this CPU; goes to <paramref name="next"/> either way.</summary>
    private static void AddToCounter(EbpfWriter w, int countersFd, int index, int value, string next)
    {
        w.Store32Immediate(FP, CounterIndex, index);
        w.LoadMap(R1, countersFd);
        w.Move(R2, FP);
        w.AddImmediate(R2, CounterIndex);
        w.Call(HelperMapLookup);
        w.JumpIfEqual64(R0, 0, next);
        w.AtomicAdd64(R0, 0, value);
    }
}
