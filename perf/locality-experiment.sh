#!/usr/bin/env bash
# Locality experiment (issue 3, item 5): two private network namespaces joined by a veth pair, RPS (and RFS, on
# and off) on both ends, the runtime in one namespace and the clients/backend in the other. Measures the share of
# connections processed on their own worker's CPU, passive (Hello with --steering cpu|hash|single, loaded by wrk
# with short connections) and active (perf/locality's `active` mode with --strategy kernel|modulo|rss against a
# Hello backend), then appends the RSS simulation. Writes perf/results/locality.md.
#
# Root only. Nothing but the two namespaces it creates is touched, except net.core.rps_sock_flow_entries, which is
# global (not per namespace): its old value is restored on exit. Namespaces and processes are removed on exit.
set -euo pipefail

PERF_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$PERF_DIR/.." && pwd)"
WORK_DIR="$PERF_DIR/.work/locality"
RESULTS="$PERF_DIR/results/locality.md"
HELLO_DLL="$REPO_ROOT/src/Samples/Hello/bin/Release/net10.0/fastsock-hello.dll"
TOOL_DLL="$PERF_DIR/locality/bin/Release/net10.0/Fastsock.Perf.Locality.dll"

NS_SRV=fsloc-srv
NS_CLI=fsloc-cli
IF_SRV=fsloc-s
IF_CLI=fsloc-c
ADDR_SRV=10.200.0.1
ADDR_CLI=10.200.0.2
PORT=18080
CORES=0-1
DURATION=5
WRK_CONNECTIONS=32
ACTIVE_CONNECTIONS=2000
FLOW_ENTRIES=32768
BUILD=0

usage() {
    cat <<EOF
Usage: perf/locality-experiment.sh [options]     (as root)

  --cores LIST            CPUs of the runtime's workers and of RPS (default $CORES)
  --duration SECONDS      wrk run per passive case (default $DURATION)
  --wrk-connections N     wrk -c, each request on a new connection (default $WRK_CONNECTIONS)
  --connections N         outbound connections per active case (default $ACTIVE_CONNECTIONS)
  --port PORT             port of Hello (server and backend) inside the namespaces (default $PORT)
  --build                 build Hello and perf/locality first (Release)
EOF
}

while (($#)); do
    case "$1" in
        --cores) CORES="${2:?}"; shift 2 ;;
        --duration) DURATION="${2:?}"; shift 2 ;;
        --wrk-connections) WRK_CONNECTIONS="${2:?}"; shift 2 ;;
        --connections) ACTIVE_CONNECTIONS="${2:?}"; shift 2 ;;
        --port) PORT="${2:?}"; shift 2 ;;
        --build) BUILD=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; echo "error: unknown option: $1" >&2; exit 2 ;;
    esac
done
for n in "$DURATION" "$WRK_CONNECTIONS" "$ACTIVE_CONNECTIONS" "$PORT"; do
    [[ "$n" =~ ^[0-9]+$ ]] || { echo "error: '$n' is not a whole number" >&2; exit 2; }
done

if [[ "$(id -u)" -ne 0 ]]; then
    echo "skipped: needs root (network namespaces, RPS/RFS sysfs and sysctl)"
    exit 0
fi

log() { printf '%s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
for cmd in ip wrk curl jq dotnet; do
    command -v "$cmd" >/dev/null 2>&1 || die "'$cmd' not found (apt-get install -y iproute2 wrk curl jq; .NET 10 SDK for dotnet)"
done

# RPS mask from the core list: 0-1 → 3, 0,2 → 5.
cpu_mask() {
    local mask=0 part a b c
    IFS=, read -ra parts <<<"$1"
    for part in "${parts[@]}"; do
        if [[ "$part" == *-* ]]; then a=${part%-*}; b=${part#*-}; else a=$part; b=$part; fi
        for ((c = a; c <= b; c++)); do mask=$((mask | (1 << c))); done
    done
    printf '%x' "$mask"
}
RPS_MASK="$(cpu_mask "$CORES")"

mkdir -p "$WORK_DIR" "$(dirname "$RESULTS")"
if ((BUILD)); then
    (cd "$REPO_ROOT" && dotnet build -c Release src/Samples/Hello && dotnet build -c Release perf/locality) >"$WORK_DIR/build.log" 2>&1 ||
        die "build failed; see $WORK_DIR/build.log"
fi
[[ -f "$HELLO_DLL" ]] || die "Hello is not built: dotnet build -c Release src/Samples/Hello (or --build)"
[[ -f "$TOOL_DLL" ]] || die "perf/locality is not built: dotnet build -c Release perf/locality (or --build)"

for ns in "$NS_SRV" "$NS_CLI"; do
    if ip netns list | grep -qw "$ns"; then
        die "namespace $ns exists (another run in progress, or left by a killed one: ip netns del $ns)"
    fi
done

# --- cleanup: processes, namespaces (with their veth pair), the global sysctl ---------------------------------
declare -a PIDS=()
FLOW_SYSCTL=/proc/sys/net/core/rps_sock_flow_entries
OLD_FLOW_ENTRIES="$(cat "$FLOW_SYSCTL")"
cleanup() {
    local rc=$? pid i
    trap - EXIT INT TERM
    for pid in "${PIDS[@]+"${PIDS[@]}"}"; do
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    ip netns del "$NS_SRV" 2>/dev/null || true
    ip netns del "$NS_CLI" 2>/dev/null || true
    echo "$OLD_FLOW_ENTRIES" >"$FLOW_SYSCTL" || true
    log "cleaned up: namespaces $NS_SRV $NS_CLI removed, rps_sock_flow_entries restored to $OLD_FLOW_ENTRIES"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop() { # stop PID: SIGTERM, bounded wait, SIGKILL
    local pid="$1" i
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# --- the network: fsloc-srv (10.200.0.1) ⟷ veth ⟷ fsloc-cli (10.200.0.2); nothing in the root namespace --------
ip netns add "$NS_SRV"
ip netns add "$NS_CLI"
ip link add "$IF_SRV" netns "$NS_SRV" type veth peer name "$IF_CLI" netns "$NS_CLI"
ip -n "$NS_SRV" addr add "$ADDR_SRV/24" dev "$IF_SRV"
ip -n "$NS_CLI" addr add "$ADDR_CLI/24" dev "$IF_CLI"
for ns in "$NS_SRV" "$NS_CLI"; do ip -n "$ns" link set lo up; done
ip -n "$NS_SRV" link set "$IF_SRV" up
ip -n "$NS_CLI" link set "$IF_CLI" up

# sysfs of a device is only visible from its namespace: `ip netns exec` mounts that namespace's /sys.
set_queue() { # set_queue NS IF FILE VALUE
    ip netns exec "$1" sh -c "echo $4 > /sys/class/net/$2/queues/rx-0/$3"
}
get_queue() { ip netns exec "$1" cat "/sys/class/net/$2/queues/rx-0/$3"; }
set_queue "$NS_SRV" "$IF_SRV" rps_cpus "$RPS_MASK"
set_queue "$NS_CLI" "$IF_CLI" rps_cpus "$RPS_MASK"

# net.core.rps_sock_flow_entries lives in the initial namespace only (the kernel registers it for init_net).
FLOW_SCOPE="global (initial namespace only; restored to $OLD_FLOW_ENTRIES on exit)"
if ip netns exec "$NS_SRV" test -e "$FLOW_SYSCTL"; then
    FLOW_SCOPE="global (also visible inside the namespace, same table); restored to $OLD_FLOW_ENTRIES on exit"
fi

rfs() { # rfs on|off
    local entries=0 cnt=0
    [[ "$1" == on ]] && { entries=$FLOW_ENTRIES; cnt=$FLOW_ENTRIES; }
    echo "$entries" >"$FLOW_SYSCTL"
    set_queue "$NS_SRV" "$IF_SRV" rps_flow_cnt "$cnt"
    set_queue "$NS_CLI" "$IF_CLI" rps_flow_cnt "$cnt"
    log "RFS $1: rps_sock_flow_entries=$(cat "$FLOW_SYSCTL") rps_flow_cnt=$(get_queue "$NS_SRV" "$IF_SRV" rps_flow_cnt) rps_cpus=$(get_queue "$NS_SRV" "$IF_SRV" rps_cpus)"
}

wait_http() { # wait_http NS URL LOGFILE PID
    local i
    for ((i = 0; i < 150; i++)); do
        ip netns exec "$1" curl -sf -o /dev/null --max-time 1 "$2" && return 0
        kill -0 "$4" 2>/dev/null || break
        sleep 0.2
    done
    tail -20 "$3" >&2
    die "no answer from $2"
}

start_hello() { # start_hello NS ADDR STEERING LOG → pid in HELLO_PID
    ip netns exec "$1" env DOTNET_gcServer=0 dotnet "$HELLO_DLL" --urls "http://$2:$PORT" --cores "$CORES" --steering "$3" \
        --log-level Warning >"$4" 2>&1 &
    HELLO_PID=$!
    PIDS+=("$HELLO_PID")
    wait_http "$NS_CLI" "http://$2:$PORT/plaintext" "$4" "$HELLO_PID"
}

KERNEL="$(uname -r)"
DATE="$(date -u '+%Y-%m-%d %H:%M UTC')"
COMMIT="$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
log "kernel $KERNEL, $(nproc) CPUs, cores $CORES, RPS mask $RPS_MASK"

# --- passive: Hello in fsloc-srv, wrk (Connection: close) from fsloc-cli ------------------------------------
PASSIVE_ROWS=""
for mode in off on; do
    rfs "$mode"
    for steering in cpu hash single; do
        logf="$WORK_DIR/hello-$steering-rfs-$mode.log"
        start_hello "$NS_SRV" "$ADDR_SRV" "$steering" "$logf"
        base="$(ip netns exec "$NS_CLI" curl -sf --max-time 5 "http://$ADDR_SRV:$PORT/stats")"
        ip netns exec "$NS_CLI" wrk -t2 -c"$WRK_CONNECTIONS" -d"${DURATION}s" --timeout 5s -H 'Connection: close' \
            "http://$ADDR_SRV:$PORT/plaintext" >"$WORK_DIR/wrk-$steering-rfs-$mode.txt" 2>&1 || true
        stats="$(ip netns exec "$NS_CLI" curl -sf --max-time 5 "http://$ADDR_SRV:$PORT/stats")"
        stop "$HELLO_PID"
        echo "$stats" >"$WORK_DIR/stats-$steering-rfs-$mode.json"
        # Counts during the wrk run only (the readiness probes before it are subtracted).
        read -r local remote perworker < <(jq -r --argjson b "$base" '
            [.workers[] as $w | ($b.workers[] | select(.worker == $w.worker)) as $o
              | {w: $w.worker, cpu: $w.cpu, l: ($w.locality.local - $o.locality.local), r: ($w.locality.remote - $o.locality.remote)}]
            | "\(map(.l) | add) \(map(.r) | add) \(map("w\(.w)=cpu\(.cpu):\(.l)/\(.r)") | join(","))"' <<<"$stats")
        total=$((local + remote))
        fraction="$(awk -v l="$local" -v t="$total" 'BEGIN { if (t > 0) printf "%.1f %%", 100 * l / t; else print "n/a" }')"
        rps="$(awk '/Requests\/sec/ { print $2 }' "$WORK_DIR/wrk-$steering-rfs-$mode.txt")"
        log "passive steering=$steering RFS=$mode: local $local remote $remote ($fraction) $perworker, wrk ${rps:-?} req/s"
        PASSIVE_ROWS+="| $steering | $mode | $total | $local | $remote | **$fraction** | $perworker | ${rps:-?} |"$'\n'
    done
done

# --- active: Hello backend in fsloc-cli, the locality tool in fsloc-srv --------------------------------------
ACTIVE_ROWS=""
start_hello "$NS_CLI" "$ADDR_CLI" cpu "$WORK_DIR/backend.log"
BACKEND_PID=$HELLO_PID
for mode in off on; do
    rfs "$mode"
    for strategy in kernel modulo rss rss-model; do
        extra=()
        name=$strategy
        if [[ "$strategy" == rss-model ]]; then name=rss; extra=(--rss-model); fi
        if [[ "$name" == rss ]]; then extra+=(--rss-interface "$IF_SRV"); fi
        out="$WORK_DIR/active-$strategy-rfs-$mode.txt"
        ip netns exec "$NS_SRV" timeout 300 dotnet "$TOOL_DLL" active --target "$ADDR_CLI:$PORT" --strategy "$name" \
            --cores "$CORES" --connections "$ACTIVE_CONNECTIONS" "${extra[@]}" >"$out" 2>&1 || true
        line="$(grep '^RESULT ' "$out" || true)"
        [[ -n "$line" ]] || { tail -20 "$out" >&2; die "active $strategy RFS $mode: no RESULT line (see $out)"; }
        field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
        workers="$(grep -o ' w[0-9]*=[^ ]*' <<<"$line" | tr -d ' ' | paste -sd, -)"
        local_n="$(field local)"; remote_n="$(field remote)"
        fraction="$(awk -v l="$local_n" -v r="$remote_n" 'BEGIN { if (l + r > 0) printf "%.1f %%", 100 * l / (l + r); else print "n/a" }')"
        note=""
        if grep -q '^rss unavailable' "$out"; then note="$(sed -n 's/^rss unavailable (\(.*\)); .*/\1/p' "$out" | head -1)"; fi
        log "active strategy=$strategy RFS=$mode: effective $(field effective) local $local_n remote $remote_n ($fraction) ok $(field ok) failed $(field failed) $workers"
        ACTIVE_ROWS+="| $strategy | $(field effective) | $mode | $(field ok) | $(field failed) | $local_n | $remote_n | **$fraction** | $workers | $note |"$'\n'
    done
done
stop "$BACKEND_PID"

# --- RSS simulation ----------------------------------------------------------------------------------------
SIMULATION="$(dotnet "$TOOL_DLL" simulate)"

cat >"$RESULTS" <<EOF
# Locality experiment

Generated by \`perf/locality-experiment.sh\` on $DATE, kernel \`$KERNEL\`, $(nproc) CPUs, commit \`$COMMIT\`.
Workers on CPUs \`$CORES\`. Two network namespaces, \`$NS_SRV\` ($ADDR_SRV/24, the runtime) and \`$NS_CLI\`
($ADDR_CLI/24, wrk and the backend), joined by a veth pair (\`$IF_SRV\` ⟷ \`$IF_CLI\`), one rx queue each.
RPS on both ends: \`rx-0/rps_cpus\` = \`$RPS_MASK\`. RFS **on**: \`net.core.rps_sock_flow_entries\` = $FLOW_ENTRIES
and \`rx-0/rps_flow_cnt\` = $FLOW_ENTRIES on both veths; RFS **off**: both 0. \`rps_sock_flow_entries\` is
$FLOW_SCOPE.

A connection is *local* when the CPU that processed its first received bytes (\`SO_INCOMING_CPU\`) is its
worker's CPU. Local fraction = local / (local + remote), summed over the workers; per worker \`wN=cpuC:local/remote\`.

## Passive connections (Hello, \`--steering\`)

Hello in \`$NS_SRV\`; \`wrk -t2 -c$WRK_CONNECTIONS -d${DURATION}s -H 'Connection: close'\` from \`$NS_CLI\` (a new
connection per request). Counts are the difference of Hello's \`GET /stats\` after and before the wrk run.

| steering | RFS | connections | local | remote | local fraction | per worker | wrk req/s |
|---|---|---:|---:|---:|---:|---|---:|
$PASSIVE_ROWS
## Active connections (perf/locality \`active\`, \`--strategy\`)

Backend: Hello in \`$NS_CLI\` (\`--steering cpu\`). The tool runs in \`$NS_SRV\` and opens $ACTIVE_CONNECTIONS
connections round-robin over the workers with \`FastsockServer.ConnectAsync(worker, $ADDR_CLI:$PORT)\`, 16 in
flight, each \`GET /plaintext\` with \`Connection: close\` read to the end. *effective* is the strategy the
connectors really use (rss falls back to kernel when the interface's RSS topology cannot be read).
\`rss-model\` gives rss the Microsoft default key and a 128-entry table round-robin over the workers' CPUs
(\`--rss-model\`), so it picks ports that a Toeplitz NIC would deliver locally.

| strategy | effective | RFS | ok | failed | local | remote | local fraction | per worker | note |
|---|---|---|---:|---:|---:|---:|---:|---|---|
$ACTIVE_ROWS
## RSS simulation (perf/locality \`simulate\`)

$SIMULATION

## Reading the results

- **veth has no RSS.** It has one rx queue and no Toeplitz hash: \`ETHTOOL_GRSSH\` fails on it, so \`rss\` logs the
  reason and falls back to the kernel's port choice (*effective* = kernel). RPS picks the CPU from the skb's
  flow hash (\`skb_get_hash\`), not from Toeplitz: on veth that is most likely the sending socket's random
  \`sk_txhash\`, which crosses the pair (\`skb_scrub_packet\` keeps \`skb->hash\`), else the flow dissector's
  jhash with a per-boot random seed. Neither is a function of the source port that user space can aim at, so
  with RFS off \`kernel\`, \`modulo\` and \`rss-model\` (ports chosen for a Toeplitz NIC) all land near 1/N. On a real multi-queue NIC the simulation table is the expectation:
  \`rss\` 100 %, \`modulo\` 100 % only with the printed \`ethtool -N\` rules (\`fastsock-hello --print-ntuple-rules IF\`),
  ~1/N without them, \`kernel\` ~1/N.
- **RFS steers by the CPU of the last \`recvmsg\`/\`sendmsg\`.** The worker writes the request on its own CPU, so
  with RFS on the reply's packets follow the worker whatever the source port: active connections become local
  with every strategy (on real NICs RFS is software steering after the hardware queue, at the cost of an IPI;
  accelerated RFS or the \`rss\` strategy get the same without it).
- Passive \`cpu\` steering is local by construction (the SYN's CPU chooses the listener); \`hash\` and \`single\` are
  local only by chance (~1/N) without RFS. With RFS the accept and first read record the worker's CPU, so later
  packets of the flow follow it; whether the *first* request bytes do depends on whether they arrive before or
  after the worker's first socket call, which is what the RFS-on rows measure.

## Commands

\`\`\`
cd $REPO_ROOT
dotnet build -c Release src/Samples/Hello && dotnet build -c Release perf/locality
sudo perf/locality-experiment.sh --cores $CORES --duration $DURATION --wrk-connections $WRK_CONNECTIONS --connections $ACTIVE_CONNECTIONS --port $PORT

# what it runs, per case:
ip netns exec $NS_SRV dotnet src/Samples/Hello/bin/Release/net10.0/fastsock-hello.dll --urls http://$ADDR_SRV:$PORT --cores $CORES --steering cpu|hash|single
ip netns exec $NS_CLI wrk -t2 -c$WRK_CONNECTIONS -d${DURATION}s --timeout 5s -H 'Connection: close' http://$ADDR_SRV:$PORT/plaintext
ip netns exec $NS_CLI curl http://$ADDR_SRV:$PORT/stats
ip netns exec $NS_CLI dotnet src/Samples/Hello/bin/Release/net10.0/fastsock-hello.dll --urls http://$ADDR_CLI:$PORT --cores $CORES --steering cpu
ip netns exec $NS_SRV dotnet perf/locality/bin/Release/net10.0/Fastsock.Perf.Locality.dll active --target $ADDR_CLI:$PORT --strategy kernel|modulo|rss --cores $CORES --connections $ACTIVE_CONNECTIONS [--rss-interface $IF_SRV] [--rss-model]
dotnet perf/locality/bin/Release/net10.0/Fastsock.Perf.Locality.dll simulate
\`\`\`
EOF
log "wrote $RESULTS"
