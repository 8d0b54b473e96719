using System.Collections.Concurrent;
using Fastsock.Transport.Tls;

namespace Fastsock.Samples.Proxy.Tls;

/// <summary>
/// The TLS counters of each frontend by name. A reload builds a new TLS layer for a frontend; it counts into the same
/// <see cref="TlsStats"/>, so the admin endpoint's figures run on across reloads like the frontend's other counters.
/// </summary>
internal sealed class FrontendTlsStats
{
    private readonly ConcurrentDictionary<string, TlsStats> _byFrontend = new(StringComparer.Ordinal);

    /// <summary>The counters of <paramref name="frontend"/>, made on first use (when its layer is built, not per connection).</summary>
    public TlsStats For(string frontend) => _byFrontend.GetOrAdd(frontend, static _ => new TlsStats());

    /// <summary>Frontends that have had a TLS layer, by name.</summary>
    public IReadOnlyList<(string Frontend, TlsStats Stats)> All()
    {
        var all = new List<(string, TlsStats)>();
        foreach (var (name, stats) in _byFrontend)
        {
            all.Add((name, stats));
        }

        all.Sort((a, b) => string.CompareOrdinal(a.Item1, b.Item1));
        return all;
    }
}
