# Proxy peers shared by bench-proxy-http.sh, bench-proxy-tcp.sh and perf/run: one nginx backend, and
# fastsock-proxy, HAProxy and nginx as the proxy under test. Sourced after lib.sh, not run.
# shellcheck shell=bash disable=SC2034  # variables set here are read by the sourcing scripts

PROXY_DLL="$REPO_ROOT/src/Samples/Proxy/bin/Release/net10.0/fastsock-proxy.dll"

# proxy_env DIR BACKEND_PORT PROXY_PORT: scratch directory (recreated), ports, the 1 MiB file.
proxy_env() {
    PROXY_WORK="$1" BACKEND_PORT="$2" PROXY_PORT="$3"
    BACKEND_SOCK="$PROXY_WORK/nginx.sock"
    rm -rf "$PROXY_WORK" && mkdir -p "$PROXY_WORK/www" "$PROXY_WORK/tmp" "$PROXY_WORK/px"
    head -c $((1024 * 1024)) /dev/urandom >"$PROXY_WORK/www/1m"
}

build_proxy() {
    log "building fastsock-proxy (Release)"
    run_waited dotnet build -c Release -v q -nologo "$REPO_ROOT/src/Samples/Proxy" >"$WORK_DIR/proxy-build.log" 2>&1 ||
        { tail -n 20 "$WORK_DIR/proxy-build.log" >&2; die "dotnet build -c Release src/Samples/Proxy failed"; }
}

# build_proxy_aot: fastsock-proxy published as Native AOT (what `dotnet publish` ships) into WORK_DIR/proxy-aot, again
# only when a source or project file of the runtime or the proxy is newer than it. (Not the JIT dll's time: a publish
# makes the next `dotnet build` write the dll again, which re-published the binary at every run.) Sets PROXY_AOT_BIN.
PROXY_AOT_BIN="$WORK_DIR/proxy-aot/fastsock-proxy"
build_proxy_aot() {
    if [[ -x "$PROXY_AOT_BIN" ]] && [[ -z "$(find "$REPO_ROOT/src/Runtime" "$REPO_ROOT/src/Samples/Proxy" "$REPO_ROOT"/Directory.* \
        \( -path '*/bin' -o -path '*/obj' \) -prune -o -type f -newer "$PROXY_AOT_BIN" -print -quit 2>/dev/null)" ]]; then
        return 0
    fi
    log "publishing fastsock-proxy as Native AOT"
    run_waited dotnet publish "$REPO_ROOT/src/Samples/Proxy" -c Release -r linux-x64 -p:PublishAot=true -o "$WORK_DIR/proxy-aot" \
        -nologo -v q >"$WORK_DIR/proxy-aot-publish.log" 2>&1 ||
        { tail -n 20 "$WORK_DIR/proxy-aot-publish.log" >&2; die "dotnet publish -p:PublishAot=true src/Samples/Proxy failed"; }
}

# worker_connections counts client and upstream connections: a proxy at N clients needs 2N (NGINX_WORKER_CONNECTIONS,
# kept below the fd limit by the caller). Listeners take backlog=4096 (nginx's default is 511) like the other servers,
# so that 4,000 clients connecting at once are not left to SYN retries.
_nginx_common() { echo "pid $1/nginx.pid; error_log $1/error.log warn; events { worker_connections ${NGINX_WORKER_CONNECTIONS:-4096}; }"; }
_temp_paths() { echo "client_body_temp_path $1/tmp; proxy_temp_path $1/tmp; fastcgi_temp_path $1/tmp; uwsgi_temp_path $1/tmp; scgi_temp_path $1/tmp;"; }

# wait_port PORT NAME PID: until GET / on 127.0.0.1:PORT answers (any status), 30 s at most.
wait_port() {
    local i
    for ((i = 0; i < 300; i++)); do
        curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$1/" 2>/dev/null && return 0
        [[ -z "${3:-}" ]] || kill -0 "$3" 2>/dev/null || break
        sleep 0.1
    done
    die "nothing answers on 127.0.0.1:$1 ($2): see $PROXY_WORK/$2.out"
}

# start_backend: nginx pinned to CLIENT_CPU on 127.0.0.1:BACKEND_PORT and unix:BACKEND_SOCK, serving
# /plaintext (Hello, World!), /1m (1 MiB file, sendfile) and /backend-status (stub_status: the connections it
# accepted, read by backend_accepts). Sets BACKEND_PID and BACKEND_CMD.
start_backend() {
    local d="$PROXY_WORK"
    cat >"$d/backend.conf" <<CONF
daemon off; master_process off; worker_processes 1; $(_nginx_common "$d")
http {
  access_log off; sendfile on; tcp_nopush on; keepalive_requests 1000000; $(_temp_paths "$d")
  server {
    listen 127.0.0.1:$BACKEND_PORT backlog=4096; listen unix:$BACKEND_SOCK;
    root $d/www;
    location = /plaintext { default_type text/plain; return 200 "Hello, World!"; }
    location = /backend-status { stub_status; }
  }
}
CONF
    local -a cmd=(taskset -c "$CLIENT_CPU" nginx -p "$d" -c "$d/backend.conf")
    BACKEND_CMD="$(quote_cmd "${cmd[@]}")"
    "${cmd[@]}" >"$d/backend.out" 2>&1 &
    BACKEND_PID=$!
    own_pid "$BACKEND_PID"
    wait_port "$BACKEND_PORT" backend "$BACKEND_PID"
}

# start_floor_backend: perf/floors/epoll_floor.c (one read and one write per request, no parsing) pinned to CLIENT_CPU
# on 127.0.0.1:BACKEND_PORT instead of nginx: the cheapest backend there is, so that more of the client CPU is left to
# wrk and the proxy under test becomes the bound sooner. No unix socket and no stub_status (backend_accepts is empty).
start_floor_backend() {
    build_floors
    local -a cmd=(taskset -c "$CLIENT_CPU" "$EPOLL_FLOOR" "$BACKEND_PORT")
    BACKEND_CMD="$(quote_cmd "${cmd[@]}")"
    "${cmd[@]}" >"$PROXY_WORK/backend.out" 2>&1 &
    BACKEND_PID=$!
    own_pid "$BACKEND_PID"
    wait_port "$BACKEND_PORT" backend "$BACKEND_PID"
}

# backend_accepts: the connections the nginx backend has accepted so far (stub_status "accepts"), this read's own
# connection included; the same count for every proxy, whatever its own statistics say. Empty when unreadable.
backend_accepts() {
    curl -sf --max-time 5 "http://127.0.0.1:$BACKEND_PORT/backend-status" | awk 'NR == 3 { print $1 }'
}

_proxy_json() { # NAME MODE ADDRESS: writes PROXY_WORK/NAME.json
    local name="$1"
    shift
    # http mode keeps the proxy's default backend pool: idle connections up to demand, like HAProxy's http-reuse.
    cat >"$PROXY_WORK/$name.json" <<JSON
{ "frontends": [ { "name": "bench", "bind": ["127.0.0.1:$PROXY_PORT"], "mode": "$1", "backend": "b" } ],
  "backends": [ { "name": "b", "servers": [ { "address": "$2" } ] } ] }
JSON
}

# HAProxy stops keeping idle server connections once 20 % of its file descriptors are in use (tune.pool-low-fd-ratio)
# and closes idle ones to open new ones past 25 % (tune.pool-high-fd-ratio); with maxconn 4000 that is ~1,600 fds, so at
# 1,000 clients (2,000 fds) it opened a backend connection for most requests (628 per 1,000 in REPORT.md). Raised so
# that HAProxy reuses its server connections at every level, as the other proxies do.
_haproxy_cfg() { # NAME MODE EXTRA_BACKEND_LINE: writes PROXY_WORK/NAME.cfg
    local name="$1"
    shift
    local extra=""
    [[ "$1" == http ]] && extra=$'  option http-keep-alive\n  http-reuse always'
    cat >"$PROXY_WORK/$name.cfg" <<CFG
global
  nbthread 1
  maxconn ${HAPROXY_MAXCONN:-4000}
  tune.pool-low-fd-ratio 90
  tune.pool-high-fd-ratio 95
defaults
  mode $1
$extra
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend f
  bind 127.0.0.1:$PROXY_PORT
  default_backend b
backend b
  $2
  server s1 127.0.0.1:$BACKEND_PORT
CFG
}

_nginx_proxy_conf() {
    local d="$PROXY_WORK/px"
    cat >"$d/nginx.conf" <<CONF
daemon off; master_process off; worker_processes 1; $(_nginx_common "$d")
http { access_log off; keepalive_requests 1000000; $(_temp_paths "$PROXY_WORK")
  upstream b { server 127.0.0.1:$BACKEND_PORT; keepalive ${HAPROXY_MAXCONN:-4000}; keepalive_requests 1000000; }
  server { listen 127.0.0.1:$PROXY_PORT backlog=4096;
    location / { proxy_pass http://b; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering on; } } }
CONF
}

# start_proxy NAME: the proxy under test pinned to SERVER_CPU (one worker / thread) on PROXY_PORT.
#   http mode: fastsock-proxy (JIT), fastsock-proxy-pgo (JIT with dynamic PGO), fastsock-proxy-alt and -alt2 (the JIT builds at ALT_PROXY_DLL and ALT2_PROXY_DLL), fastsock-proxy-aot (Native AOT, as published), haproxy-http, nginx-proxy, proxy-floor (perf/floors/proxy_floor.c: a relay, no parsing)
#   tcp mode:  fastsock-copy, fastsock-splice, haproxy, haproxy-splice (to the backend over TCP)
#   fast path: inproc (Hello inside the proxy), unix (the backend's unix socket), tcp (its TCP port)
# Sets PROXY_PID and PROXY_CMD (the exact command line).
start_proxy() {
    local name="$1"
    # PROXY_DOTNET_ENV: extra VAR=value words for fastsock-proxy (e.g. DOTNET_PerfMapEnabled=1 to profile it).
    local -a fs=(taskset -c "$SERVER_CPU" env "${PROXY_DOTNET_ENV[@]+"${PROXY_DOTNET_ENV[@]}"}" dotnet "$PROXY_DLL"
        --config "$PROXY_WORK/$name.json" --cores "$SERVER_CPU" --log-level Warning)
    local -a hap=(taskset -c "$SERVER_CPU" haproxy -db -f "$PROXY_WORK/$name.cfg")
    local -a cmd
    case "$name" in
        fastsock-proxy) _proxy_json "$name" http "127.0.0.1:$BACKEND_PORT"; cmd=("${fs[@]}") ;;
        fastsock-proxy-pgo) # the JIT build with .NET's dynamic PGO, which the samples turn off, put back
            _proxy_json "$name" http "127.0.0.1:$BACKEND_PORT"; cmd=("${fs[@]:0:4}" DOTNET_TieredPGO=1 "${fs[@]:4}") ;;
        fastsock-proxy-alt | fastsock-proxy-alt2) # other builds of the proxy (ALT_PROXY_DLL, ALT2_PROXY_DLL: their fastsock-proxy.dll), to compare builds side by side
            local alt_var=ALT_PROXY_DLL
            [[ "$name" == fastsock-proxy-alt ]] || alt_var=ALT2_PROXY_DLL
            local alt_dll="${!alt_var:-}"
            [[ -f "$alt_dll" ]] || die "$name needs $alt_var=path/to/fastsock-proxy.dll (not found: '$alt_dll')"
            _proxy_json "$name" http "127.0.0.1:$BACKEND_PORT"; cmd=(taskset -c "$SERVER_CPU" env "${PROXY_DOTNET_ENV[@]+"${PROXY_DOTNET_ENV[@]}"}" dotnet "$alt_dll"
                --config "$PROXY_WORK/$name.json" --cores "$SERVER_CPU" --log-level Warning) ;;
        fastsock-proxy-aot)
            build_proxy_aot
            _proxy_json "$name" http "127.0.0.1:$BACKEND_PORT"
            cmd=(taskset -c "$SERVER_CPU" "$PROXY_AOT_BIN" --config "$PROXY_WORK/$name.json" --cores "$SERVER_CPU" --log-level Warning) ;;
        haproxy-http) _haproxy_cfg "$name" http ""; cmd=("${hap[@]}") ;;
        nginx-proxy) _nginx_proxy_conf; cmd=(taskset -c "$SERVER_CPU" nginx -p "$PROXY_WORK/px" -c "$PROXY_WORK/px/nginx.conf") ;;
        proxy-floor) build_floors; cmd=(taskset -c "$SERVER_CPU" "$PROXY_FLOOR" "$PROXY_PORT" "$BACKEND_PORT") ;;
        fastsock-copy | fastsock-splice)
            _proxy_json "$name" tcp "127.0.0.1:$BACKEND_PORT"; cmd=("${fs[@]}" --forwarding "${name#fastsock-}") ;;
        haproxy) _haproxy_cfg "$name" tcp ""; cmd=("${hap[@]}") ;;
        haproxy-splice) _haproxy_cfg "$name" tcp "option splice-auto"; cmd=("${hap[@]}") ;;
        inproc) _proxy_json "$name" tcp "inproc:hello"; cmd=("${fs[@]}") ;;
        unix) _proxy_json "$name" tcp "unix:$BACKEND_SOCK"; cmd=("${fs[@]}") ;;
        tcp) _proxy_json "$name" tcp "127.0.0.1:$BACKEND_PORT"; cmd=("${fs[@]}") ;;
        *) die "unknown proxy '$name'" ;;
    esac
    PROXY_CMD="$(quote_cmd "${cmd[@]}")"
    "${cmd[@]}" >"$PROXY_WORK/$name.out" 2>&1 &
    PROXY_PID=$!
    own_pid "$PROXY_PID"
    wait_port "$PROXY_PORT" "$name" "$PROXY_PID"
}

# gb_read WRK_OUTPUT: GB (decimal) wrk read, from its "N requests in T, X MB read" line.
gb_read() {
    awk '/requests in/ { v = $(NF - 1); u = v; gsub(/[0-9.]/, "", u); gsub(/[A-Za-z]/, "", v);
         m = (u == "GB") ? 1073741824 : (u == "MB") ? 1048576 : (u == "KB") ? 1024 : 1; printf "%.4f\n", v * m / 1e9; exit }' "$1"
}

# --- the bench-proxy-*.sh scripts ----------------------------------------------------------------------------------
# parse_proxy_bench_options "$@": the options both scripts take (each script defines usage and the defaults).
parse_proxy_bench_options() {
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
}

# prepare_proxy_bench: the peers present, enough file descriptors, fastsock-proxy built.
prepare_proxy_bench() {
    require_cmd wrk wrk
    require_cmd nginx nginx-light
    require_cmd haproxy haproxy
    raise_nofile 20000 >/dev/null
    build_proxy
}
