#!/usr/bin/env bash
# TCP proxying cost: fastsock-proxy (copy, splice) beside HAProxy (mode tcp, with and without splice-auto),
# all pinned to the same CPU, in front of one nginx; and the local fast path: inproc vs unix vs loopback TCP.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib-proxy.sh"

DURATION=10
CONNECTIONS=8
RUNS=1
usage() {
    cat <<USAGE
Usage: perf/bench-proxy-tcp.sh [--duration S] [--connections N] [--runs N] [--server-cpu N] [--client-cpu N]

Scenario 1, downloads: wrk (-t1, pinned to --client-cpu) fetches a 1 MiB file through each proxy pinned to
--server-cpu (one worker / one thread); nginx serves the file from --client-cpu. Reports GB/s and the proxy's
CPU seconds per GB moved (utime+stime of the proxy process / bytes wrk read).
Scenario 2, local fast path: GET /plaintext keep-alive through fastsock-proxy (tcp mode) to the same app
reached three ways: inproc:hello (in the proxy process), unix:/… (nginx on a unix socket), 127.0.0.1 (nginx on
TCP). Reports requests/s and CPU µs per request of proxy + backend together (the inproc app runs inside the
proxy, so only the sum is comparable).
Servers alternate for --runs N; medians are printed.
USAGE
}
parse_proxy_bench_options "$@"
prepare_proxy_bench
proxy_env "$WORK_DIR/proxy-tcp" 18600 18601
start_backend
NGINX_PID=$BACKEND_PID

declare -A RESULT1 RESULT2
printf '# bench-proxy-tcp: proxy on CPU %s, wrk + nginx on CPU %s, %ss x %s run(s), %s\n' "$SERVER_CPU" "$CLIENT_CPU" "$DURATION" "$RUNS" "$(date -u +%FT%TZ)"
for ((run = 1; run <= RUNS; run++)); do
    for name in fastsock-copy fastsock-splice haproxy haproxy-splice; do
        start_proxy "$name"
        run_waited taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d2s "http://127.0.0.1:$PROXY_PORT/1m" >/dev/null 2>&1
        t0=$(cpu_ticks "$PROXY_PID")
        run_waited taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" "http://127.0.0.1:$PROXY_PORT/1m" >"$PROXY_WORK/$name-$run.txt" 2>&1
        t1=$(cpu_ticks "$PROXY_PID")
        gb=$(gb_read "$PROXY_WORK/$name-$run.txt")
        line=$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v gb="$gb" -v d="$DURATION" 'BEGIN { printf "%.3f %.3f", gb / d, (t / hz) / gb }')
        RESULT1[$name]+="$line;"
        printf '%-16s run %d: %s GB/s, %s CPU s/GB\n' "$name" "$run" ${line}
        stop_pid "$PROXY_PID"
    done
    for name in inproc unix tcp; do
        start_proxy "$name"
        run_waited taskset -c "$CLIENT_CPU" wrk -t1 -c32 -d2s "http://127.0.0.1:$PROXY_PORT/plaintext" >/dev/null 2>&1
        t0=$(( $(cpu_ticks "$PROXY_PID") + $(cpu_ticks "$NGINX_PID") ))
        run_waited taskset -c "$CLIENT_CPU" wrk -t1 -c32 -d"${DURATION}s" "http://127.0.0.1:$PROXY_PORT/plaintext" >"$PROXY_WORK/$name-$run.txt" 2>&1
        t1=$(( $(cpu_ticks "$PROXY_PID") + $(cpu_ticks "$NGINX_PID") ))
        req=$(wrk_requests "$PROXY_WORK/$name-$run.txt")
        line=$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v r="$req" -v d="$DURATION" 'BEGIN { printf "%.0f %.2f", r / d, (t / hz) * 1e6 / r }')
        RESULT2[$name]+="$line;"
        printf '%-16s run %d: %s requests/s, %s CPU µs/request (proxy + backend)\n' "$name" "$run" ${line}
        stop_pid "$PROXY_PID"
    done
done

med() { tr ';' '\n' <<<"$1" | awk -v f="$2" 'NF { print $f }' | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
printf '\n## TCP proxy, 1 MiB downloads (median of %s)\n\n| proxy | GB/s | proxy CPU s/GB |\n|---|---:|---:|\n' "$RUNS"
for name in fastsock-copy fastsock-splice haproxy haproxy-splice; do
    printf '| %s | %s | %s |\n' "$name" "$(med "${RESULT1[$name]}" 1)" "$(med "${RESULT1[$name]}" 2)"
done
printf '\n## Local fast path, GET /plaintext keep-alive through fastsock-proxy (median of %s)\n\n| backend | requests/s | CPU µs/request (proxy + backend) |\n|---|---:|---:|\n' "$RUNS"
for name in inproc unix tcp; do
    printf '| %s | %s | %s |\n' "$name" "$(med "${RESULT2[$name]}" 1)" "$(med "${RESULT2[$name]}" 2)"
done
