#!/usr/bin/env bash
# TCP proxying cost: fastsock-proxy (copy, splice) beside HAProxy (mode tcp, with and without splice-auto),
# all pinned to the same CPU, in front of one nginx; and the local fast path: inproc vs unix vs loopback TCP.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

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
DIR="$WORK_DIR/proxy-tcp"
rm -rf "$DIR" && mkdir -p "$DIR/www" "$DIR/tmp"
head -c $((1024 * 1024)) /dev/urandom >"$DIR/www/1m"
BACKEND_PORT=18600 PROXY_PORT=18601 SOCK="$DIR/nginx.sock"

cat >"$DIR/nginx.conf" <<CONF
daemon off; master_process off; worker_processes 1;
pid $DIR/nginx.pid; error_log $DIR/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off; sendfile on; tcp_nopush on; keepalive_requests 1000000;
  client_body_temp_path $DIR/tmp; proxy_temp_path $DIR/tmp; fastcgi_temp_path $DIR/tmp; uwsgi_temp_path $DIR/tmp; scgi_temp_path $DIR/tmp;
  server {
    listen 127.0.0.1:$BACKEND_PORT; listen unix:$SOCK;
    root $DIR/www;
    location = /plaintext { default_type text/plain; return 200 "Hello, World!"; }
  }
}
CONF
taskset -c "$CLIENT_CPU" nginx -p "$DIR" -c "$DIR/nginx.conf" >"$DIR/nginx.out" 2>&1 &
NGINX_PID=$!
own_pid "$NGINX_PID"
wait_port() { local i; for ((i = 0; i < 300; i++)); do curl -s -o /dev/null "http://127.0.0.1:$1/" 2>/dev/null && return 0; sleep 0.1; done; die "nothing answers on 127.0.0.1:$1 ($2)"; }
wait_port "$BACKEND_PORT" nginx

proxy_json() { # $1 = server address
    cat >"$DIR/proxy.json" <<JSON
{ "frontends": [ { "name": "bench", "bind": ["127.0.0.1:$PROXY_PORT"], "mode": "tcp", "backend": "b" } ],
  "backends": [ { "name": "b", "servers": [ { "address": "$1" } ] } ] }
JSON
}
haproxy_cfg() { # $1 = extra backend option line
    cat >"$DIR/haproxy.cfg" <<CFG
global
  nbthread 1
  maxconn 4000
defaults
  mode tcp
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend f
  bind 127.0.0.1:$PROXY_PORT
  default_backend b
backend b
  $1
  server s1 127.0.0.1:$BACKEND_PORT
CFG
}

start_proxy() { # $1 = name; sets PROXY_PID
    case "$1" in
        fastsock-copy | fastsock-splice)
            proxy_json "127.0.0.1:$BACKEND_PORT"
            taskset -c "$SERVER_CPU" dotnet "$PROXY_DLL" --config "$DIR/proxy.json" --cores "$SERVER_CPU" --forwarding "${1#fastsock-}" --log-level Warning >"$DIR/$1.out" 2>&1 & ;;
        haproxy) haproxy_cfg ""; taskset -c "$SERVER_CPU" haproxy -db -f "$DIR/haproxy.cfg" >"$DIR/$1.out" 2>&1 & ;;
        haproxy-splice) haproxy_cfg "option splice-auto"; taskset -c "$SERVER_CPU" haproxy -db -f "$DIR/haproxy.cfg" >"$DIR/$1.out" 2>&1 & ;;
        inproc) proxy_json "inproc:hello"; taskset -c "$SERVER_CPU" dotnet "$PROXY_DLL" --config "$DIR/proxy.json" --cores "$SERVER_CPU" --log-level Warning >"$DIR/$1.out" 2>&1 & ;;
        unix) proxy_json "unix:$SOCK"; taskset -c "$SERVER_CPU" dotnet "$PROXY_DLL" --config "$DIR/proxy.json" --cores "$SERVER_CPU" --log-level Warning >"$DIR/$1.out" 2>&1 & ;;
        tcp) proxy_json "127.0.0.1:$BACKEND_PORT"; taskset -c "$SERVER_CPU" dotnet "$PROXY_DLL" --config "$DIR/proxy.json" --cores "$SERVER_CPU" --log-level Warning >"$DIR/$1.out" 2>&1 & ;;
    esac
    PROXY_PID=$!
    own_pid "$PROXY_PID"
    wait_port "$PROXY_PORT" "$1"
}

gb_read() { # wrk output -> GB read (decimal)
    awk '/requests in/ { v = $(NF - 1); u = v; gsub(/[0-9.]/, "", u); gsub(/[A-Za-z]/, "", v);
         m = (u == "GB") ? 1073741824 : (u == "MB") ? 1048576 : (u == "KB") ? 1024 : 1; printf "%.4f\n", v * m / 1e9; exit }' "$1"
}

declare -A RESULT1 RESULT2
printf '# bench-proxy-tcp: proxy on CPU %s, wrk + nginx on CPU %s, %ss x %s run(s), %s\n' "$SERVER_CPU" "$CLIENT_CPU" "$DURATION" "$RUNS" "$(date -u +%FT%TZ)"
for ((run = 1; run <= RUNS; run++)); do
    for name in fastsock-copy fastsock-splice haproxy haproxy-splice; do
        start_proxy "$name"
        taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d2s "http://127.0.0.1:$PROXY_PORT/1m" >/dev/null 2>&1
        t0=$(cpu_ticks "$PROXY_PID")
        taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" "http://127.0.0.1:$PROXY_PORT/1m" >"$DIR/$name-$run.txt" 2>&1
        t1=$(cpu_ticks "$PROXY_PID")
        gb=$(gb_read "$DIR/$name-$run.txt")
        line=$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v gb="$gb" -v d="$DURATION" 'BEGIN { printf "%.3f %.3f", gb / d, (t / hz) / gb }')
        RESULT1[$name]+="$line;"
        printf '%-16s run %d: %s GB/s, %s CPU s/GB\n' "$name" "$run" ${line}
        stop_pid "$PROXY_PID"
    done
    for name in inproc unix tcp; do
        start_proxy "$name"
        taskset -c "$CLIENT_CPU" wrk -t1 -c32 -d2s "http://127.0.0.1:$PROXY_PORT/plaintext" >/dev/null 2>&1
        t0=$(( $(cpu_ticks "$PROXY_PID") + $(cpu_ticks "$NGINX_PID") ))
        taskset -c "$CLIENT_CPU" wrk -t1 -c32 -d"${DURATION}s" "http://127.0.0.1:$PROXY_PORT/plaintext" >"$DIR/$name-$run.txt" 2>&1
        t1=$(( $(cpu_ticks "$PROXY_PID") + $(cpu_ticks "$NGINX_PID") ))
        req=$(wrk_requests "$DIR/$name-$run.txt")
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
