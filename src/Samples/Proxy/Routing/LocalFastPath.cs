using System.Net.Sockets;

namespace Fastsock.Samples.Proxy.Routing;

/// <summary>
/// A server's <c>localFastPath</c> socket file, and whether it is there. Asking the file system costs a syscall, so
/// the answer is kept and asked again at most once per <see cref="RecheckInterval"/>: a backend that starts or stops
/// listening on it is noticed within that interval, and opening a backend connection never stats a file.
/// </summary>
/// <remarks>
/// Shared by the workers: the answer is a flag and a deadline that change about once a second, each written whole, so
/// a race only means two workers ask the file system at the same time.
/// </remarks>
internal sealed class LocalFastPath(string path)
{
    public static readonly TimeSpan RecheckInterval = TimeSpan.FromSeconds(1);

    private volatile bool _exists;
    private long _recheckAtMs = long.MinValue;

    public string Path { get; } = path;

    /// <summary>Made once: the connector only reads it.</summary>
    public UnixDomainSocketEndPoint EndPoint { get; } = new(path);

    /// <summary>True when the socket file existed at the last look (taken now if the last is older than the interval).</summary>
    public bool IsWorthTrying(long nowMs)
    {
        if (nowMs >= Volatile.Read(ref _recheckAtMs))
        {
            _exists = File.Exists(Path);
            Volatile.Write(ref _recheckAtMs, nowMs + (long)RecheckInterval.TotalMilliseconds);
        }

        return _exists;
    }

    /// <summary>The socket file is left over from a stopped backend: go by TCP until the next look.</summary>
    public void Refused(long nowMs)
    {
        _exists = false;
        Volatile.Write(ref _recheckAtMs, nowMs + (long)RecheckInterval.TotalMilliseconds);
    }
}
