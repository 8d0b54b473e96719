#!/usr/bin/env bash
# Syscalls per request and epoll_ctl per request under wrk load, per server, via strace -c.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$PERF_DIR/lib-hello-bench.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib-resources.sh"

DURATION=5
CONNECTIONS=64
WARMUP=2
SCENARIOS="keepalive,close"
TOP=8

usage() {
    cat <<EOF
Usage: perf/syscalls-per-request.sh [options]

For each server: start it pinned to --server-cpu, warm it up with wrk (${WARMUP}s, no tracing),
then attach 'strace -c -f -p PID' (with -p, -f attaches every thread listed in /proc/PID/task
and follows threads created later), run wrk (-t1, pinned to --client-cpu) for --duration,
detach strace (SIGINT) and divide its counts by the requests wrk completed:
  syscalls/request  = total calls / requests
  epoll_ctl/request = epoll_ctl calls / requests
strace slows the server by an order of magnitude; requests/s here mean nothing, the ratios do.
The top syscalls per request are listed too; full strace tables: perf/.work/strace-*.txt.

Options:
  --duration SECONDS  traced wrk run length (default $DURATION)
  --connections N     wrk connections (default $CONNECTIONS)
  --scenarios LIST    keepalive,close (default $SCENARIOS)
  --top N             syscalls listed per server and scenario (default $TOP)
  --warmup SECONDS    untraced warm-up wrk run per scenario (default $WARMUP)
$COMMON_HELP
EOF
}

while (($#)); do
    parse_hello_bench_option "$@"
    if ((SHIFT_BY)); then shift "$SHIFT_BY"; continue; fi
    case "$1" in
        --top) TOP="${2:?}"; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
done
check_hello_bench_options
[[ "$TOP" =~ ^[0-9]+$ ]] || die "--top takes a whole number"
require_cmd strace strace
prepare_hello_bench

echo "# syscalls-per-request: server cpu $SERVER_CPU, wrk cpu $CLIENT_CPU, -t1 -c$CONNECTIONS -d${DURATION}s under strace -c -f, $(date -u +%FT%TZ)"
declare -a ROWS=()
for srv in "${ACTIVE_SERVERS[@]}"; do
    start_server "$srv"
    pid="$SERVER_PID"
    port="$(server_port "$srv")"
    for sc in "${SCEN[@]}"; do
        run_wrk "$port" "$sc" "${WARMUP}s" "$CONNECTIONS" "$WORK_DIR/sys-$srv-warmup-$sc.txt"
        measure_syscalls "$srv" "$pid" "$port" "$sc" "${DURATION}s" "$CONNECTIONS"
        req=$SYS_REQ total=$SYS_TOTAL ectl=$SYS_ECTL table=$SYS_TABLE
        row="$(awk -v t="$total" -v e="$ectl" -v n="$req" -v s="$srv" -v c="$sc" \
            'BEGIN { printf "| %s | %s | %d | %d | %.2f | %d | %.3f |", s, c, n, t, t / n, e, e / n }')"
        ROWS+=("$row")
        echo "$srv $sc: $req requests, $total syscalls ($(awk -v t="$total" -v n="$req" 'BEGIN { printf "%.2f", t / n }')/request), $ectl epoll_ctl; top per request:"
        awk -v n="$req" -v top="$TOP" '/^-/ { dash++; next } dash == 1 && NF >= 5 && k < top {
            printf "    %-18s %8.3f\n", $NF, $4 / n; k++ }' "$table"
    done
    stop_server "$srv"
done

echo
echo "## Syscalls per request (strace -c -f; server on CPU $SERVER_CPU, wrk -t1 -c$CONNECTIONS on CPU $CLIENT_CPU, ${DURATION}s)"
echo
echo "| server | scenario | requests | syscalls | syscalls/request | epoll_ctl | epoll_ctl/request |"
echo "|---|---|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
