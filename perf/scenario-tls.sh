# perf/run's tls scenario: TLS termination in front of one nginx backend, fastsock-proxy vs HAProxy
# (`bind … ssl crt … alpn http/1.1`) vs nginx (a TLS-terminating proxy), the same certificates for all, the proxy on
# --server-cpu (one worker / thread), the clients and the backend on --client-cpu. Per round and proxy:
#   tls-keepalive        keep-alive HTTPS GET /plaintext, wrk -t1 -c64 (ECDSA P-256 certificate): req/s, CPU µs/request
#   tls-handshake-ecdsa  a full handshake per request: wrk -t1 -c32 -H 'Connection: close' (ECDSA P-256)
#   tls-handshake-rsa    the same with an RSA-2048 certificate
#   tls-resumed          resumed handshakes: openssl s_time -reuse -www /plaintext (one client; a handshake and one
#                        request per connection, like the wrk runs; reading the response also lets TLS 1.3 tickets
#                        arrive, without which s_time -reuse never resumes under TLS 1.3)
# Handshake scenarios report handshakes/s and the proxy's CPU µs per handshake (/proc/PID/stat utime+stime).
# wrk offers no session to resume (it never calls SSL_set_session), so every connection is a full handshake; the
# fastsock-proxy runs check it: its admin counter of resumed handshakes is read around each run and emitted
# (resumed_handshakes: 0 for wrk, all of them for s_time -reuse).
# Sourced by perf/run, not run alone: it uses perf/run's wrk_measure, emit, emit_http, progress and own_pid.
# shellcheck shell=bash disable=SC2034  # TLS_SERVERS and the ports are read by perf/run

TLS_SERVERS=(fastsock-proxy haproxy nginx)
TLS_MEASURES=4 # keepalive, handshake-ecdsa, handshake-rsa, resumed: steps per server per round
TLS_PORT=$((PORT_BASE + 30)) TLS_ADMIN_PORT=$((PORT_BASE + 31))
TLS_KEEPALIVE_CONNECTIONS=64
TLS_CLOSE_CONNECTIONS=32

# tls_certificates DIR: ecdsa.{crt,key,pem} and rsa.{crt,key,pem} (pem: certificate then key, as HAProxy reads them).
tls_certificates() {
    local d="$1" kind
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 7 -subj /CN=localhost \
        -keyout "$d/ecdsa.key" -out "$d/ecdsa.crt" >/dev/null 2>&1 || die "tls: openssl could not make the ECDSA certificate"
    openssl req -x509 -newkey rsa:2048 -nodes -days 7 -subj /CN=localhost \
        -keyout "$d/rsa.key" -out "$d/rsa.crt" >/dev/null 2>&1 || die "tls: openssl could not make the RSA certificate"
    for kind in ecdsa rsa; do cat "$d/$kind.crt" "$d/$kind.key" >"$d/$kind.pem"; done
}

# start_tls_proxy NAME CERT (ecdsa|rsa): the proxy pinned to SERVER_CPU on TLS_PORT; sets PROXY_PID and PROXY_CMD.
start_tls_proxy() {
    local name="$1" kind="$2" d="$PROXY_WORK" i
    local -a cmd
    case "$name" in
        fastsock-proxy)
            cat >"$d/fastsock-$kind.json" <<JSON
{ "admin": { "bind": "127.0.0.1:$TLS_ADMIN_PORT" },
  "frontends": [ { "name": "bench", "bind": ["127.0.0.1:$TLS_PORT"], "mode": "http", "backend": "b",
                   "tls": { "certificates": [ { "cert": "$d/$kind.crt", "key": "$d/$kind.key" } ] } } ],
  "backends": [ { "name": "b", "servers": [ { "address": "127.0.0.1:$BACKEND_PORT" } ] } ] }
JSON
            cmd=(taskset -c "$SERVER_CPU" dotnet "$PROXY_DLL" --config "$d/fastsock-$kind.json" --cores "$SERVER_CPU" --log-level Warning) ;;
        haproxy)
            cat >"$d/haproxy-$kind.cfg" <<CFG
global
  nbthread 1
  maxconn ${HAPROXY_MAXCONN:-4000}
  ssl-default-bind-options ssl-min-ver TLSv1.2
defaults
  mode http
  option http-keep-alive
  http-reuse always
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend f
  bind 127.0.0.1:$TLS_PORT ssl crt $d/$kind.pem alpn http/1.1
  default_backend b
backend b
  server s1 127.0.0.1:$BACKEND_PORT
CFG
            cmd=(taskset -c "$SERVER_CPU" haproxy -db -f "$d/haproxy-$kind.cfg") ;;
        nginx)
            mkdir -p "$d/px-$kind"
            cat >"$d/px-$kind/nginx.conf" <<CONF
daemon off; master_process off; worker_processes 1; $(_nginx_common "$d/px-$kind")
http { access_log off; keepalive_requests 1000000; $(_temp_paths "$d")
  upstream b { server 127.0.0.1:$BACKEND_PORT; keepalive ${HAPROXY_MAXCONN:-4000}; keepalive_requests 1000000; }
  ssl_session_cache shared:TLS:10m; ssl_session_tickets on; ssl_protocols TLSv1.2 TLSv1.3;
  server { listen 127.0.0.1:$TLS_PORT ssl; ssl_certificate $d/$kind.crt; ssl_certificate_key $d/$kind.key;
    location / { proxy_pass http://b; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
CONF
            cmd=(taskset -c "$SERVER_CPU" nginx -p "$d/px-$kind" -c "$d/px-$kind/nginx.conf") ;;
        *) die "tls: unknown proxy '$name'" ;;
    esac
    PROXY_CMD="$(quote_cmd "${cmd[@]}")"
    "${cmd[@]}" >"$d/$name-$kind.out" 2>&1 &
    PROXY_PID=$!
    own_pid "$PROXY_PID"
    for ((i = 0; i < 300; i++)); do
        curl -sk -o /dev/null --max-time 1 "https://127.0.0.1:$TLS_PORT/plaintext" && return 0
        kill -0 "$PROXY_PID" 2>/dev/null || break
        sleep 0.1
    done
    tail -5 "$d/$name-$kind.out" >&2
    die "tls/$name: nothing answers on https://127.0.0.1:$TLS_PORT ($d/$name-$kind.out)"
}

# tls_resumed_count: fastsock-proxy's resumed handshakes so far (admin JSON, all workers); empty for the others.
tls_resumed_count() {
    [[ "$1" == fastsock-proxy ]] || return 0
    curl -sf --max-time 5 "http://127.0.0.1:$TLS_ADMIN_PORT/stats?format=json" |
        grep -o '"resumed":[0-9]*' | awk -F: '{ s += $2 } END { print s + 0 }'
}

# tls_emit_handshakes SCENARIO SERVER RUN HANDSHAKES SECONDS CPU_S USER_S SYS_S RESUMED: handshake figures + progress.
tls_emit_handshakes() {
    local sc="$1" srv="$2" run="$3" n="$4" secs="$5" rate cpu user sys more=""
    rate="$(awk -v n="$n" -v s="$secs" 'BEGIN { printf "%.1f", (s > 0 ? n / s : 0) }')"
    cpu="$(awk -v c="$6" -v n="$n" 'BEGIN { printf "%.3f", (n > 0 ? c * 1e6 / n : 0) }')"
    user="$(awk -v c="$7" -v n="$n" 'BEGIN { printf "%.3f", (n > 0 ? c * 1e6 / n : 0) }')"
    sys="$(awk -v c="$8" -v n="$n" 'BEGIN { printf "%.3f", (n > 0 ? c * 1e6 / n : 0) }')"
    emit "$sc" "$srv" "$run" handshakes_per_s "$rate"
    emit "$sc" "$srv" "$run" cpu_us_per_handshake "$cpu"
    emit "$sc" "$srv" "$run" cpu_user_us_per_handshake "$user"
    emit "$sc" "$srv" "$run" cpu_sys_us_per_handshake "$sys"
    emit "$sc" "$srv" "$run" handshakes "$n"
    if [[ -n "$9" ]]; then
        emit "$sc" "$srv" "$run" resumed_handshakes "$9"
        more=", $9 resumed (proxy's own count)"
    fi
    progress "$sc run $run/$RUNS: $srv … $(thousands "$rate") handshakes/s, $cpu CPU µs/handshake ($user user + $sys sys)$more"
}

# tls_wrk SCENARIO SERVER RUN CONNECTIONS [CLOSE]: one wrk run (after the --rewarm warm-up) on the running proxy.
# The resumed count spans the warm-up too: with wrk it must stay 0.
tls_wrk() {
    local sc="$1" srv="$2" run="$3" r0 r1 resumed=""
    W_PRE=(taskset -c "$CLIENT_CPU")
    W_ARGS=(-t1 -c"$4")
    [[ -z "${5:-}" ]] || W_ARGS+=(-H 'Connection: close')
    W_URL="https://127.0.0.1:$TLS_PORT/plaintext"
    r0="$(tls_resumed_count "$srv")"
    wrk_measure "$sc" "$srv" "$run" "$PROXY_PID"
    r1="$(tls_resumed_count "$srv")"
    [[ -z "$r0" ]] || resumed=$((r1 - r0))
    ((run > 1)) || emit_cmd "$sc" "$srv" "$PROXY_CMD ; $M_CMD"
    if [[ -z "${5:-}" ]]; then
        emit_http "$sc" "$srv" "$run"
    else
        # One request per connection: requests are handshakes (wrk's errors would show a refused one).
        emit "$sc" "$srv" "$run" errors "$M_ERR"
        tls_emit_handshakes "$sc" "$srv" "$run" "$M_REQ" "$DURATION" "$M_CPU_S" "$M_USER_S" "$M_SYS_S" "$resumed"
    fi
}

# tls_resumed SERVER RUN: openssl s_time -reuse for --duration s on the client CPU (after a --rewarm s one).
tls_resumed() {
    local srv="$1" run="$2" out="$RAW/tls-resumed-$1-$2.txt" r0 r1 u0 s0 u1 s1 t0 t1 n reused secs resumed=""
    local -a cmd=(taskset -c "$CLIENT_CPU" openssl s_time -connect "127.0.0.1:$TLS_PORT" -reuse -www /plaintext -time "$DURATION")
    if ((REWARM > 0)); then
        run_waited taskset -c "$CLIENT_CPU" openssl s_time -connect "127.0.0.1:$TLS_PORT" -reuse -www /plaintext -time "$REWARM" \
            >"$RAW/tls-resumed-$srv-$run-warmup.txt" 2>&1 || true
    fi
    r0="$(tls_resumed_count "$srv")"
    read -r u0 s0 < <(user_sys_ticks "$PROXY_PID")
    t0="$(date +%s.%N)"
    run_waited "${cmd[@]}" >"$out" 2>&1 || { tail -5 "$out" >&2; die "tls-resumed/$srv: openssl s_time failed"; }
    t1="$(date +%s.%N)"
    read -r u1 s1 < <(user_sys_ticks "$PROXY_PID")
    r1="$(tls_resumed_count "$srv")"
    [[ -z "$r0" ]] || resumed=$((r1 - r0))
    # s_time's own "in N real seconds" is whole seconds: the wall time around it is finer. It prints one character
    # per connection, 'r' when the session was reused: only those count as resumed handshakes.
    secs="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')"
    n="$(awk '/connections in [0-9.]+ real seconds/ { n = $1 } END { print n + 0 }' "$out")"
    reused="$(sed -n '/^starting/,/connections in/{/^starting/d;/connections in/d;p;}' "$out" | tr -cd 'r' | wc -c)"
    [[ "$n" =~ ^[0-9]+$ && "$n" -gt 0 ]] || { tail -5 "$out" >&2; die "tls-resumed/$srv: no connection count from s_time ($out)"; }
    ((reused * 10 >= n * 9)) || log "tls-resumed/$srv: only $reused of $n connections resumed their session (s_time's 'r' marks)"
    emit tls-resumed "$srv" "$run" client_reused "$reused"
    ((run > 1)) || emit_cmd tls-resumed "$srv" "$PROXY_CMD ; $(quote_cmd "${cmd[@]}")"
    tls_emit_handshakes tls-resumed "$srv" "$run" "$n" "$secs" \
        "$(awk -v d=$((u1 - u0 + s1 - s0)) -v hz="$CLK_TCK" 'BEGIN { printf "%.4f", d / hz }')" \
        "$(awk -v d=$((u1 - u0)) -v hz="$CLK_TCK" 'BEGIN { printf "%.4f", d / hz }')" \
        "$(awk -v d=$((s1 - s0)) -v hz="$CLK_TCK" 'BEGIN { printf "%.4f", d / hz }')" "$resumed"
}

scenario_tls() {
    local run srv
    command -v openssl >/dev/null 2>&1 || die "tls: openssl not found (apt-get install -y openssl)"
    proxy_env "$RUN_DIR/tls" "$PROXY_BACKEND_PORT" "$TLS_PORT"
    tls_certificates "$PROXY_WORK"
    start_backend
    for ((run = 1; run <= RUNS; run++)); do
        for srv in "${TLS_SERVERS[@]}"; do
            start_tls_proxy "$srv" ecdsa
            tls_wrk tls-keepalive "$srv" "$run" "$TLS_KEEPALIVE_CONNECTIONS"
            tls_wrk tls-handshake-ecdsa "$srv" "$run" "$TLS_CLOSE_CONNECTIONS" close
            tls_resumed "$srv" "$run"
            stop_pid "$PROXY_PID"
            start_tls_proxy "$srv" rsa
            tls_wrk tls-handshake-rsa "$srv" "$run" "$TLS_CLOSE_CONNECTIONS" close
            stop_pid "$PROXY_PID"
        done
    done
    stop_pid "$BACKEND_PID"
}
