#!/usr/bin/env bash
# A backend that dies costs clients nothing (issue 12): fastsock-proxy beside HAProxy 2.6, same test, same pinning.
# Two nginx backends, roundrobin, TCP health check every 1 s (fall 2, rise 2), retries 3 with redispatch, wrk -t1 -c64
# for 15 s; at 5 s one backend is (1) killed with SIGKILL, (2) stopped with SIGSTOP, (3) replaced by one that resets
# every 10th connection; (4) a killed backend comes back at 5 s (how long until it gets traffic again, and errors).
# Writes perf/results/faults.md. Usage: perf/faults.sh [DURATION_S] (default 15). Needs wrk, nginx, haproxy, python3.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DURATION="${1:-15}"
WORK="$(mktemp -d /tmp/fastsock-faults.XXXXXX)"
OUT="$REPO_ROOT/perf/results/faults.md"
PROXY_DLL="$REPO_ROOT/src/Samples/Proxy/bin/Release/net10.0/fastsock-proxy.dll"
PROXY_CPU=0 OTHER_CPU=1
declare -a PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -CONT "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
log() { echo "faults: $*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 300); do curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$1/" && return 0; sleep 0.1; done; echo "nothing on port $1" >&2; exit 1; }

[[ -f "$PROXY_DLL" ]] || dotnet build -c Release -v q -nologo "$REPO_ROOT/src/Samples/Proxy" >/dev/null

start_nginx() { # NAME PORT -> echo pid
    local d="$WORK/$1"; mkdir -p "$d/tmp"
    cat >"$d/nginx.conf" <<CONF
daemon off; master_process off; worker_processes 1; pid $d/nginx.pid; error_log $d/error.log warn;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000; client_body_temp_path $d/tmp; proxy_temp_path $d/tmp;
  fastcgi_temp_path $d/tmp; uwsgi_temp_path $d/tmp; scgi_temp_path $d/tmp;
  server { listen 127.0.0.1:$2; location = /plaintext { default_type text/plain; return 200 "Hello, World!"; }
           location = /status { stub_status; } } }
CONF
    taskset -c "$OTHER_CPU" nginx -p "$d" -c "$d/nginx.conf" >"$d/out" 2>&1 &
    echo $!
}

start_resetter() { # PORT -> echo pid: HTTP/1.1 keep-alive server that resets every 10th connection on its first request
    cat >"$WORK/resetter.py" <<'PY'
import asyncio, socket, struct, sys
count = 0
async def serve(reader, writer):
    global count
    count += 1
    reset = count % 10 == 0
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            if reset:
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()
                return
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, World!")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()
async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", int(sys.argv[1]), backlog=1024)
    async with server:
        await server.serve_forever()
asyncio.run(main())
PY
    taskset -c "$OTHER_CPU" python3 "$WORK/resetter.py" "$1" >"$WORK/resetter.out" 2>&1 &
    echo $!
}

start_proxy() { # KIND PORT A B -> echo pid
    if [[ "$1" == fastsock ]]; then
        cat >"$WORK/fastsock.json" <<JSON
{ "cores": "$PROXY_CPU", "retries": 3, "timeouts": { "connect": "1s", "server": "2s", "client": "30s" },
  "frontends": [ { "name": "f", "bind": ["127.0.0.1:$2"], "mode": "http", "backend": "b" } ],
  "backends": [ { "name": "b", "balance": "roundrobin", "redispatch": true,
    "healthCheck": { "type": "tcp", "interval": "1s", "rise": 2, "fall": 2 },
    "servers": [ { "name": "a", "address": "127.0.0.1:$3" }, { "name": "b", "address": "127.0.0.1:$4" } ] } ] }
JSON
        dotnet "$PROXY_DLL" --config "$WORK/fastsock.json" >"$WORK/fastsock.log" 2>&1 &
    else
        cat >"$WORK/haproxy.cfg" <<CFG
global
    nbthread 1
defaults
    mode http
    timeout connect 1s
    timeout client 30s
    timeout server 2s
    retries 3
    option redispatch
frontend f
    bind 127.0.0.1:$2
    default_backend b
backend b
    balance roundrobin
    server a 127.0.0.1:$3 check inter 1s fall 2 rise 2
    server b 127.0.0.1:$4 check inter 1s fall 2 rise 2
CFG
        taskset -c "$PROXY_CPU" haproxy -f "$WORK/haproxy.cfg" >"$WORK/haproxy.log" 2>&1 &
    fi
    echo $!
}

# run KIND FAULT: one row of the table
run() {
    local kind="$1" fault="$2" pa pb pp a_pid b_pid proxy_pid
    pa=$(free_port) pb=$(free_port) pp=$(free_port)
    if [[ "$fault" == reset ]]; then a_pid=$(start_resetter "$pa"); else a_pid=$(start_nginx "a-$kind-$fault" "$pa"); fi
    b_pid=$(start_nginx "b-$kind-$fault" "$pb")
    PIDS+=("$a_pid" "$b_pid")
    wait_port "$pa"; wait_port "$pb"
    if [[ "$fault" == return ]]; then kill -9 "$a_pid"; wait "$a_pid" 2>/dev/null || true; fi
    proxy_pid=$(start_proxy "$kind" "$pp" "$pa" "$pb")
    PIDS+=("$proxy_pid")
    wait_port "$pp"
    sleep 3 # both health checks settle (the returning server is DOWN before the run)
    taskset -c "$OTHER_CPU" wrk -t1 -c64 -d"${DURATION}s" --timeout 10s -s "$REPO_ROOT/perf/wrk-status.lua" "http://127.0.0.1:$pp/plaintext" >"$WORK/wrk-$kind-$fault.txt" 2>&1 &
    local wrk_pid=$! back="" t0
    PIDS+=("$wrk_pid")
    sleep 5
    case "$fault" in
        kill) kill -9 "$a_pid" ;;
        stop) kill -STOP "$a_pid" ;;
        return)
            a_pid=$(start_nginx "a2-$kind" "$pa"); PIDS+=("$a_pid"); t0=$(date +%s.%N)
            # Traffic is back when the restarted nginx has accepted a connection beyond our own status reads.
            local reads=0 accepts
            for _ in $(seq 100); do
                accepts=$(curl -s --max-time 1 "http://127.0.0.1:$pa/status" | awk 'NR == 3 { print $1 }')
                if [[ -n "$accepts" ]]; then
                    reads=$((reads + 1))
                    if ((accepts > reads)); then back=$(printf "%.2f" "$(echo "$(date +%s.%N) - $t0" | bc)"); break; fi
                fi
                sleep 0.1
            done ;;
    esac
    wait "$wrk_pid" || true
    kill -CONT "$a_pid" 2>/dev/null || true
    local f="$WORK/wrk-$kind-$fault.txt" total non2xx errors s502 s503 s504 rps
    total=$(awk '/STATUS/ { n += $3 } END { print n + 0 }' "$f")
    non2xx=$(awk '/STATUS/ && ($2 < 200 || $2 > 299) { n += $3 } END { print n + 0 }' "$f")
    s502=$(awk '$1 == "STATUS" && $2 == 502 { print $3 }' "$f"); s503=$(awk '$1 == "STATUS" && $2 == 503 { print $3 }' "$f"); s504=$(awk '$1 == "STATUS" && $2 == 504 { print $3 }' "$f")
    errors=$(awk '/^ERRORS/ { print $2 + $3 + $4 + $6 }' "$f")
    rps=$(awk '/Requests\/sec/ { print $2 }' "$f")
    local loglines=""
    [[ "$kind" == fastsock ]] && loglines=$(grep -c . "$WORK/fastsock.log" || true)
    echo "| $fault | $kind | $total | $rps | $non2xx | ${s502:-0} | ${s503:-0} | ${s504:-0} | $errors | $((non2xx + errors)) | ${back:-} | ${loglines} |" >>"$WORK/rows.md"
    log "$fault $kind: responses $total, non-2xx $non2xx (502 ${s502:-0}, 503 ${s503:-0}, 504 ${s504:-0}), client errors $errors ${back:+back after ${back}s}"
    kill "$proxy_pid" "$a_pid" "$b_pid" 2>/dev/null || true
    wait "$proxy_pid" "$a_pid" "$b_pid" 2>/dev/null || true
    [[ "$kind" == fastsock ]] && cp "$WORK/fastsock.log" "$WORK/fastsock-$fault.log"
    return 0
}

: >"$WORK/rows.md"
for fault in kill stop reset return; do
    for kind in fastsock haproxy; do run "$kind" "$fault"; done
done

{
    echo "# A backend that dies: fastsock-proxy beside HAProxy $(haproxy -v | head -1 | awk '{print $3}')"
    echo
    echo "Produced by \`perf/faults.sh $DURATION\` on $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs ($(uname -r))."
    echo "**From a loaded machine**: other builds and tests ran at the same time, so requests/s are noise; the error"
    echo "counts are the point. Proxy on CPU $PROXY_CPU (fastsock one worker, HAProxy nbthread 1), wrk and backends on CPU $OTHER_CPU."
    echo
    echo "Setup: two nginx backends, roundrobin, TCP check every 1 s (fall 2, rise 2), retries 3 with redispatch, timeouts"
    echo "connect 1 s and server 2 s; \`wrk -t1 -c64 -d${DURATION}s\` on /plaintext; the fault hits server a 5 s in:"
    echo "**kill** SIGKILL; **stop** SIGSTOP (until the end); **reset** server a is a Python server resetting every 10th"
    echo "connection from the start; **return** server a is dead at the start and an nginx starts on its port 5 s in."
    echo "Failed = non-2xx + wrk socket errors (connect, read, write, timeout; wrk --timeout 10s, above the proxies' 2 s server timeout). \"back after\" = seconds from the restart to the"
    echo "first connection the restarted nginx accepted beyond the script's own status reads (rise × interval = 2 s)."
    echo "Log lines = lines fastsock-proxy wrote in the whole run (startup included)."
    echo
    echo "| fault | proxy | responses | req/s | non-2xx | 502 | 503 | 504 | client errors | failed | back after (s) | log lines |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
    cat "$WORK/rows.md"
    echo
    echo "fastsock-proxy's log during the **kill** run (the run is ${DURATION} s, 64 clients):"
    echo
    echo '```'
    cat "$WORK/fastsock-kill.log"
    echo '```'
} >"$OUT"
log "wrote $OUT"
