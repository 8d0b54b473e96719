#!/usr/bin/env bash
# HTTP proxying: fastsock-proxy (mode http) beside HAProxy (mode http) and nginx (proxy_pass), each pinned to the
# same CPU with one worker/thread, keep-alive to one nginx backend; requests/s and proxy CPU µs per request.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib-proxy.sh"

DURATION=10
CONNECTIONS=64
RUNS=1
usage() {
    cat <<USAGE
Usage: perf/bench-proxy-http.sh [--duration S] [--connections N] [--runs N] [--server-cpu N] [--client-cpu N]

GET /plaintext keep-alive through each proxy (pinned to --server-cpu), wrk -t1 and the nginx backend on
--client-cpu. Proxies: fastsock-proxy (mode http), haproxy (mode http, nbthread 1, http-reuse always), nginx
(proxy_pass to an upstream with keepalive). Prints requests/s and the proxy's CPU µs per request; servers
alternate for --runs N and medians are printed.
USAGE
}
parse_proxy_bench_options "$@"
prepare_proxy_bench
proxy_env "$WORK_DIR/proxy-http" 18700 18701
start_backend

declare -A RESULT
printf '# bench-proxy-http: proxy on CPU %s, wrk -t1 -c%s + nginx backend on CPU %s, %ss x %s run(s), %s\n' "$SERVER_CPU" "$CONNECTIONS" "$CLIENT_CPU" "$DURATION" "$RUNS" "$(date -u +%FT%TZ)"
for ((run = 1; run <= RUNS; run++)); do
    for name in fastsock haproxy nginx; do
        case "$name" in fastsock) start_proxy fastsock-proxy ;; haproxy) start_proxy haproxy-http ;; nginx) start_proxy nginx-proxy ;; esac
        run_waited taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d2s "http://127.0.0.1:$PROXY_PORT/plaintext" >/dev/null 2>&1
        t0=$(cpu_ticks "$PROXY_PID")
        run_waited taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "http://127.0.0.1:$PROXY_PORT/plaintext" >"$PROXY_WORK/$name-$run.txt" 2>&1
        t1=$(cpu_ticks "$PROXY_PID")
        req=$(wrk_requests "$PROXY_WORK/$name-$run.txt")
        errors=$(wrk_errors "$PROXY_WORK/$name-$run.txt")
        line=$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v r="$req" -v d="$DURATION" 'BEGIN { printf "%.0f %.2f", r / d, (t / hz) * 1e6 / r }')
        RESULT[$name]+="$line;"
        printf '%-9s run %d: %s requests/s, %s proxy CPU µs/request, %s errors\n' "$name" "$run" ${line} "$errors"
        stop_pid "$PROXY_PID"
    done
done
med() { tr ';' '\n' <<<"$1" | awk -v f="$2" 'NF { print $f }' | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
printf '\n## HTTP proxy, keep-alive GET /plaintext (median of %s)\n\n| proxy | requests/s | proxy CPU µs/request |\n|---|---:|---:|\n' "$RUNS"
for name in fastsock haproxy nginx; do printf '| %s | %s | %s |\n' "$name" "$(med "${RESULT[$name]}" 1)" "$(med "${RESULT[$name]}" 2)"; done
fs_rps=$(med "${RESULT[fastsock]}" 1) hp_rps=$(med "${RESULT[haproxy]}" 1)
awk -v a="$fs_rps" -v b="$hp_rps" 'BEGIN { printf "\nfastsock/haproxy requests/s: x%.2f\n", a / b }'
