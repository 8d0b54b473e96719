using System.Globalization;
using System.Text;
using Fastsock.Native;
using Microsoft.Extensions.Logging;

namespace Fastsock.Transport.Friends;

/// <summary>
/// TCP friends from user space: a SOCKHASH of established loopback sockets, a sockops program on a cgroup v2
/// directory that inserts them, and an sk_msg program on the map that redirects each send into the peer's receive
/// queue, skipping the TCP/IP stack (<see cref="FriendsPrograms"/>).
/// <para>
/// It lives in Transport, not Locality: it changes how a connection's bytes move, and the forwarding engines beside
/// it must know (redirected data never reaches <c>splice(2)</c>, see <see cref="SocketConnection.CanSplice"/>).
/// </para>
/// <para>
/// Clean-up needs no code after a crash: the sockops program hangs on a BPF link and nothing is pinned. When the
/// process exits, whatever the way (SIGKILL included), the kernel closes our fds and the link detaches, so no socket
/// joins any more and the next start finds nothing of ours to remove. Sockets that joined keep the sk_msg program (their
/// psock holds it, and it holds the maps): those pairs stay friends, their queued bytes intact, until they close, and
/// the last of them frees program and maps (perf/results/friends.md, "When the process stops").
/// </para>
/// </summary>
internal sealed unsafe class TcpFriends : IDisposable
{
    /// <summary>Program names, as <c>bpftool prog show</c> lists them.</summary>
    public const string SockOpsName = "fsock_sockops";
    public const string SkMsgName = "fsock_msg";

    private static int s_active;

    private int _sockHash = -1;
    private int _budget = -1;
    private int _credit = -1;
    private int _counters = -1;
    private int _sockOps = -1;
    private int _skMsg = -1;
    private int _link = -1;
    private int _disposed;

    private TcpFriends(string cgroup)
    {
        Cgroup = cgroup;
    }

    /// <summary>
    /// True while some instance in this process is attached: its loopback sockets may receive by redirect, so
    /// forwarding copies instead of splicing them.
    /// </summary>
    public static bool ActiveInProcess => Volatile.Read(ref s_active) > 0;

    /// <summary>The cgroup v2 directory the sockops program is attached to.</summary>
    public string Cgroup { get; }

    /// <summary>Attaches for <paramref name="cgroup"/> (null: this process's own). Null, with one log line saying why, when it cannot.</summary>
    public static TcpFriends? TryStart(string? cgroup, ILogger logger)
    {
        string? directory = CgroupDirectory.Resolve(cgroup, out string reason);
        if (directory is null)
        {
            FriendsLog.Off(logger, reason);
            return null;
        }

        var friends = new TcpFriends(directory);
        try
        {
            friends.Attach();
        }
        catch (NativeCallException ex)
        {
            friends.Dispose();
            FriendsLog.Off(logger, ex.Message);
            return null;
        }

        Interlocked.Increment(ref s_active);
        FriendCredit.Use(friends._credit);
        FriendsLog.On(logger, directory);
        return friends;
    }

    /// <summary>Sum over CPUs is not wanted here: one value per possible CPU, indexed by CPU number.</summary>
    public ulong[] ReadCounter(int index)
    {
        int cpus = PossibleCpus();
        var values = new ulong[cpus];
        if (Volatile.Read(ref _disposed) != 0)
        {
            return values;
        }

        var attr = new BpfCalls.MapElemAttr { MapFd = (uint)_counters, Key = (ulong)&index };
        fixed (ulong* buffer = values)
        {
            attr.Value = (ulong)buffer;
            if (BpfCalls.Bpf(BpfCalls.BPF_MAP_LOOKUP_ELEM, ref attr) != 0)
            {
                Array.Clear(values);
            }
        }

        return values;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // The link first: no socket joins once we start letting go.
        bool attached = _link >= 0;
        FriendCredit.Forget(_credit);
        Close(ref _link);
        Close(ref _sockOps);
        Close(ref _skMsg);
        Close(ref _counters);
        Close(ref _budget);
        Close(ref _credit);
        Close(ref _sockHash);
        if (attached)
        {
            Interlocked.Decrement(ref s_active);
        }
    }

    private static void Close(ref int fd)
    {
        if (fd >= 0)
        {
            FileCalls.Close(fd);
            fd = -1;
        }
    }

    private void Attach()
    {
        _sockHash = CreateMap(BpfCalls.BPF_MAP_TYPE_SOCKHASH, FriendsPrograms.KeySize, 8, 65536, "fsock_friends",
            "The kernel has no SOCKHASH (needs CONFIG_BPF_STREAM_PARSER and CONFIG_NET_SOCK_MSG)");
        _budget = CreateMap(BpfCalls.BPF_MAP_TYPE_HASH, FriendsPrograms.KeySize, 8, 65536, "fsock_budget", null);
        _credit = CreateMap(BpfCalls.BPF_MAP_TYPE_HASH, FriendsPrograms.KeySize, 8, 65536, "fsock_credit", null);
        _counters = CreateMap(BpfCalls.BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, FriendsPrograms.CounterCount, "fsock_counters", null);
        _sockOps = Load(BpfCalls.BPF_PROG_TYPE_SOCK_OPS, 0, FriendsPrograms.SockOps(_sockHash, _budget, _credit, _counters), SockOpsName);
        _skMsg = Load(BpfCalls.BPF_PROG_TYPE_SK_MSG, BpfCalls.BPF_SK_MSG_VERDICT, FriendsPrograms.SkMsg(_sockHash, _budget, _credit, _counters), SkMsgName);

        var verdict = new BpfCalls.ProgAttachAttr { TargetFd = (uint)_sockHash, AttachBpfFd = (uint)_skMsg, AttachType = BpfCalls.BPF_SK_MSG_VERDICT };
        if (BpfCalls.Bpf(BpfCalls.BPF_PROG_ATTACH, ref verdict) != 0)
        {
            throw Errno.Exception($"bpf(BPF_PROG_ATTACH, {SkMsgName} to its SOCKHASH)", "The kernel refused the sk_msg verdict; TCP friends needs CONFIG_NET_SOCK_MSG.");
        }

        int directory = BpfCalls.Open(Cgroup, BpfCalls.O_DIRECTORY_CLOEXEC);
        if (directory < 0)
        {
            throw Errno.Exception($"open({Cgroup})", "Name an existing cgroup v2 directory.");
        }

        try
        {
            var link = new BpfCalls.LinkCreateAttr { ProgFd = (uint)_sockOps, TargetFd = (uint)directory, AttachType = BpfCalls.BPF_CGROUP_SOCK_OPS };
            _link = BpfCalls.Bpf(BpfCalls.BPF_LINK_CREATE, ref link);
            if (_link < 0)
            {
                throw Errno.Exception($"bpf(BPF_LINK_CREATE, {SockOpsName} on cgroup {Cgroup})", "Is it a cgroup v2 directory? Attaching needs CAP_NET_ADMIN.");
            }
        }
        finally
        {
            FileCalls.Close(directory);
        }
    }

    private static int CreateMap(uint type, uint keySize, uint valueSize, uint entries, string name, string? unsupported)
    {
        var attr = new BpfCalls.MapCreateAttr { MapType = type, KeySize = keySize, ValueSize = valueSize, MaxEntries = entries };
        Encoding.ASCII.GetBytes(name, new Span<byte>(attr.Name, 15));
        int fd = BpfCalls.Bpf(BpfCalls.BPF_MAP_CREATE, ref attr);
        if (fd < 0)
        {
            int errno = Errno.Last;
            throw new NativeCallException($"bpf(BPF_MAP_CREATE, {name})", errno, errno switch
            {
                Errno.EPERM => "TCP friends needs root, or CAP_BPF and CAP_NET_ADMIN.",
                Errno.ENOSYS => "This kernel has no bpf(2).",
                Errno.EINVAL when unsupported is not null => unsupported + ".",
                _ => null,
            });
        }

        return fd;
    }

    private static int Load(uint type, uint expectedAttach, EbpfInstruction[] program, string name)
    {
        int fd = LoadOnce(type, expectedAttach, program, name, null);
        if (fd >= 0)
        {
            return fd;
        }

        int errno = Errno.Last;
        if (errno == Errno.EPERM)
        {
            throw new NativeCallException($"bpf(BPF_PROG_LOAD, {name})", errno, "TCP friends needs root, or CAP_BPF and CAP_NET_ADMIN.");
        }

        // Load again with the verifier's log, whose last line says what it rejected.
        var log = new byte[64 * 1024];
        LoadOnce(type, expectedAttach, program, name, log);
        string text = Encoding.ASCII.GetString(log, 0, Math.Max(0, Array.IndexOf(log, (byte)0))).Trim();
        string last = text.Length == 0 ? "no verifier log" : text[(text.LastIndexOf('\n', Math.Max(0, text.Length - 2)) + 1)..];
        throw new NativeCallException($"bpf(BPF_PROG_LOAD, {name})", errno, $"The verifier said: {last.ReplaceLineEndings(" ")}");
    }

    private static int LoadOnce(uint type, uint expectedAttach, EbpfInstruction[] program, string name, byte[]? log)
    {
        byte* license = stackalloc byte[] { (byte)'G', (byte)'P', (byte)'L', 0 }; // the redirect helpers are GPL-only
        fixed (EbpfInstruction* code = program)
        fixed (byte* logBuffer = log)
        {
            var attr = new BpfCalls.ProgLoadAttr
            {
                ProgType = type,
                InstructionCount = (uint)program.Length,
                Instructions = (ulong)code,
                License = (ulong)license,
                ExpectedAttachType = expectedAttach,
                LogLevel = log is null ? 0u : 1u,
                LogSize = log is null ? 0u : (uint)log.Length,
                LogBuffer = (ulong)logBuffer,
            };
            Encoding.ASCII.GetBytes(name, new Span<byte>(attr.Name, 15));
            return BpfCalls.Bpf(BpfCalls.BPF_PROG_LOAD, ref attr);
        }
    }

    /// <summary>Per-CPU map values come as one slot per possible CPU (/sys/devices/system/cpu/possible, e.g. "0-3").</summary>
    private static int PossibleCpus()
    {
        string text = File.ReadAllText("/sys/devices/system/cpu/possible").Trim();
        int last = 0;
        foreach (var part in text.Split(',', '-'))
        {
            last = Math.Max(last, int.Parse(part, CultureInfo.InvariantCulture));
        }

        return last + 1;
    }
}
