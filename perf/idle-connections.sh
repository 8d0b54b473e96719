#!/usr/bin/env bash
# Server memory per idle keep-alive connection: VmRSS before and after N idle connections.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib-resources.sh"

CONNS=10000
HOLD=120

usage() {
    cat <<EOF
Usage: perf/idle-connections.sh [options]

For each server: start it pinned to --server-cpu (ulimit -n raised for it), warm it up (wrk
keep-alive, 2s, 16 connections, then --churn-warmup s with Connection: close, so that the accept
and close paths have run before), let it settle, read VmRSS (/proc/PID/status). Then the client
perf/idle-client.c (compiled with gcc into perf/.work/, pinned to --client-cpu) opens N
connections one by one, sends one full GET /plaintext on each and reads the response, and holds
them open and idle. After a settle (VmRSS unchanged within 1% for 1 s, at most ${SETTLE_MAX}s) plus 1 s,
VmRSS is read again:  KiB per connection = (RSS after - RSS before) / connections opened. The
connections are opened in two halves (two clients) with a reading between them: the second half's
KiB per connection leaves out what is paid once whichever half it lands in (code run for the
first time, a heap budget committed for the first time).
The server's open fd count before/after is shown as a check, and at release the client reports
how many connections the server had closed meanwhile (should be 0).

Options:
  --connections N     idle connections to open (default $CONNS)
  --hold SECONDS      upper bound on how long the client holds them (default $HOLD)
  --churn-warmup S    seconds of Connection: close load in the warm-up (default $IDLE_CHURN_WARMUP; 0: keep-alive
                      warm-up only, the method before 2026-11-26 late evening)
$COMMON_HELP
EOF
}

while (($#)); do
    parse_common "$@"
    if ((SHIFT_BY)); then shift "$SHIFT_BY"; continue; fi
    case "$1" in
        --connections) CONNS="${2:?}"; shift 2 ;;
        --hold) HOLD="${2:?}"; shift 2 ;;
        --churn-warmup) IDLE_CHURN_WARMUP="${2:?}"; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
done
[[ "$CONNS" =~ ^[0-9]+$ && "$HOLD" =~ ^[0-9]+$ && "$IDLE_CHURN_WARMUP" =~ ^[0-9]+$ ]] ||
    die "--connections, --hold and --churn-warmup take whole numbers"
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

build_idle_client

echo "# idle-connections: $CONNS connections, churn warm-up ${IDLE_CHURN_WARMUP}s, server cpu $SERVER_CPU, client cpu $CLIENT_CPU, ulimit -n $nofile, ephemeral ports $lo-$hi, $(date -u +%FT%TZ)"
declare -a ROWS=()
for srv in "${ACTIVE_SERVERS[@]}"; do
    start_server "$srv"
    measure_idle "$srv" "$SERVER_PID" "$(server_port "$srv")" "$CONNS" "$HOLD"
    rss0=$IDLE_RSS0 half=$IDLE_RSS_HALF rss1=$IDLE_RSS1 opened=$IDLE_OPENED fd0=$IDLE_FD0 fd1=$IDLE_FD1 closed=$IDLE_CLOSED
    per=$IDLE_PER marginal=$IDLE_MARGINAL
    echo "$srv: RSS $rss0 KiB -> $half KiB (half) -> $rss1 KiB with $opened idle connections (fds $fd0 -> $fd1, closed by server meanwhile: ${closed:-?}): $per KiB/connection, second half $marginal KiB/connection"
    ROWS+=("| $srv | $opened | $rss0 | $half | $rss1 | $per | $marginal |")
    stop_server "$srv"
done

echo
echo "## Server memory per idle keep-alive connection ($CONNS connections, 127.0.0.1)"
echo
echo "| server | connections | VmRSS before (KiB) | at half (KiB) | after (KiB) | KiB/connection | KiB/connection, second half |"
echo "|---|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
