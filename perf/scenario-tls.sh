# perf/run's tls scenario: TLS termination in front of one nginx backend, fastsock-proxy (JIT and Native AOT) vs
# HAProxy (`bind … ssl crt … alpn http/1.1`) vs nginx (a TLS-terminating proxy), the same certificates for all, the
# proxy on --server-cpu (one worker / thread), the clients and the backend on --client-cpu. Per round and proxy:
#   tls-keepalive        keep-alive HTTPS GET /plaintext, wrk -t1 -c64 (ECDSA P-256 certificate) after a 20 s warm-up:
#                        req/s, CPU µs/request
#   tls-handshake-ecdsa  full handshakes: openssl s_time -new -www /plaintext (ECDSA P-256)
#   tls-handshake-rsa    the same with an RSA-2048 certificate
#   tls-resumed          resumed handshakes: openssl s_time -reuse -www /plaintext (reading the response lets TLS 1.3
#                        tickets arrive, without which s_time -reuse never resumes under TLS 1.3)
# Handshake scenarios report handshakes/s and the proxy's CPU µs per handshake (/proc/PID/stat utime+stime).
# The server must be the bound, and a TLS client is not cheaper than a server: s_time pays about 1.5× the proxy's CPU
# per full ECDSA handshake, so on a 2-CPU machine no number of clients keeps the proxy's core busy (perf/results/tls.md
# §16). So for each measured handshake run the proxy is moved into a CFS bandwidth cgroup that lets it run
# --tls-quota % (default 25) of one CPU, and TLS_HANDSHAKE_CLIENTS s_time processes load it at once: every proxy then
# gets the same CPU, is throttled in its periods (throttled_periods > 0, busy_pct at the quota), and handshakes/s says
# what each does with that CPU. Its warm-up runs without the quota. --tls-quota 0 (or not root) measures the old way:
# one s_time client against the whole core, which measures the client as much as the server.
# Not wrk -H 'Connection: close': wrk ends a connection with SSL_clear, which keeps the session, so its next
# connection resumes it (fastsock-proxy counted 930 of about 1,000 wrk handshakes as resumed in a smoke run).
# Each run is checked: s_time's 'r' marks (client_reused) and fastsock-proxy's own resumed count (resumed_handshakes)
# must be 0 under -new and all of them under -reuse (the window opens after each s_time's first, full handshake).
# Sourced by perf/run, not run alone: it uses perf/run's wrk_measure, emit, emit_http, progress and own_pid.
# perf/alternate.sh sources it too, for start_tls_proxy, tls_certificates and the tls_s_time_* helpers.
# shellcheck shell=bash disable=SC2034  # TLS_SERVERS and the ports are read by perf/run
source "$PERF_DIR/lib-tls.sh" # HAProxy's TLS set-up, shared with perf/tls-records/profile-keepalive.sh

TLS_SERVERS=(fastsock-proxy haproxy nginx fastsock-proxy-aot)
TLS_MEASURES=4 # keepalive, handshake-ecdsa, handshake-rsa, resumed: steps per server per round
TLS_PORT=$((PORT_BASE + 30)) TLS_ADMIN_PORT=$((PORT_BASE + 31))
TLS_KEEPALIVE_CONNECTIONS=64
TLS_QUOTA="${TLS_QUOTA:-25}"  # % of one CPU each proxy gets in a measured handshake run (perf/run --tls-quota); 0 = none
TLS_HANDSHAKE_CLIENTS=16     # s_time processes at once under the quota (tls.md §16: 8 left the proxy idle at times)

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
        fastsock-proxy | fastsock-proxy-sslstream | fastsock-proxy-aot | fastsock-proxy-alt)
            # fastsock-proxy-sslstream: the same proxy on its SslStream engine (tls.engine), for the engines side by side.
            # fastsock-proxy-aot: the proxy published as Native AOT (what `dotnet publish` ships), OpenSSL engine.
            # fastsock-proxy-alt: another JIT build (ALT_PROXY_DLL=path/to/fastsock-proxy.dll), to compare two builds.
            local engine=openssl
            [[ "$name" == fastsock-proxy-sslstream ]] && engine=sslstream
            cat >"$d/$name-$kind.json" <<JSON
{ "admin": { "bind": "127.0.0.1:$TLS_ADMIN_PORT" },
  "frontends": [ { "name": "bench", "bind": ["127.0.0.1:$TLS_PORT"], "mode": "http", "backend": "b",
                   "tls": { "engine": "$engine", "certificates": [ { "cert": "$d/$kind.crt", "key": "$d/$kind.key" } ] } } ],
  "backends": [ { "name": "b", "servers": [ { "address": "127.0.0.1:$BACKEND_PORT" } ] } ] }
JSON
            if [[ "$name" == fastsock-proxy-aot ]]; then
                build_proxy_aot
                cmd=(taskset -c "$SERVER_CPU" "$PROXY_AOT_BIN")
            elif [[ "$name" == fastsock-proxy-alt ]]; then
                [[ -f "${ALT_PROXY_DLL:-}" ]] || die "tls/fastsock-proxy-alt: set ALT_PROXY_DLL to another build's fastsock-proxy.dll"
                cmd=(taskset -c "$SERVER_CPU" dotnet "$ALT_PROXY_DLL")
            else
                cmd=(taskset -c "$SERVER_CPU" dotnet "$PROXY_DLL")
            fi
            cmd+=(--config "$d/$name-$kind.json" --cores "$SERVER_CPU" --log-level Warning) ;;
        haproxy)
            tls_haproxy_cfg "$d/haproxy-$kind.cfg" "127.0.0.1:$TLS_PORT ssl crt $d/$kind.pem alpn http/1.1" "127.0.0.1:$BACKEND_PORT"
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
    [[ "$1" == fastsock-proxy* ]] || return 0
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

# tls_keepalive SERVER RUN: keep-alive HTTPS, one wrk run on the freshly started proxy after TLS_KEEPALIVE_WARMUP s
# of the same load (--rewarm when that is shorter, as under --quick). A fresh fastsock-proxy JIT-compiles its request
# path for 15-20 s under this load (tiered compilation with PGO; perf/tls-records/profile-keepalive.sh windows): after
# the 3 s --rewarm alone it spent 30-58 user µs per request against 10-11 once settled. Every proxy gets the same warm-up.
TLS_KEEPALIVE_WARMUP=20
tls_keepalive() {
    local srv="$1" run="$2" warm="$TLS_KEEPALIVE_WARMUP"
    ((REWARM >= 3)) || warm="$REWARM"
    W_PRE=(taskset -c "$CLIENT_CPU")
    W_ARGS=(-t1 -c"$TLS_KEEPALIVE_CONNECTIONS")
    W_URL="https://127.0.0.1:$TLS_PORT/plaintext"
    M_WARMUP="$warm" wrk_measure tls-keepalive "$srv" "$run" "$PROXY_PID"
    ((run > 1)) || emit_cmd tls-keepalive "$srv" "$PROXY_CMD ; $M_CMD"
    emit_http tls-keepalive "$srv" "$run"
}

# tls_s_time_start PORT -new|-reuse CLIENTS SECONDS OUTFILE: starts CLIENTS openssl s_time processes on the client CPU
# for SECONDS s, each a handshake and GET /plaintext per connection, one connection at a time, writing OUTFILE.1 ...
# (TLS_S_TIME_FILES; their pids in TLS_S_TIME_PIDS); TLS_S_TIME_CMD is the command line of one.
tls_s_time_start() {
    local port="$1" mode="$2" clients="$3" secs="$4" out="$5" k
    local -a cmd=(taskset -c "$CLIENT_CPU" openssl s_time -connect "127.0.0.1:$port" "$mode" -www /plaintext -time "$secs")
    TLS_S_TIME_CMD="$(quote_cmd "${cmd[@]}")" TLS_S_TIME_PIDS=() TLS_S_TIME_FILES=()
    for ((k = 1; k <= clients; k++)); do
        "${cmd[@]}" >"$out.$k" 2>&1 &
        TLS_S_TIME_PIDS+=("$!") TLS_S_TIME_FILES+=("$out.$k")
        own_pid "$!"
    done
}

# tls_s_time_progress: connections completed so far by the processes of tls_s_time_start, and how many of them resumed
# their session. s_time writes one character per connection as it completes (flushed), 'r' when the session was
# reused and '*' otherwise, on a line of its own, so its output can be read while it grows.
tls_s_time_progress() {
    grep -hE '^[*r]+$' "${TLS_S_TIME_FILES[@]}" 2>/dev/null | awk '{ n += length($0); r += gsub(/r/, "") } END { print n + 0, r + 0 }'
}

# tls_s_time_stop OUTFILE: stops the processes of tls_s_time_start and puts their outputs one after the other in
# OUTFILE; returns 1 (after writing it) when one of them had already ended, i.e. the window outlasted its -time.
tls_s_time_stop() {
    local out="$1" k rc=0 f
    for k in "${!TLS_S_TIME_PIDS[@]}"; do
        kill -0 "${TLS_S_TIME_PIDS[$k]}" 2>/dev/null || rc=1
        kill -TERM "${TLS_S_TIME_PIDS[$k]}" 2>/dev/null || true
        wait "${TLS_S_TIME_PIDS[$k]}" 2>/dev/null || true
        forget_pid "${TLS_S_TIME_PIDS[$k]}"
    done
    for f in "${TLS_S_TIME_FILES[@]}"; do cat "$f"; rm -f "$f"; done >"$out"
    return "$rc"
}

# tls_s_time SCENARIO SERVER RUN -new|-reuse: TLS_HANDSHAKE_CLIENTS s_time processes (one without a quota) load the
# proxy without pause: a warm-up without the quota, then the proxy goes under the quota, 1 s later the measured window
# of --duration s opens, and the connections made inside it are counted from s_time's progress characters, along
# with the proxy's CPU ticks and throttled periods over the same window. Counting after the processes end instead
# (their "N connections" lines over the wall time around them) took in their start and their last, throttled
# connections: a 3 s run lasted 4.0-4.5 s, by an amount that differed from proxy to proxy. -new makes every handshake a
# full one; -reuse resumes each process's first session (reading the response lets TLS 1.3 tickets arrive first).
tls_s_time() {
    local sc="$1" srv="$2" run="$3" mode="$4" out="$RAW/$1-$2-$3.txt" r0 r1 u0 s0 u1 s1 t0 t1 q0 q1 n0 n1 c0 c1
    local resumed="" clients=1 quota_text="" secs n reused
    ((TLS_QUOTA == 0)) || clients="$TLS_HANDSHAKE_CLIENTS" quota_text="cgroup cpu quota $TLS_QUOTA % of CPU $SERVER_CPU (10 ms periods) on the proxy; "
    # Full handshakes run code the keep-alive warm-up barely touched (and the RSA proxy has just started): they get the
    # full --warmup; resumption follows a full-handshake run and gets --rewarm.
    local warm="$REWARM"
    [[ "$mode" == -new ]] && warm="$WARMUP"
    tls_s_time_start "$TLS_PORT" "$mode" "$clients" $((warm + 1 + DURATION + 5)) "$out"
    sleep "$warm"
    ((TLS_QUOTA == 0)) || quota_move "$PROXY_PID" "$TLS_QUOTA_GROUP"
    sleep 1
    r0="$(tls_resumed_count "$srv")"
    read -r n0 c0 < <(tls_s_time_progress)
    read -r u0 s0 < <(user_sys_ticks "$PROXY_PID")
    q0="$(throttled_periods "$PROXY_PID")"
    t0="$(date +%s.%N)"
    sleep "$DURATION"
    t1="$(date +%s.%N)"
    read -r u1 s1 < <(user_sys_ticks "$PROXY_PID")
    q1="$(throttled_periods "$PROXY_PID")"
    read -r n1 c1 < <(tls_s_time_progress)
    r1="$(tls_resumed_count "$srv")"
    ((TLS_QUOTA == 0)) || quota_move "$PROXY_PID" ""
    tls_s_time_stop "$out" || { tail -5 "$out" >&2; die "$sc/$srv: an openssl s_time ended before the measured window did ($out)"; }
    [[ -z "$r0" ]] || resumed=$((r1 - r0))
    secs="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')"
    n=$((n1 - n0)) reused=$((c1 - c0))
    ((n > 0)) || { tail -5 "$out" >&2; die "$sc/$srv: no connection completed in the measured window ($out)"; }
    if [[ "$mode" == -reuse ]]; then
        ((reused == n)) || log "$sc/$srv: only $reused of $n connections resumed their session (s_time's 'r' marks)"
    else
        ((reused == 0)) || log "$sc/$srv: $reused of $n connections resumed a session under -new"
    fi
    emit "$sc" "$srv" "$run" client_reused "$reused"
    emit "$sc" "$srv" "$run" busy_pct "$(awk -v d=$((u1 - u0 + s1 - s0)) -v hz="$CLK_TCK" -v s="$secs" 'BEGIN { printf "%.1f", d * 100 / hz / s }')"
    emit "$sc" "$srv" "$run" throttled_periods $((q1 - q0))
    ((run > 1)) || emit_cmd "$sc" "$srv" "$PROXY_CMD ; $quota_text$clients × $TLS_S_TIME_CMD (${warm} s warm-up without the quota, 1 s under it, then ${DURATION} s counted)"
    tls_emit_handshakes "$sc" "$srv" "$run" "$n" "$secs" \
        "$(awk -v d=$((u1 - u0 + s1 - s0)) -v hz="$CLK_TCK" 'BEGIN { printf "%.4f", d / hz }')" \
        "$(awk -v d=$((u1 - u0)) -v hz="$CLK_TCK" 'BEGIN { printf "%.4f", d / hz }')" \
        "$(awk -v d=$((s1 - s0)) -v hz="$CLK_TCK" 'BEGIN { printf "%.4f", d / hz }')" "$resumed"
}

scenario_tls() {
    local run srv
    command -v openssl >/dev/null 2>&1 || die "tls: openssl not found (apt-get install -y openssl)"
    proxy_env "$RUN_DIR/tls" "$PROXY_BACKEND_PORT" "$TLS_PORT"
    tls_certificates "$PROXY_WORK"
    if ((TLS_QUOTA > 0 && IS_ROOT == 0)); then
        log "tls: not root, so no CPU quota: the handshake runs use one s_time client against the proxy's whole core, which measures the client as much as the proxy (perf/results/tls.md §16)"
        TLS_QUOTA=0
    fi
    meta tls_quota_pct "$TLS_QUOTA"
    meta tls_handshake_clients "$( ((TLS_QUOTA == 0)) && echo 1 || echo "$TLS_HANDSHAKE_CLIENTS")"
    ((TLS_QUOTA == 0)) || { quota_group tls-proxy "$TLS_QUOTA"; TLS_QUOTA_GROUP="$QUOTA_GROUP"; }
    start_backend
    for ((run = 1; run <= RUNS; run++)); do
        for srv in "${TLS_SERVERS[@]}"; do
            start_tls_proxy "$srv" ecdsa
            tls_keepalive "$srv" "$run"
            tls_s_time tls-handshake-ecdsa "$srv" "$run" -new
            tls_s_time tls-resumed "$srv" "$run" -reuse
            stop_pid "$PROXY_PID"
            start_tls_proxy "$srv" rsa
            tls_s_time tls-handshake-rsa "$srv" "$run" -new
            stop_pid "$PROXY_PID"
        done
    done
    stop_pid "$BACKEND_PID"
}
