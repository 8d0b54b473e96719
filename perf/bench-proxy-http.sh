#!/usr/bin/env bash
# HTTP proxying: fastsock-proxy (mode http) beside HAProxy (mode http) and nginx (proxy_pass), each pinned to the
# same CPU with one worker/thread, keep-alive to one nginx backend; requests/s and proxy CPU µs per request.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION=10
CONNECTIONS=64
RUNS=1
usage() {
    cat <<USAGE
Usage: perf/bench-proxy-http.sh [--duration S] [--connections N] [--runs N] [--server-cpu N] [--client-cpu N]

GET /plaintext keep-alive through each proxy (pinned to --server-cpu), wrk -t1 and the nginx backend on
--client-cpu. Proxies: fastsock-proxy (mode http), haproxy (mode http, nbthread 1, http-reuse safe), nginx
(proxy_pass to an upstream with keepalive). Prints requests/s and the proxy's CPU µs per request; servers
alternate for --runs N and medians are printed.
USAGE
}
while (($#)); do
    case "$1" in
        --duration) DURATION="${2:?}"; shift 2 ;;
        --connections) CONNECTIONS="${2:?}"; shift 2 ;;
        --runs) RUNS="${2:?}"; shift 2 ;;
        --server-cpu) SERVER_CPU="${2:?}"; shift 2 ;;
        --client-cpu) CLIENT_CPU="${2:?}"; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
done
require_cmd wrk wrk
require_cmd nginx nginx-light
require_cmd haproxy haproxy
raise_nofile 20000 >/dev/null

PROXY_DLL="$REPO_ROOT/src/Samples/Proxy/bin/Release/net10.0/fastsock-proxy.dll"
log "building fastsock-proxy (Release)"
dotnet build -c Release -v q -nologo "$REPO_ROOT/src/Samples/Proxy" >/dev/null
DIR="$WORK_DIR/proxy-http"
rm -rf "$DIR" && mkdir -p "$DIR/tmp" "$DIR/px"
BACKEND_PORT=18700 PROXY_PORT=18701

nginx_common() { echo "pid $1/nginx.pid; error_log $1/error.log warn; events { worker_connections 4096; }"; }
temp_paths() { echo "client_body_temp_path $1/tmp; proxy_temp_path $1/tmp; fastcgi_temp_path $1/tmp; uwsgi_temp_path $1/tmp; scgi_temp_path $1/tmp;"; }
cat >"$DIR/backend.conf" <<CONF
daemon off; master_process off; worker_processes 1; $(nginx_common "$DIR")
http { access_log off; keepalive_requests 1000000; $(temp_paths "$DIR")
  server { listen 127.0.0.1:$BACKEND_PORT; location = /plaintext { default_type text/plain; return 200 "Hello, World!"; } } }
CONF
taskset -c "$CLIENT_CPU" nginx -p "$DIR" -c "$DIR/backend.conf" >"$DIR/backend.out" 2>&1 &
own_pid $!
wait_port() { local i; for ((i = 0; i < 300; i++)); do curl -sf -o /dev/null "http://127.0.0.1:$1/plaintext" 2>/dev/null && return 0; sleep 0.1; done; die "nothing answers on 127.0.0.1:$1 ($2): see $DIR/$2.out"; }
wait_port "$BACKEND_PORT" backend

cat >"$DIR/proxy.json" <<JSON
{ "frontends": [ { "name": "bench", "bind": ["127.0.0.1:$PROXY_PORT"], "mode": "http", "backend": "b" } ],
  "backends": [ { "name": "b", "servers": [ { "address": "127.0.0.1:$BACKEND_PORT" } ], "keepAlive": { "maxIdlePerWorker": 256 } } ] }
JSON
cat >"$DIR/haproxy.cfg" <<CFG
global
  nbthread 1
  maxconn 4000
defaults
  mode http
  option http-keep-alive
  http-reuse safe
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend f
  bind 127.0.0.1:$PROXY_PORT
  default_backend b
backend b
  server s1 127.0.0.1:$BACKEND_PORT
CFG
cat >"$DIR/px/nginx.conf" <<CONF
daemon off; master_process off; worker_processes 1; $(nginx_common "$DIR/px")
http { access_log off; keepalive_requests 1000000; $(temp_paths "$DIR")
  upstream b { server 127.0.0.1:$BACKEND_PORT; keepalive 256; keepalive_requests 1000000; }
  server { listen 127.0.0.1:$PROXY_PORT;
    location / { proxy_pass http://b; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering on; } } }
CONF

start_proxy() {
    case "$1" in
        fastsock) taskset -c "$SERVER_CPU" dotnet "$PROXY_DLL" --config "$DIR/proxy.json" --cores "$SERVER_CPU" --log-level Warning >"$DIR/$1.out" 2>&1 & ;;
        haproxy) taskset -c "$SERVER_CPU" haproxy -db -f "$DIR/haproxy.cfg" >"$DIR/$1.out" 2>&1 & ;;
        nginx) taskset -c "$SERVER_CPU" nginx -p "$DIR/px" -c "$DIR/px/nginx.conf" >"$DIR/$1.out" 2>&1 & ;;
    esac
    PROXY_PID=$!
    own_pid "$PROXY_PID"
    wait_port "$PROXY_PORT" "$1"
}

declare -A RESULT
printf '# bench-proxy-http: proxy on CPU %s, wrk -t1 -c%s + nginx backend on CPU %s, %ss x %s run(s), %s\n' "$SERVER_CPU" "$CONNECTIONS" "$CLIENT_CPU" "$DURATION" "$RUNS" "$(date -u +%FT%TZ)"
for ((run = 1; run <= RUNS; run++)); do
    for name in fastsock haproxy nginx; do
        start_proxy "$name"
        taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d2s "http://127.0.0.1:$PROXY_PORT/plaintext" >/dev/null 2>&1
        t0=$(cpu_ticks "$PROXY_PID")
        taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "http://127.0.0.1:$PROXY_PORT/plaintext" >"$DIR/$name-$run.txt" 2>&1
        t1=$(cpu_ticks "$PROXY_PID")
        req=$(wrk_requests "$DIR/$name-$run.txt")
        errors=$(wrk_errors "$DIR/$name-$run.txt")
        line=$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v r="$req" -v d="$DURATION" 'BEGIN { printf "%.0f %.2f", r / d, (t / hz) * 1e6 / r }')
        RESULT[$name]+="$line;"
        printf '%-9s run %d: %s requests/s, %s proxy CPU µs/request, %s errors\n' "$name" "$run" ${line} "$errors"
        stop_pid "$PROXY_PID"
    done
done
med() { tr ';' '\n' <<<"$1" | awk -v f="$2" 'NF { print $f }' | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
printf '\n## HTTP proxy, keep-alive GET /plaintext (median of %s)\n\n| proxy | requests/s | proxy CPU µs/request |\n|---|---:|---:|\n' "$RUNS"
for name in fastsock haproxy nginx; do printf '| %s | %s | %s |\n' "$name" "$(med "${RESULT[$name]}" 1)" "$(med "${RESULT[$name]}" 2)"; done
fs=$(med "${RESULT[fastsock]}" 1) hp=$(med "${RESULT[haproxy]}" 1)
awk -v a="$fs" -v b="$hp" 'BEGIN { printf "\nfastsock/haproxy requests/s: x%.2f\n", a / b }'
