using System.Buffers.Binary;
using Fastsock.Native;

namespace Fastsock.Transport.Friends;

/// <summary>
/// Gives a friend back its redirect budget from user space: when this process has read bytes from a socket, they are
/// out of that socket's redirect queue, so its peer may redirect that many more (<see cref="FriendsPrograms.SkMsg"/>
/// redirects while sent − credit ≤ budget). Without it every friend pair fell back to TCP after its first 4 MiB per
/// direction for the rest of its life, e.g. the proxy's pooled backend connections ~15 s into a benchmark.
/// <para>
/// The credit is the total this side has read (<see cref="SocketConnection"/> counts it), written under the peer's key
/// once per <see cref="Batch"/> bytes, never per read: a <c>getsockname</c>, a <c>getpeername</c> and a
/// <c>bpf(BPF_MAP_UPDATE_ELEM)</c> per MiB. It is written with BPF_EXIST: only a peer that joined the map (the sockops
/// program made its entry, and deletes it when the socket closes) is credited; for any other peer the update fails
/// with ENOENT and nothing changes. A bound is kept: what we report read was read, so the bytes queued unread stay at
/// most the budget plus one send, and a reader that stops reading stops the credit.
/// </para>
/// <para>
/// One credit map per process (the last <see cref="TcpFriends"/> attached): a second instance attached elsewhere only
/// misses credits for its own pairs, which then fade after 4 MiB as before.
/// </para>
/// </summary>
internal static unsafe class FriendCredit
{
    /// <summary>Bytes read between two credits: a power of two, so that crossing it is a shift.</summary>
    public const int BatchShift = 20;
    public const int Batch = 1 << BatchShift;

    private static int s_creditMap = -1;

    /// <summary>Called after a read of <paramref name="received"/> bytes brought the connection's total to <paramref name="total"/>.</summary>
    public static void OnReceived(int fd, long total, long received)
    {
        if (((total - received) >> BatchShift) != (total >> BatchShift))
        {
            Credit(fd, total);
        }
    }

    /// <summary>Credits the peer of <paramref name="fd"/> with <paramref name="total"/> bytes read; false when it could not (not a friend, not loopback, friends off).</summary>
    public static bool Credit(int fd, long total)
    {
        int map = Volatile.Read(ref s_creditMap);
        if (map < 0)
        {
            return false;
        }

        // sockaddr_storage is 128 bytes; ours are sockaddr_in or sockaddr_in6 (28).
        byte* local = stackalloc byte[128];
        byte* remote = stackalloc byte[128];
        int localLength = 128;
        int remoteLength = 128;
        if (SocketCalls.GetSockName(fd, local, &localLength) != 0 || SocketCalls.GetPeerName(fd, remote, &remoteLength) != 0)
        {
            return false;
        }

        // The peer's own key (FriendsPrograms): its local address and port are our remote ones.
        byte* key = stackalloc byte[FriendsPrograms.KeySize];
        if (!WriteLoopbackAddress(remote, new Span<byte>(key, 16)) || !WriteLoopbackAddress(local, new Span<byte>(key + 16, 16)))
        {
            return false;
        }

        *(uint*)(key + 32) = BinaryPrimitives.ReadUInt16BigEndian(new ReadOnlySpan<byte>(remote + 2, 2));
        *(uint*)(key + 36) = BinaryPrimitives.ReadUInt16BigEndian(new ReadOnlySpan<byte>(local + 2, 2));
        ulong value = (ulong)total;
        var attr = new BpfCalls.MapElemAttr { MapFd = (uint)map, Key = (ulong)key, Value = (ulong)&value, Flags = BpfCalls.BPF_EXIST };
        return BpfCalls.Bpf(BpfCalls.BPF_MAP_UPDATE_ELEM, ref attr) == 0;
    }

    /// <summary>From <see cref="TcpFriends"/> once attached: credits go to this map from now on.</summary>
    internal static void Use(int creditMap) => Volatile.Write(ref s_creditMap, creditMap);

    /// <summary>From <see cref="TcpFriends.Dispose"/> before it closes the map (after the workers stopped).</summary>
    internal static void Forget(int creditMap) => Interlocked.CompareExchange(ref s_creditMap, -1, creditMap);

    /// <summary>The address as the programs key it (IPv4 as IPv4-mapped IPv6); false unless it is loopback.</summary>
    private static bool WriteLoopbackAddress(byte* address, Span<byte> to)
    {
        ushort family = *(ushort*)address;
        if (family == SocketCalls.AF_INET)
        {
            to[..10].Clear();
            to[10] = 0xFF;
            to[11] = 0xFF;
            new ReadOnlySpan<byte>(address + 4, 4).CopyTo(to[12..]);
        }
        else if (family == SocketCalls.AF_INET6)
        {
            new ReadOnlySpan<byte>(address + 8, 16).CopyTo(to);
        }
        else
        {
            return false;
        }

        bool mapped = to[..10].IndexOfAnyExcept((byte)0) < 0 && to[10] == 0xFF && to[11] == 0xFF;
        bool v6Loopback = to[..15].IndexOfAnyExcept((byte)0) < 0 && to[15] == 1;
        return (mapped && to[12] == 127) || v6Loopback;
    }
}
