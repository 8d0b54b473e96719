using Fastsock.Transport;
using Fastsock.Transport.Friends;

namespace Fastsock.Hosting;

public sealed partial class FastsockServer
{
    private TcpFriends? _friends;

    /// <summary>Tests: the attached programs and maps, null when off.</summary>
    internal TcpFriends? Friends => _friends;

    /// <summary>The cgroup v2 directory TCP friends is attached to, or null when it is off (not asked for, or not possible here).</summary>
    public string? TcpFriendsCgroup => _friends?.Cgroup;

    /// <summary>TCP friends counters per worker (of the worker's CPU); empty when TCP friends is off.</summary>
    public IReadOnlyList<TcpFriendsStats> GetTcpFriendsStats()
    {
        var friends = _friends;
        var workers = _workers;
        if (friends is null)
        {
            return [];
        }

        var joined = friends.ReadCounter(FriendsPrograms.CounterFriends);
        var bytes = friends.ReadCounter(FriendsPrograms.CounterBytesRedirected);
        var messages = friends.ReadCounter(FriendsPrograms.CounterMessagesRedirected);
        var stats = new TcpFriendsStats[workers.Length];
        for (int i = 0; i < workers.Length; i++)
        {
            int cpu = workers[i].Cpu;
            bool known = cpu < joined.Length;
            stats[i] = new TcpFriendsStats(workers[i].Index, cpu, known ? (long)joined[cpu] : 0, known ? (long)bytes[cpu] : 0, known ? (long)messages[cpu] : 0);
        }

        return stats;
    }

    private void StartTcpFriends()
    {
        if (_options.TcpFriends.Enabled)
        {
            _friends = TcpFriends.TryStart(_options.TcpFriends.Cgroup, _loggerFactory.CreateLogger("Fastsock.Transport.TcpFriends"));
        }
    }

    /// <summary>After the workers stopped: detaches and frees the programs and maps.</summary>
    private void StopTcpFriends() => Interlocked.Exchange(ref _friends, null)?.Dispose();
}
