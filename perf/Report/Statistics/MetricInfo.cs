namespace Fastsock.Perf.Report.Statistics;

/// <summary>Which way a metric is better.</summary>
internal enum Better
{
    /// <summary>No better direction (counts like requests, or a metric this tool does not know).</summary>
    Neither,
    Higher,
    Lower,
}

/// <summary>How a metric id from results.tsv is named, in which unit, and which way is better.</summary>
internal sealed record MetricInfo(string Id, string Label, Better Better)
{
    private static readonly Dictionary<string, MetricInfo> Known = new(StringComparer.Ordinal)
    {
        ["rps"] = new("rps", "requests/s", Better.Higher),
        ["gbps"] = new("gbps", "GB/s", Better.Higher),
        ["p50_us"] = new("p50_us", "p50 latency µs", Better.Lower),
        ["p99_us"] = new("p99_us", "p99 latency µs", Better.Lower),
        ["cpu_us_per_req"] = new("cpu_us_per_req", "server CPU µs/request", Better.Lower),
        ["cpu_user_us_per_req"] = new("cpu_user_us_per_req", "server CPU user µs/request", Better.Lower),
        ["cpu_sys_us_per_req"] = new("cpu_sys_us_per_req", "server CPU system µs/request", Better.Lower),
        ["rss_mib"] = new("rss_mib", "VmRSS MiB at the end of the run", Better.Lower),
        ["backend_conns_per_1k"] = new("backend_conns_per_1k", "backend connections opened per 1,000 requests", Better.Lower),
        ["first_2s_rps"] = new("first_2s_rps", "requests/s in the first 2 s after start", Better.Higher),
        ["cpu_s_per_gb"] = new("cpu_s_per_gb", "CPU s/GB", Better.Lower),
        ["errors"] = new("errors", "errors", Better.Lower),
        ["rss_kib_per_conn"] = new("rss_kib_per_conn", "RSS KiB/connection", Better.Lower),
        ["syscalls_per_req"] = new("syscalls_per_req", "syscalls/request", Better.Lower),
        ["epoll_ctl_per_req"] = new("epoll_ctl_per_req", "epoll_ctl/request", Better.Lower),
        ["lock_contentions"] = new("lock_contentions", "lock contentions", Better.Lower),
        ["requests"] = new("requests", "requests completed", Better.Neither),
        ["handshakes_per_s"] = new("handshakes_per_s", "TLS handshakes/s", Better.Higher),
        ["cpu_us_per_handshake"] = new("cpu_us_per_handshake", "server CPU µs/handshake", Better.Lower),
        ["cpu_user_us_per_handshake"] = new("cpu_user_us_per_handshake", "server CPU user µs/handshake", Better.Lower),
        ["cpu_sys_us_per_handshake"] = new("cpu_sys_us_per_handshake", "server CPU system µs/handshake", Better.Lower),
        ["handshakes"] = new("handshakes", "handshakes completed", Better.Neither),
        ["friends_cpu_us_per_req"] = new("friends_cpu_us_per_req", "server + client CPUs busy µs/request (all processes and kernel)", Better.Lower),
        ["busy_pct"] = new("busy_pct", "server CPU busy, % of one CPU (at the quota when the server is the bound)", Better.Neither),
        ["throttled_periods"] = new("throttled_periods", "10 ms periods the CPU quota stopped the server in", Better.Neither),
        ["resumed_handshakes"] = new("resumed_handshakes", "resumed handshakes (fastsock-proxy's own count)", Better.Neither),
    };

    /// <summary>Unknown metrics are reported under their id, with no better direction.</summary>
    public static MetricInfo For(string id) => Known.TryGetValue(id, out var info) ? info : new MetricInfo(id, id, Better.Neither);

    public string BetterText => Better switch
    {
        Better.Higher => "higher is better",
        Better.Lower => "lower is better",
        _ => "no better direction",
    };
}
