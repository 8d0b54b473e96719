#!/usr/bin/env bash
# perf/alternate.sh: proxies measured side by side while all of them run, in many short runs that take turns, so that
# the machine's drift (other tenants, frequency, noisy neighbours) falls on every proxy alike. perf/run restarts each
# server per round and runs three rounds; on this shared host its spread between rounds was larger than the margins
# the targets ask about (HAProxy alone 54-66 k req/s across rounds), so a ratio near a target could not be settled.
# Here each round measures every proxy once, in an order that rotates, and the ratio is taken within the round.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$PERF_DIR/lib-proxy.sh"
source "$PERF_DIR/scenario-tls.sh" # start_tls_proxy and the certificates (nothing there runs when sourced)

MEASURE=http
CLIENTS=""
ROUNDS=10
DURATION=5
WARMUP=12
KIND=ecdsa
BACKEND=nginx
LIST=""
QUOTA=""
OUT=""
usage() {
    cat <<USAGE
Usage: perf/alternate.sh [--measure http|tls-keepalive|tls-new|tls-reuse] [--clients N] [--servers LIST] [--rounds R]
                         [--duration S] [--warmup S] [--kind ecdsa|rsa] [--backend nginx|floor] [--server-cpu N] [--client-cpu N]
                         [--server-quota PERCENT] [--output DIR]

Starts one nginx backend (pinned to --client-cpu; --backend floor: perf/floors/epoll_floor.c instead, the cheapest
backend there is, which leaves more of the client CPU to wrk so that the proxies become the bound sooner) and every proxy in --servers at once, each pinned to --server-cpu
(one worker / thread) on its own port; warms each up for --warmup s (12) under the measured load; then runs --rounds
rounds (10): in each round every proxy is measured once for --duration s (5), in an order that rotates from round to
round. Only the proxy being measured has load; the others sit idle.
  http           keep-alive GET /plaintext, wrk -t1 -c--clients (64); servers (default fastsock-proxy,haproxy-http):
                 fastsock-proxy, fastsock-proxy-aot, fastsock-proxy-pgo, fastsock-proxy-alt and -alt2 (other
                 builds: ALT_PROXY_DLL / ALT2_PROXY_DLL=path/to/fastsock-proxy.dll), haproxy-http, nginx-proxy, proxy-floor
  tls-keepalive  the same over HTTPS (TLS 1.3, --kind certificate); servers (default fastsock-proxy,haproxy):
                 fastsock-proxy, fastsock-proxy-aot (Native AOT), fastsock-proxy-alt (ALT_PROXY_DLL),
                 fastsock-proxy-sslstream (its SslStream engine), haproxy, nginx
  tls-new        full handshakes: openssl s_time -new -www /plaintext, one connection at a time per s_time;
                 --clients N (default 1) runs N s_time processes at once and counts the connections they complete
                 in the measured window, which opens 1 s after they start (with 1 the rate is the inverse of one
                 connection's latency, client included; with several the server's CPU becomes the bound)
  tls-reuse      resumed handshakes: openssl s_time -reuse -www /plaintext (--clients as for tls-new)
--server-quota PERCENT caps every proxy at PERCENT % of its CPU (a CFS bandwidth cgroup per proxy, 10 ms periods;
root). For full ECDSA handshakes the client pays more CPU than the server, so on a 2-CPU machine no number of clients
keeps the server's core busy and the rate measures the client; under a quota the server is the bound again (the
"busy" column shows it at the quota) and the rate compares what each proxy does with the same CPU.
Proxies are measured in turn, never loaded at once on one CPU: this kernel charges interrupt and softirq work (the
wakeups of one proxy, the packets it sends) to whichever process happens to run, so two loaded side by side pay for
each other.
Per run: the rate (req/s or handshakes/s), p99 (wrk), the proxy's user and system CPU µs per request or handshake and its CPU busy %,
(/proc/PID/stat), VmRSS and its private part (RssAnon + RssShmem). Prints per proxy the median and range, and for every proxy after the first the ratio to
the first one per round (median, range, rounds ahead). Writes runs.tsv and summary.txt into --output
(perf/.work/alternate-MEASURE-cN-TIME).
USAGE
}
while (($#)); do
    case "$1" in
        --measure) MEASURE="${2:?}"; shift 2 ;;
        --clients) CLIENTS="${2:?}"; shift 2 ;;
        --servers) LIST="${2:?}"; shift 2 ;;
        --rounds) ROUNDS="${2:?}"; shift 2 ;;
        --duration) DURATION="${2:?}"; shift 2 ;;
        --warmup) WARMUP="${2:?}"; shift 2 ;;
        --kind) KIND="${2:?}"; shift 2 ;;
        --backend) BACKEND="${2:?}"; shift 2 ;;
        --server-cpu) SERVER_CPU="${2:?}"; shift 2 ;;
        --client-cpu) CLIENT_CPU="${2:?}"; shift 2 ;;
        --server-quota) QUOTA="${2:?}"; shift 2 ;;
        --output) OUT="${2:?}"; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
done
case "$MEASURE" in
    http) LIST="${LIST:-fastsock-proxy,haproxy-http}" CLIENTS="${CLIENTS:-64}" ;;
    tls-keepalive) LIST="${LIST:-fastsock-proxy,haproxy}" CLIENTS="${CLIENTS:-64}" ;;
    tls-new | tls-reuse) LIST="${LIST:-fastsock-proxy,haproxy}" CLIENTS="${CLIENTS:-1}" ;;
    *) die "--measure takes http, tls-keepalive, tls-new or tls-reuse, not '$MEASURE'" ;;
esac
[[ "$KIND" == ecdsa || "$KIND" == rsa ]] || die "--kind takes ecdsa or rsa, not '$KIND'"
[[ "$BACKEND" == nginx || "$BACKEND" == floor ]] || die "--backend takes nginx or floor, not '$BACKEND'"
for n in "$CLIENTS" "$ROUNDS" "$DURATION" "$WARMUP"; do
    [[ "$n" =~ ^[0-9]+$ && "$n" -gt 0 ]] || die "--clients, --rounds, --duration and --warmup take a whole number > 0, not '$n'"
done
check_cpus
IFS=, read -r -a SERVERS_LIST <<<"$LIST"
((${#SERVERS_LIST[@]} >= 1)) || die "--servers is empty"

require_cmd wrk wrk
require_cmd nginx nginx-light
require_cmd haproxy haproxy
require_cmd openssl openssl
raise_nofile 20000 >/dev/null
build_proxy
OUT="${OUT:-$WORK_DIR/alternate-$MEASURE-c$CLIENTS${QUOTA:+-q$QUOTA}-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$OUT"
proxy_env "$OUT/work" $((PORT_BASE + 50)) $((PORT_BASE + 51))
if [[ "$BACKEND" == floor ]]; then start_floor_backend; else start_backend; fi

# Every proxy on its own port (PORT_BASE+51...), started once and kept for all rounds.
declare -A PID_OF PORT_OF
i=0
for s in "${SERVERS_LIST[@]}"; do
    port=$((PORT_BASE + 51 + 2 * i))
    if [[ "$MEASURE" == http ]]; then
        PROXY_PORT="$port"
        start_proxy "$s"
    else
        [[ -f "$PROXY_WORK/ecdsa.key" ]] || tls_certificates "$PROXY_WORK"
        TLS_PORT="$port" TLS_ADMIN_PORT=$((port + 1))
        start_tls_proxy "$s" "$KIND"
    fi
    PID_OF[$s]="$PROXY_PID" PORT_OF[$s]="$port"
    [[ -z "$QUOTA" ]] || cap_cpu "$PROXY_PID" "$s" "$QUOTA"
    log "$s: pid $PROXY_PID, port $port ($PROXY_CMD)${QUOTA:+, capped at $QUOTA % of CPU $SERVER_CPU}"
    i=$((i + 1))
done

# load SERVER SECONDS OUTFILE: the measured load against one proxy, on the client CPU.
load() {
    local s="$1" secs="$2" out="$3" port="${PORT_OF[$1]}"
    case "$MEASURE" in
        http) run_waited taskset -c "$CLIENT_CPU" wrk -t1 -c"$CLIENTS" -d"${secs}s" --timeout 5s --latency \
            "http://127.0.0.1:$port/plaintext" >"$out" 2>&1 ;;
        tls-keepalive) run_waited taskset -c "$CLIENT_CPU" wrk -t1 -c"$CLIENTS" -d"${secs}s" --timeout 5s --latency \
            "https://127.0.0.1:$port/plaintext" >"$out" 2>&1 ;;
        tls-new | tls-reuse)
            tls_s_time_start "$port" "-${MEASURE#tls-}" "$CLIENTS" "$secs" "$out"
            sleep "$secs"
            tls_s_time_stop "$out" || true ;;
    esac || { tail -5 "$out" >&2; die "$s: the load failed ($out)"; }
}

# private_kib PID: RssAnon + RssShmem (the JIT's double-mapped code is shared memory): what the process holds of its
# own, without the file-backed pages of the libraries and assemblies it maps (shared with other processes, reclaimable).
private_kib() { awk '/^(RssAnon|RssShmem):/ { k += $2 } END { print k + 0 }' "/proc/$1/status"; }


for s in "${SERVERS_LIST[@]}"; do
    log "warming up $s for ${WARMUP}s"
    load "$s" "$WARMUP" "$OUT/warmup-$s.txt"
done

printf 'round\tserver\tunits\tseconds\trate\tp99_us\tuser_us\tsys_us\trss_kib\terrors\tprivate_kib\tbusy_pct\tthrottled\n' >"$OUT/runs.tsv"
# record ROUND SERVER OUTFILE T0 T1 U0 S0 Q0 U1 S1 Q1 [UNITS RESUMED]: the line of runs.tsv for a server's load measured
# from T0 to T1 (its CPU ticks U0/S0 and throttled periods Q0 taken at T0, U1/S1/Q1 at T1); UNITS and RESUMED are the
# connections s_time completed in the window and how many resumed (wrk's requests are read from OUTFILE).
record() {
    local r="$1" s="$2" out="$3" t0="$4" t1="$5" u0="$6" s0="$7" q0="$8" u1="$9" s1="${10}" q1="${11}" units="${12:-}"
    local pid="${PID_OF[$2]}" p99="-" errors=0
    if [[ "$MEASURE" == http || "$MEASURE" == tls-keepalive ]]; then
        units="$(wrk_requests "$out")" p99="$(wrk_latency_us "$out" 99)" errors="$(wrk_errors "$out")"
    elif [[ "$MEASURE" == tls-reuse ]]; then
        errors=$((units - ${13}))
    fi
    [[ "$units" =~ ^[0-9]+$ && "$units" -gt 0 ]] || { tail -5 "$out" >&2; die "$s: nothing measured in round $r ($out)"; }
    awk -v r="$r" -v s="$s" -v n="$units" -v t0="$t0" -v t1="$t1" -v u="$((u1 - u0))" -v y="$((s1 - s0))" \
        -v p="$p99" -v m="$(rss_kib "$pid")" -v e="$errors" -v hz="$CLK_TCK" -v pm="$(private_kib "$pid")" \
        -v q="$((q1 - q0))" 'BEGIN {
        secs = t1 - t0; printf "%d\t%s\t%d\t%.2f\t%.1f\t%s\t%.2f\t%.2f\t%d\t%d\t%d\t%.1f\t%d\n", r, s, n, secs, n / secs, p,
            u * 1e6 / hz / n, y * 1e6 / hz / n, m, e, pm, (u + y) * 100 / hz / secs, q }' >>"$OUT/runs.tsv"
    tail -1 "$OUT/runs.tsv" | awk -F'\t' '{ printf "round %d %-20s %10.1f/s  p99 %s us  cpu %.2f+%.2f us  busy %.0f %%  rss %d KiB  errors %d\n", $1, $2, $5, $6, $7, $8, $12, $9, $10 }' >&2
}

n=${#SERVERS_LIST[@]}
HANDSHAKES=0 # s_time measures: counted in a window inside continuous load, not from a run's output
[[ "$MEASURE" == tls-new || "$MEASURE" == tls-reuse ]] && HANDSHAKES=1
for ((r = 1; r <= ROUNDS; r++)); do
    for ((k = 0; k < n; k++)); do
        s="${SERVERS_LIST[$(((r - 1 + k) % n))]}"
        pid="${PID_OF[$s]}" out="$OUT/r$r-$s.txt"
        kill -0 "$pid" 2>/dev/null || die "$s (pid $pid) is gone: see $PROXY_WORK/$s*.out"
        if ((HANDSHAKES)); then
            # A window inside continuous load, counted from s_time's progress characters: the processes' own totals
            # over the wall time around them would take in their start-up and their last (throttled) connections.
            tls_s_time_start "${PORT_OF[$s]}" "-${MEASURE#tls-}" "$CLIENTS" $((1 + DURATION + 5)) "$out"
            sleep 1
            read -r n0 c0 < <(tls_s_time_progress)
        fi
        read -r u0 s0 < <(cpu_user_sys "$pid")
        q0="$(throttled_periods "$pid")"
        t0="$(date +%s.%N)"
        if ((HANDSHAKES)); then sleep "$DURATION"; else load "$s" "$DURATION" "$out"; fi
        t1="$(date +%s.%N)"
        read -r u1 s1 < <(cpu_user_sys "$pid")
        q1="$(throttled_periods "$pid")"
        if ((HANDSHAKES)); then
            read -r n1 c1 < <(tls_s_time_progress)
            tls_s_time_stop "$out" || die "$s: an openssl s_time ended before the measured window did ($out)"
            record "$r" "$s" "$out" "$t0" "$t1" "$u0" "$s0" "$q0" "$u1" "$s1" "$q1" $((n1 - n0)) $((c1 - c0))
        else
            record "$r" "$s" "$out" "$t0" "$t1" "$u0" "$s0" "$q0" "$u1" "$s1" "$q1"
        fi
    done
done

# Per proxy: medians and ranges; per round: each proxy's rate over the first proxy's.
awk -F'\t' -v first="${SERVERS_LIST[0]}" -v measure="$MEASURE" -v clients="$CLIENTS" -v rounds="$ROUNDS" -v dur="$DURATION" -v backend="$BACKEND" -v quota="$QUOTA" '
function med(a, n,   i, j, t) { for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
function lo(a, n,   i, m) { m = a[1]; for (i = 2; i <= n; i++) if (a[i] < m) m = a[i]; return m }
function hi(a, n,   i, m) { m = a[1]; for (i = 2; i <= n; i++) if (a[i] > m) m = a[i]; return m }
NR == 1 { next }
{ s = $2; k = ++cnt[s]; if (!(s in seen)) { seen[s] = 1; order[++ns] = s }
  rate[s, k] = $5; p99[s, k] = $6; user[s, k] = $7; sys[s, k] = $8; rss[s, k] = $9; err[s] += $10; priv[s, k] = $11; busy[s, k] = $12; byround[$1, s] = $5 }
END {
  printf "%s, %s clients, %s backend, %d rounds of %d s, %s%s\n\n", measure, clients, backend, rounds, dur,
    "servers measured in turn while all run",
    (quota == "" ? "" : ", each capped at " quota " % of its CPU")
  printf "%-20s %12s %22s %10s %12s %12s %7s %10s %12s %7s\n", "server", "median rate", "range", "p99 ms", "user us", "sys us", "busy %", "RSS MiB", "private MiB", "errors"
  for (i = 1; i <= ns; i++) { s = order[i]; n = cnt[s]
    for (k = 1; k <= n; k++) { a[k] = rate[s, k] } m = med(a, n); l = lo(a, n); h = hi(a, n)
    for (k = 1; k <= n; k++) { a[k] = p99[s, k] } p = (p99[s, 1] == "-") ? "-" : sprintf("%.2f", med(a, n) / 1000)
    for (k = 1; k <= n; k++) { a[k] = user[s, k] } uu = med(a, n)
    for (k = 1; k <= n; k++) { a[k] = sys[s, k] } ss = med(a, n)
    for (k = 1; k <= n; k++) { a[k] = rss[s, k] } rr = med(a, n) / 1024
    for (k = 1; k <= n; k++) { a[k] = priv[s, k] } pr = med(a, n) / 1024
    for (k = 1; k <= n; k++) { a[k] = busy[s, k] } bb = med(a, n)
    printf "%-20s %12.1f %10.1f-%-11.1f %10s %12.2f %12.2f %7.0f %10.1f %12.1f %7d\n", s, m, l, h, p, uu, ss, bb, rr, pr, err[s] }
  for (i = 2; i <= ns; i++) { s = order[i]; n = 0; ahead = 0
    for (r = 1; r <= rounds; r++) if (((r, s) in byround) && ((r, first) in byround) && byround[r, s] > 0) {
      q[++n] = byround[r, first] / byround[r, s]; if (q[n] > 1) ahead++ }
    if (n) printf "\n%s / %s per round: median %.3f, range %.3f-%.3f, ahead in %d of %d rounds\n", first, s, med(q, n), lo(q, n), hi(q, n), ahead, n }
}' "$OUT/runs.tsv" | tee "$OUT/summary.txt"
log "runs: $OUT/runs.tsv"
