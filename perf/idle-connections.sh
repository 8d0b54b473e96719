#!/usr/bin/env bash
# Server memory per idle keep-alive connection: VmRSS before and after N idle connections.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CONNS=10000
HOLD=120
SETTLE_MAX=15

usage() {
    cat <<EOF
Usage: perf/idle-connections.sh [options]

For each server: start it pinned to --server-cpu (ulimit -n raised for it), warm it up (wrk
keep-alive, 2s, 16 connections), let it settle, read VmRSS (/proc/PID/status). Then the client
perf/idle-client.c (compiled with gcc into perf/.work/, pinned to --client-cpu) opens N
connections one by one, sends one full GET /plaintext on each and reads the response, and holds
them open and idle. After a settle (VmRSS unchanged within 1% for 1 s, at most ${SETTLE_MAX}s) plus 1 s,
VmRSS is read again:  KiB per connection = (RSS after - RSS before) / connections opened.
The server's open fd count before/after is shown as a check, and at release the client reports
how many connections the server had closed meanwhile (should be 0).

Options:
  --connections N     idle connections to open (default $CONNS)
  --hold SECONDS      upper bound on how long the client holds them (default $HOLD)
$COMMON_HELP
EOF
}

while (($#)); do
    parse_common "$@"
    if ((SHIFT_BY)); then shift "$SHIFT_BY"; continue; fi
    case "$1" in
        --connections) CONNS="${2:?}"; shift 2 ;;
        --hold) HOLD="${2:?}"; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
done
[[ "$CONNS" =~ ^[0-9]+$ && "$HOLD" =~ ^[0-9]+$ ]] || die "--connections and --hold take whole numbers"
((CONNS >= 1)) || die "--connections must be >= 1"

require_cmd gcc gcc
require_cmd wrk wrk
check_cpus
prepare_servers

# fd limits: this shell's limit is inherited by the client; servers get SERVER_NOFILE (capped at
# the hard limit by start_server).
nofile="$(raise_nofile "$SERVER_NOFILE")"
((CONNS + 64 <= nofile)) ||
    die "ulimit -n is $nofile, too low for $CONNS connections (raise the hard limit, e.g. in /etc/security/limits.conf or with prlimit)"
read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
ports=$((hi - lo + 1))
((CONNS <= ports)) ||
    die "ephemeral port range $lo-$hi has only $ports ports for $CONNS connections to one address; widen net.ipv4.ip_local_port_range"
if ((CONNS * 2 > ports)); then
    log "note: $CONNS connections use over half of the ephemeral port range $lo-$hi ($ports ports)"
fi

CLIENT="$WORK_DIR/idle-client"
if [[ ! -x "$CLIENT" || "$PERF_DIR/idle-client.c" -nt "$CLIENT" ]]; then
    gcc -O2 -Wall -Wextra -o "$CLIENT" "$PERF_DIR/idle-client.c" || die "gcc failed on perf/idle-client.c"
fi

# settle PID: waits until VmRSS changes by less than 1% across 1 s (at most SETTLE_MAX s), then 1 s.
settle() {
    local pid="$1" a b i
    a="$(rss_kib "$pid")"
    for ((i = 0; i < SETTLE_MAX; i++)); do
        sleep 1
        b="$(rss_kib "$pid")"
        awk -v a="$a" -v b="$b" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d * 100 <= a) }' && break
        a="$b"
    done
    sleep 1
}

fd_count() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

echo "# idle-connections: $CONNS connections, server cpu $SERVER_CPU, client cpu $CLIENT_CPU, ulimit -n $nofile, ephemeral ports $lo-$hi, $(date -u +%FT%TZ)"
declare -a ROWS=()
for srv in "${ACTIVE_SERVERS[@]}"; do
    start_server "$srv"
    pid="$SERVER_PID"
    port="$(server_port "$srv")"
    run_wrk "$port" keepalive 2s 16 "$WORK_DIR/idle-$srv-warmup.txt"
    settle "$pid"
    rss0="$(rss_kib "$pid")"
    fd0="$(fd_count "$pid")"

    release="$WORK_DIR/idle-$srv.release"
    outf="$WORK_DIR/idle-$srv.out"
    rm -f "$release"
    : >"$outf"
    taskset -c "$CLIENT_CPU" "$CLIENT" "$port" "$CONNS" "$HOLD" "$release" >"$outf" 2>&1 &
    cpid=$!
    own_pid "$cpid"
    deadline=$((SECONDS + 120))
    until grep -q '^OPEN' "$outf"; do
        kill -0 "$cpid" 2>/dev/null || { cat "$outf" >&2; die "idle-client exited early against $srv"; }
        ((SECONDS < deadline)) || die "idle-client did not open $CONNS connections to $srv within 120 s"
        sleep 0.2
    done
    read -r _ opened failed why < <(grep '^OPEN' "$outf")
    ((failed == 0)) || log "warning: $srv: client stopped after $opened connections: $why"
    ((opened > 0)) || die "$srv: no connection could be opened ($why)"
    settle "$pid"
    rss1="$(rss_kib "$pid")"
    fd1="$(fd_count "$pid")"
    touch "$release"
    wait "$cpid" 2>/dev/null || true
    closed="$(awk '/^CLOSED_BY_SERVER/ { print $2 }' "$outf")"
    per="$(awk -v a="$rss0" -v b="$rss1" -v n="$opened" 'BEGIN { printf "%.2f", (b - a) / n }')"
    echo "$srv: RSS $rss0 KiB -> $rss1 KiB with $opened idle connections (fds $fd0 -> $fd1, closed by server meanwhile: ${closed:-?}): $per KiB/connection"
    ROWS+=("| $srv | $opened | $rss0 | $rss1 | $per |")
    stop_server "$srv"
done

echo
echo "## Server memory per idle keep-alive connection ($CONNS connections, 127.0.0.1)"
echo
echo "| server | connections | VmRSS before (KiB) | VmRSS after (KiB) | KiB/connection |"
echo "|---|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
