#!/usr/bin/env bash
# Hello benchmark: requests/s and server CPU µs per request, Hello vs Kestrel vs nginx,
# keep-alive and Connection: close, servers pinned to one CPU, wrk pinned to another.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$PERF_DIR/lib-hello-bench.sh"

DURATION=10
CONNECTIONS=64
RUNS=1
WARMUP=2
SCENARIOS="keepalive,close"

usage() {
    cat <<EOF
Usage: perf/bench-hello.sh [options]

Starts each server pinned to --server-cpu (one worker, one core), warms it up with wrk for
${WARMUP}s, then measures with wrk (-t1, pinned to --client-cpu) for each scenario:
  keepalive   plain GET /plaintext on persistent connections
  close       the same with -H 'Connection: close' (one TCP connection per request)
For each server x scenario it prints requests/s and the server's CPU time per request:
  (utime+stime from /proc/PID/stat, all threads, after - before the wrk run) / requests.
Servers alternate (A B C A B C ...) for --runs N; the summary shows the medians and the
ratios Hello/Kestrel and Hello/nginx.

Options:
  --duration SECONDS  measured wrk run length (default $DURATION)
  --connections N     wrk connections (default $CONNECTIONS)
  --runs N            rounds of A B C (default $RUNS); medians are reported
  --warmup SECONDS    warm-up wrk run per server and scenario (default $WARMUP)
  --scenarios LIST    keepalive,close (default $SCENARIOS)
$COMMON_HELP
EOF
}

while (($#)); do
    parse_hello_bench_option "$@"
    if ((SHIFT_BY)); then shift "$SHIFT_BY"; continue; fi
    case "$1" in
        --runs) RUNS="${2:?}"; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
done
check_hello_bench_options
[[ "$RUNS" =~ ^[0-9]+$ ]] || die "--runs takes a whole number"
((RUNS >= 1 && DURATION >= 1)) || die "--runs and --duration must be >= 1"
prepare_hello_bench

echo "# bench-hello: server cpu $SERVER_CPU, wrk cpu $CLIENT_CPU, -t1 -c$CONNECTIONS -d${DURATION}s, runs $RUNS, $(date -u +%FT%TZ)"
echo "# kernel $(uname -r), $(nproc --all) cpus, servers: ${ACTIVE_SERVERS[*]}"

# All servers are started once and stay up (idle ones use no CPU); each is warmed up per scenario.
for srv in "${ACTIVE_SERVERS[@]}"; do
    start_server "$srv"
    for sc in "${SCEN[@]}"; do
        run_wrk "$(server_port "$srv")" "$sc" "${WARMUP}s" "$CONNECTIONS" "$WORK_DIR/bench-$srv-warmup-$sc.txt"
    done
done

declare -A RPS=() CPU=()
# srv% = the server's CPU time / busy+idle time of its CPU; cpu% = how busy that CPU was (the
# server, softirqs, and anything else running there). cpu% well above srv% means other load.
printf '%-8s %-10s %4s %14s %14s %12s %8s %6s %6s\n' server scenario run requests/s requests cpu_us/req errors srv% cpu%
for ((run = 1; run <= RUNS; run++)); do
    for sc in "${SCEN[@]}"; do
        for srv in "${ACTIVE_SERVERS[@]}"; do
            pid="${SERVER_PIDS[$srv]}"
            out="$WORK_DIR/bench-$srv-$sc-$run.txt"
            read -r b0 a0 < <(cpu_busy_total "$SERVER_CPU")
            t0="$(cpu_ticks "$pid")"
            run_wrk "$(server_port "$srv")" "$sc" "${DURATION}s" "$CONNECTIONS" "$out"
            t1="$(cpu_ticks "$pid")"
            read -r b1 a1 < <(cpu_busy_total "$SERVER_CPU")
            kill -0 "$pid" 2>/dev/null || die "$srv died during the run (log: $WORK_DIR/$srv.log)"
            req="$(wrk_requests "$out")"
            rps="$(wrk_rps "$out")"
            err="$(wrk_errors "$out")"
            [[ -n "$req" && "$req" -gt 0 ]] || { cat "$out" >&2; die "$srv/$sc: wrk completed no requests"; }
            cpu="$(awk -v d=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$req" 'BEGIN { printf "%.2f", d * 1e6 / hz / n }')"
            all=$((a1 - a0 > 0 ? a1 - a0 : 1))
            printf '%-8s %-10s %4d %14.0f %14d %12s %8d %6d %6d\n' "$srv" "$sc" "$run" "$rps" "$req" "$cpu" "$err" \
                $(((t1 - t0) * 100 / all)) $(((b1 - b0) * 100 / all))
            RPS[$srv.$sc]+="$rps "
            CPU[$srv.$sc]+="$cpu "
        done
    done
done

for srv in "${ACTIVE_SERVERS[@]}"; do stop_server "$srv"; done

# Summary table of medians.
declare -A MRPS=() MCPU=()
echo
echo "## Hello benchmark (median of $RUNS run(s); server on CPU $SERVER_CPU, wrk -t1 -c$CONNECTIONS on CPU $CLIENT_CPU, ${DURATION}s)"
echo
echo "| server | scenario | requests/s | server CPU µs/request |"
echo "|---|---|---:|---:|"
for sc in "${SCEN[@]}"; do
    for srv in "${ACTIVE_SERVERS[@]}"; do
        # shellcheck disable=SC2086
        MRPS[$srv.$sc]="$(median ${RPS[$srv.$sc]})"
        # shellcheck disable=SC2086
        MCPU[$srv.$sc]="$(median ${CPU[$srv.$sc]})"
        printf '| %s | %s | %.0f | %.2f |\n' "$srv" "$sc" "${MRPS[$srv.$sc]}" "${MCPU[$srv.$sc]}"
    done
done

echo
if [[ -n "${MRPS[hello.${SCEN[0]}]:-}" ]]; then
    echo "Ratios (requests/s higher is better; CPU/request lower is better):"
    for base in kestrel nginx; do
        [[ -n "${MRPS[$base.${SCEN[0]}]:-}" ]] || continue
        for sc in "${SCEN[@]}"; do
            awk -v b="$base" -v s="$sc" -v hr="${MRPS[hello.$sc]}" -v br="${MRPS[$base.$sc]}" \
                -v hc="${MCPU[hello.$sc]}" -v bc="${MCPU[$base.$sc]}" 'BEGIN {
                printf "  Hello/%s %s: requests/s x%.2f, CPU/request x%.2f\n", b, s, hr / br, (bc > 0 ? hc / bc : 0) }'
        done
    done
else
    echo "Ratios Hello/Kestrel and Hello/nginx: n/a (hello not run)"
    if [[ -n "${MRPS[kestrel.${SCEN[0]}]:-}" && -n "${MRPS[nginx.${SCEN[0]}]:-}" ]]; then
        for sc in "${SCEN[@]}"; do
            awk -v s="$sc" -v kr="${MRPS[kestrel.$sc]}" -v nr="${MRPS[nginx.$sc]}" \
                -v kc="${MCPU[kestrel.$sc]}" -v nc="${MCPU[nginx.$sc]}" 'BEGIN {
                printf "  (for reference) Kestrel/nginx %s: requests/s x%.2f, CPU/request x%.2f\n", s, kr / nr, (nc > 0 ? kc / nc : 0) }'
        done
    fi
fi
echo "(raw wrk output: perf/.work/bench-*.txt)"
