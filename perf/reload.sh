#!/usr/bin/env bash
# Operations without loss (issue 9): under constant load through the proxy to nginx, R SIGHUP reloads that rewrite the
# config (weights change, a third server comes and goes), then T --takeover restarts; the same load against HAProxy's
# plain `-sf` reload and its `-x` takeover (expose-fd listeners on the stats socket). Counts failed requests, connect
# errors and resets (wrk socket errors) per phase, and for fastsock-proxy the passive locality before and after each
# takeover. Writes perf/results/reload.md.
#
# Usage: perf/reload.sh [--reloads N] [--takeovers N] [--interval S] [--proxy-cores LIST] [--skip-haproxy] [--out FILE]
#   defaults: 20 reloads, 5 takeovers, 2 s apart, proxy on CPU 0 (one worker), wrk and nginx on CPU 1.
# Needs wrk, nginx, haproxy, curl, jq and a Release build (built when missing).
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RELOADS=20 TAKEOVERS=5 INTERVAL=2 PROXY_CORES=0 OTHER_CPU=1 SKIP_HAPROXY=0
OUT="$REPO_ROOT/perf/results/reload.md"
while (($#)); do
    case "$1" in
        --reloads) RELOADS="$2"; shift 2 ;;
        --takeovers) TAKEOVERS="$2"; shift 2 ;;
        --interval) INTERVAL="$2"; shift 2 ;;
        --proxy-cores) PROXY_CORES="$2"; shift 2 ;;
        --client-cpu) OTHER_CPU="$2"; shift 2 ;;
        --skip-haproxy) SKIP_HAPROXY=1; shift ;;
        --out) OUT="$2"; shift 2 ;;
        *) echo "reload.sh: unknown option '$1' (see the header of perf/reload.sh)" >&2; exit 2 ;;
    esac
done
for tool in wrk nginx haproxy curl jq; do
    command -v "$tool" >/dev/null || { echo "reload.sh: $tool is missing; as root: apt-get install -y wrk nginx-light haproxy curl jq" >&2; exit 2; }
done

WORK="$(mktemp -d /tmp/fastsock-reload.XXXXXX)"
PROXY_DLL="$REPO_ROOT/src/Samples/Proxy/bin/Release/net10.0/fastsock-proxy.dll"
declare -a PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
log() { echo "reload: $*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 300); do curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$1/plaintext" && return 0; sleep 0.1; done; echo "reload.sh: nothing answers on port $1" >&2; exit 1; }
# Gone: no such process, or a zombie (our own child, exited and not yet waited for).
wait_gone() { local state; for _ in $(seq 600); do state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null || true); [[ -z "$state" || "$state" == Z ]] && return 0; sleep 0.1; done; return 1; }

[[ -f "$PROXY_DLL" ]] || dotnet build -c Release -v q -nologo "$REPO_ROOT/src/Samples/Proxy" >/dev/null
# SIGHUP reload is its own feature (--check comes with it); a build without it would die on the first SIGHUP.
HUP_SUPPORTED=0
dotnet "$PROXY_DLL" --help 2>/dev/null | grep -q -- '--check' && HUP_SUPPORTED=1

start_nginx() { # NAME PORT -> echo pid
    local d="$WORK/$1"; mkdir -p "$d/tmp"
    cat >"$d/nginx.conf" <<CONF
daemon off; master_process off; worker_processes 1; pid $d/nginx.pid; error_log $d/error.log warn;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000; client_body_temp_path $d/tmp; proxy_temp_path $d/tmp;
  fastcgi_temp_path $d/tmp; uwsgi_temp_path $d/tmp; scgi_temp_path $d/tmp;
  server { listen 127.0.0.1:$2; location = /plaintext { default_type text/plain; return 200 "Hello, World!"; } } }
CONF
    taskset -c "$OTHER_CPU" nginx -p "$d" -c "$d/nginx.conf" >"$d/out" 2>&1 &
    echo $!
}

# Load for SECONDS on PORT: keep-alive clients, and clients that open a new connection for every request.
start_load() { # NAME PORT SECONDS
    taskset -c "$OTHER_CPU" wrk -t1 -c32 -d"$3s" --timeout 10s -s "$REPO_ROOT/perf/wrk-status.lua" "http://127.0.0.1:$2/plaintext" >"$WORK/wrk-$1-keepalive.txt" 2>&1 &
    LOAD_KA=$!
    taskset -c "$OTHER_CPU" wrk -t1 -c4 -d"$3s" --timeout 10s -H 'Connection: close' -s "$REPO_ROOT/perf/wrk-status.lua" "http://127.0.0.1:$2/plaintext" >"$WORK/wrk-$1-close.txt" 2>&1 &
    LOAD_NEW=$!
    PIDS+=("$LOAD_KA" "$LOAD_NEW")
}

# One table row from both wrk runs of phase NAME.
row() { # NAME PROXY OPERATIONS DONE NOTE
    local total=0 non2xx=0 connect=0 read=0 write=0 timeout=0 f
    for f in "$WORK/wrk-$1-keepalive.txt" "$WORK/wrk-$1-close.txt"; do
        total=$((total + $(awk '/^STATUS/ { n += $3 } END { print n + 0 }' "$f")))
        non2xx=$((non2xx + $(awk '/^STATUS/ && ($2 < 200 || $2 > 299) { n += $3 } END { print n + 0 }' "$f")))
        connect=$((connect + $(awk '/^ERRORS/ { print $2 }' "$f")))
        read=$((read + $(awk '/^ERRORS/ { print $3 }' "$f")))
        write=$((write + $(awk '/^ERRORS/ { print $4 }' "$f")))
        timeout=$((timeout + $(awk '/^ERRORS/ { print $6 }' "$f")))
    done
    echo "| $2 | $3 | $4 | $total | $non2xx | $connect | $read | $write | $timeout | $((non2xx + connect + read + write + timeout)) | $5 |" >>"$WORK/rows.md"
    log "$2 $3: $4 done, $total responses, non-2xx $non2xx, connect $connect, read/reset $read, write $write, timeout $timeout"
}

# ---------------------------------------------------------------- fastsock-proxy
PA=$(free_port) PB=$(free_port) PC=$(free_port) PF=$(free_port)
for n in a b c; do
    port_var="P${n^^}"; pid=$(start_nginx "nginx-$n" "${!port_var}"); PIDS+=("$pid")
done
wait_port "$PA"; wait_port "$PB"; wait_port "$PC"
SOCKET="$WORK/admin.sock"
CONFIG="$WORK/fastsock.json"

write_fastsock_config() { # WEIGHT_A WEIGHT_B WITH_C(0|1)
    local third=""
    (($3)) && third=", { \"name\": \"c\", \"address\": \"127.0.0.1:$PC\", \"weight\": 1 }"
    cat >"$CONFIG.tmp" <<JSON
{ "cores": "$PROXY_CORES",
  "admin": { "bind": "127.0.0.1:0", "socket": "$SOCKET" },
  "frontends": [ { "name": "web", "bind": ["127.0.0.1:$PF"], "mode": "http", "backend": "nginx" } ],
  "backends": [ { "name": "nginx", "balance": "roundrobin",
    "servers": [ { "name": "a", "address": "127.0.0.1:$PA", "weight": $1 }, { "name": "b", "address": "127.0.0.1:$PB", "weight": $2 }$third ] } ] }
JSON
    mv "$CONFIG.tmp" "$CONFIG"
}

admin_port() { grep -o 'Admin listening on http://127.0.0.1:[0-9]*' "$1" | tail -1 | sed 's/.*://'; }
# Passive locality of every worker, "cpu:local/remote ..." from the admin JSON.
locality() { curl -s --max-time 5 "http://127.0.0.1:$1/stats?format=json" | jq -r '[.workers[] | "\(.cpu):\(.locality.passive.local)/\(.locality.passive.remote)"] | join(" ")'; }

start_fastsock() { # LOG [--takeover PATH] -> sets FASTSOCK_PID
    local logfile="$1"; shift
    dotnet "$PROXY_DLL" --config "$CONFIG" "$@" >"$logfile" 2>&1 &
    FASTSOCK_PID=$!
    PIDS+=("$FASTSOCK_PID")
    for _ in $(seq 600); do grep -q 'Press Ctrl+C' "$logfile" && return 0; kill -0 "$FASTSOCK_PID" 2>/dev/null || break; sleep 0.1; done
    echo "reload.sh: fastsock-proxy did not start: $(tail -3 "$logfile")" >&2; exit 1
}

write_fastsock_config 1 1 0
start_fastsock "$WORK/fastsock-0.log"
wait_port "$PF"
: >"$WORK/rows.md"; : >"$WORK/locality.md"

reload_note="config rewritten each time (weights of a and b cycle 1..5, server c added on odd reloads and removed on even ones)"
if ((HUP_SUPPORTED)); then
    start_load fastsock-reload "$PF" $((RELOADS * INTERVAL + 4))
    sleep 2
    done_reloads=0
    for i in $(seq 1 "$RELOADS"); do
        write_fastsock_config $((i % 5 + 1)) $(((i + 2) % 5 + 1)) $((i % 2))
        kill -HUP "$FASTSOCK_PID"
        sleep "$INTERVAL"
        kill -0 "$FASTSOCK_PID" 2>/dev/null || { log "fastsock-proxy ended on SIGHUP $i"; break; }
        done_reloads=$i
    done
    wait "$LOAD_KA" "$LOAD_NEW" || true
    row fastsock-reload fastsock-proxy "SIGHUP reload" "$done_reloads/$RELOADS" "$reload_note"
else
    log "this fastsock-proxy build has no SIGHUP reload (no --check option): reloads skipped"
    echo "| fastsock-proxy | SIGHUP reload | skipped | | | | | | | | this build has no SIGHUP reload (\`--help\` shows no \`--check\`) |" >>"$WORK/rows.md"
fi

start_load fastsock-takeover "$PF" $((TAKEOVERS * INTERVAL * 2 + 4))
sleep 2
done_takeovers=0
exit_codes=""
for i in $(seq 1 "$TAKEOVERS"); do
    old_pid=$FASTSOCK_PID old_log="$WORK/fastsock-$((i - 1)).log"
    before=$(locality "$(admin_port "$old_log")")
    write_fastsock_config $((i % 5 + 1)) 2 0
    start_fastsock "$WORK/fastsock-$i.log" --takeover "$SOCKET"
    if ! wait_gone "$old_pid"; then log "takeover $i: the old process ($old_pid) did not exit"; break; fi
    wait "$old_pid" 2>/dev/null && code=0 || code=$?
    exit_codes+="${exit_codes:+, }$code"
    sleep "$INTERVAL"
    after=$(locality "$(admin_port "$WORK/fastsock-$i.log")")
    echo "| $i | $code | $before | $after |" >>"$WORK/locality.md"
    done_takeovers=$i
    sleep "$INTERVAL"
done
wait "$LOAD_KA" "$LOAD_NEW" || true
row fastsock-takeover fastsock-proxy "--takeover restart" "$done_takeovers/$TAKEOVERS" "old processes exited with: ${exit_codes:-none}"
kill "$FASTSOCK_PID" 2>/dev/null || true
wait "$FASTSOCK_PID" 2>/dev/null || true

# ---------------------------------------------------------------- HAProxy
write_haproxy_config() { # WEIGHT_A WEIGHT_B WITH_C(0|1)
    local third=""
    (($3)) && third="    server c 127.0.0.1:$PC weight 1"
    cat >"$WORK/haproxy.cfg" <<CFG
global
    nbthread 1
    stats socket $WORK/haproxy.sock mode 600 level admin expose-fd listeners
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
frontend web
    bind 127.0.0.1:$PH
    default_backend nginx
backend nginx
    balance roundrobin
    server a 127.0.0.1:$PA weight $1
    server b 127.0.0.1:$PB weight $2
$third
CFG
}

haproxy_cpu() { echo "${PROXY_CORES%%[,-]*}"; }

haproxy_phase() { # NAME OPERATIONS MODE(sf|x)
    PH=$(free_port)
    write_haproxy_config 1 1 0
    taskset -c "$(haproxy_cpu)" haproxy -f "$WORK/haproxy.cfg" >"$WORK/haproxy-$1.log" 2>&1 &
    local pid=$! new done_ops=0 i
    PIDS+=("$pid")
    wait_port "$PH"
    start_load "$1" "$PH" $(($2 * INTERVAL + 4))
    sleep 2
    for i in $(seq 1 "$2"); do
        write_haproxy_config $((i % 5 + 1)) $(((i + 2) % 5 + 1)) $((i % 2))
        if [[ "$3" == x ]]; then
            taskset -c "$(haproxy_cpu)" haproxy -f "$WORK/haproxy.cfg" -x "$WORK/haproxy.sock" -sf "$pid" >>"$WORK/haproxy-$1.log" 2>&1 &
        else
            taskset -c "$(haproxy_cpu)" haproxy -f "$WORK/haproxy.cfg" -sf "$pid" >>"$WORK/haproxy-$1.log" 2>&1 &
        fi
        new=$!
        PIDS+=("$new")
        wait_gone "$pid" || log "haproxy $1: old process $pid did not exit"
        pid=$new
        done_ops=$i
        sleep "$INTERVAL"
    done
    wait "$LOAD_KA" "$LOAD_NEW" || true
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    echo "$done_ops"
}

if ((SKIP_HAPROXY)); then
    log "HAProxy skipped (--skip-haproxy)"
else
    n=$(haproxy_phase haproxy-sf "$RELOADS" sf)
    row haproxy-sf "haproxy $(haproxy -v | head -1 | awk '{print $3}')" "-sf reload (binds anew)" "$n/$RELOADS" "$reload_note"
    n=$(haproxy_phase haproxy-x "$TAKEOVERS" x)
    row haproxy-x "haproxy $(haproxy -v | head -1 | awk '{print $3}')" "-x takeover + -sf" "$n/$TAKEOVERS" "listeners passed over the stats socket (expose-fd listeners)"
fi

mkdir -p "$(dirname "$OUT")"
{
    echo "# Reloads and takeovers under load: fastsock-proxy beside HAProxy"
    echo
    echo "Produced by \`perf/reload.sh --reloads $RELOADS --takeovers $TAKEOVERS --interval $INTERVAL --proxy-cores $PROXY_CORES\` on"
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs ($(uname -r))."
    echo
    echo "Load for each phase, on CPU $OTHER_CPU with the three nginx backends: \`wrk -t1 -c32\` keep-alive and \`wrk -t1 -c4 -H 'Connection: close'\`"
    echo "(a new connection for every request), both \`--timeout 10s\`, from 2 s before the first operation to 2 s after the last."
    echo "Proxies on CPUs $PROXY_CORES (HAProxy: \`nbthread 1\` on CPU $(haproxy_cpu)). Failed = non-2xx + wrk socket errors"
    echo "(connect, read — a reset or a close before the response counts here —, write, timeout) summed over both wrk runs."
    echo
    echo "| proxy | operation | done | responses | non-2xx | connect | read/reset | write | timeout | failed | note |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|"
    cat "$WORK/rows.md"
    echo
    echo "fastsock-proxy passive locality per worker (\`cpu:local/remote\` connections, admin \`/stats?format=json\`) of the old"
    echo "process just before each takeover and of the new one ${INTERVAL} s after it (the counters start at 0 in each process)."
    echo "With one proxy worker every connection from wrk's CPU is remote by construction; with \`--proxy-cores 0-1\` the CPU"
    echo "steering makes them local, and a takeover that broke the listener order would show remote ones:"
    echo
    echo "| takeover | old exit code | old process before | new process after |"
    echo "|---|---|---|---|"
    cat "$WORK/locality.md"
} >"$OUT"
log "wrote $OUT"
