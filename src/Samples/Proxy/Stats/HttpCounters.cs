using System.Runtime.CompilerServices;

namespace Fastsock.Samples.Proxy.Stats;

/// <summary>What an http frontend counts beside its sessions (HAProxy's req_tot, hrsp_1xx…5xx, and so on).</summary>
internal enum HttpCounter
{
    Requests,
    Responses1xx,
    Responses2xx,
    Responses3xx,
    Responses4xx,
    Responses5xx,
    ResponsesOther,
    ProxyErrors400,
    ProxyErrors408,
    ProxyErrors431,
    ProxyErrors501,
    ProxyErrors502,
    ProxyErrors503,
    ProxyErrors504,
    ClientAborts,
    ProxyHeaderErrors,
    Upgrades,
}

/// <summary>
/// One row of http counters, indexed by <see cref="HttpCounter"/>: 17 longs. Written by one worker
/// with plain increments, like <see cref="SessionCounters"/>.
/// </summary>
[InlineArray(Count)]
internal struct HttpCounters
{
    public const int Count = 17;

    private long _first;

    /// <summary>A response head went to the client with <paramref name="status"/>: counts it in its class.</summary>
    public void Response(int status) => this[(int)ClassOf(status)]++;

    /// <summary>The proxy answered <paramref name="status"/> itself; a status without its own counter counts only as a response.</summary>
    public void ProxyError(int status)
    {
        Response(status);
        var counter = status switch
        {
            400 or 405 or 414 or 505 => HttpCounter.ProxyErrors400, // request errors, HAProxy's "invalid request" family
            408 => HttpCounter.ProxyErrors408,
            431 => HttpCounter.ProxyErrors431,
            501 => HttpCounter.ProxyErrors501,
            502 => HttpCounter.ProxyErrors502,
            503 => HttpCounter.ProxyErrors503,
            504 => HttpCounter.ProxyErrors504,
            _ => (HttpCounter)(-1),
        };
        if (counter >= 0)
        {
            this[(int)counter]++;
        }
    }

    private static HttpCounter ClassOf(int status) => status switch
    {
        >= 100 and < 200 => HttpCounter.Responses1xx,
        >= 200 and < 300 => HttpCounter.Responses2xx,
        >= 300 and < 400 => HttpCounter.Responses3xx,
        >= 400 and < 500 => HttpCounter.Responses4xx,
        >= 500 and < 600 => HttpCounter.Responses5xx,
        _ => HttpCounter.ResponsesOther,
    };
}

/// <summary>A read copy of <see cref="HttpCounters"/> rows, summed.</summary>
internal readonly struct HttpTotals : IEquatable<HttpTotals>
{
    private readonly HttpCounters _values;

    private HttpTotals(in HttpCounters values) => _values = values;

    public long this[HttpCounter counter] => _values[(int)counter];

    public static HttpTotals Read(ref HttpCounters row)
    {
        var copy = default(HttpCounters);
        for (int i = 0; i < HttpCounters.Count; i++)
        {
            copy[i] = Volatile.Read(ref row[i]);
        }

        return new HttpTotals(copy);
    }

    public static HttpTotals operator +(HttpTotals a, HttpTotals b) => Add(a, b);

    public static bool operator ==(HttpTotals a, HttpTotals b) => a.Equals(b);

    public static bool operator !=(HttpTotals a, HttpTotals b) => !a.Equals(b);

    public static HttpTotals Add(HttpTotals a, HttpTotals b)
    {
        var sum = default(HttpCounters);
        for (int i = 0; i < HttpCounters.Count; i++)
        {
            sum[i] = a._values[i] + b._values[i];
        }

        return new HttpTotals(sum);
    }

    public bool Equals(HttpTotals other)
    {
        for (int i = 0; i < HttpCounters.Count; i++)
        {
            if (_values[i] != other._values[i])
            {
                return false;
            }
        }

        return true;
    }

    public override bool Equals(object? obj) => obj is HttpTotals other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(_values[0], _values[2], _values[5]);
}
