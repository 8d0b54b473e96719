#!/usr/bin/env bash
# Keep-alive HTTPS through fastsock-proxy as perf/scenario-tls.sh runs it (JIT build, --cores SERVER_CPU, an nginx
# backend and wrk -t1 -c64 on CLIENT_CPU, an ECDSA P-256 certificate), then one of:
#   cpu     user and system CPU µs per request of the proxy (utime/stime from /proc/PID/stat over wrk's requests)
#   perf    the same, with `perf record -g` on the proxy (DOTNET_PerfMapEnabled=1 resolves JIT frames); perf.data in OUT
#   strace  syscalls per request: `strace -c -f` on the proxy over the run (slows the proxy; counts, not timings)
#   windows no warm-up: WINDOWS (default 8) consecutive runs of SECONDS from the start, CPU µs/request in each
#   probes  calls per request into OpenSSL (SSL_read/SSL_write/BIO_read/BIO_write in libssl) with uprobes + perf stat
# SCHEME=http drops TLS from the frontend (same proxy, same backend): the difference is what TLS costs per request.
# PROXY=haproxy runs HAProxy (as perf/scenario-tls.sh configures it) instead, for the same counts beside it.
# Usage: perf/tls-records/profile-keepalive.sh MODE [SECONDS] [OUT_DIR]. Warm-up: WARMUP s (default 12) of the same load.
# Build first: dotnet build Fastsock.sln -c Release (PROXY_DLL=path runs another build of fastsock-proxy, e.g. a before/after pair). Needs root for perf/strace/uprobes.
set -euo pipefail
mode="${1:-cpu}" secs="${2:-10}" out="${3:-$(mktemp -d /tmp/tls-profile.XXXXXX)}"
SERVER_CPU="${SERVER_CPU:-0}" CLIENT_CPU="${CLIENT_CPU:-1}" WARMUP="${WARMUP:-12}" CONNECTIONS="${CONNECTIONS:-64}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
source "$root/perf/lib-tls.sh"
dll="${PROXY_DLL:-$root/src/Samples/Proxy/bin/Release/net10.0/fastsock-proxy.dll}"
[[ -f "$dll" ]] || { echo "profile-keepalive: $dll missing; build with dotnet build Fastsock.sln -c Release" >&2; exit 2; }
mkdir -p "$out/www" "$out/tmp"
pids=()
cleanup() { local p; for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

free_port() { # a port below the ephemeral range that no socket uses, from a random start
    local p=$((12000 + RANDOM % 18000))
    while ss -Htan "sport = :$p" | grep -q .; do p=$((p + 1)); done
    echo "$p"
}
backend_port="$(free_port)"; tls_port="$(free_port)"
[[ "$tls_port" != "$backend_port" ]] || tls_port=$((tls_port + 1))

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 7 -subj /CN=localhost \
    -keyout "$out/ecdsa.key" -out "$out/ecdsa.crt" >/dev/null 2>&1
cat >"$out/backend.conf" <<CONF
daemon off; master_process off; worker_processes 1; pid $out/nginx.pid; error_log $out/error.log warn;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  client_body_temp_path $out/tmp; proxy_temp_path $out/tmp; fastcgi_temp_path $out/tmp; uwsgi_temp_path $out/tmp; scgi_temp_path $out/tmp;
  server { listen 127.0.0.1:$backend_port backlog=4096; location = /plaintext { default_type text/plain; return 200 "Hello, World!"; } } }
CONF
taskset -c "$CLIENT_CPU" nginx -p "$out" -c "$out/backend.conf" >"$out/backend.out" 2>&1 &
backend=$!
pids+=("$backend")
for ((i = 0; i < 100; i++)); do
    curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$backend_port/plaintext" && break
    kill -0 "$backend" 2>/dev/null || { echo "profile-keepalive: the nginx backend did not start on $backend_port:" >&2; cat "$out/backend.out" "$out/error.log" >&2; exit 1; }
    sleep 0.1
done
scheme="${SCHEME:-https}" tls_json="" tls_bind=""
if [[ "$scheme" == https ]]; then
    tls_json=', "tls": { "certificates": [ { "cert": "'"$out"'/ecdsa.crt", "key": "'"$out"'/ecdsa.key" } ] }'
    tls_bind=" ssl crt $out/ecdsa.pem alpn http/1.1"
fi
cat >"$out/proxy.json" <<JSON
{ "frontends": [ { "name": "bench", "bind": ["127.0.0.1:$tls_port"], "mode": "http", "backend": "b"$tls_json } ],
  "backends": [ { "name": "b", "servers": [ { "address": "127.0.0.1:$backend_port" } ] } ] }
JSON
if [[ "${PROXY:-fastsock}" == haproxy ]]; then
    cat "$out/ecdsa.crt" "$out/ecdsa.key" >"$out/ecdsa.pem"
    tls_haproxy_cfg "$out/haproxy.cfg" "127.0.0.1:$tls_port$tls_bind" "127.0.0.1:$backend_port"
    taskset -c "$SERVER_CPU" haproxy -db -f "$out/haproxy.cfg" >"$out/proxy.out" 2>&1 &
else
    # W^X off: JIT code then sits in anonymous memory that perf maps through /tmp/perf-PID.map (else "memfd:doublemapper").
    DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 taskset -c "$SERVER_CPU" dotnet "$dll" --config "$out/proxy.json" --cores "$SERVER_CPU" --log-level Warning >"$out/proxy.out" 2>&1 &
fi
proxy=$!
pids+=("$proxy")
for ((i = 0; i < 300; i++)); do
    curl -sk -o /dev/null --max-time 1 "$scheme://127.0.0.1:$tls_port/plaintext" && break
    kill -0 "$proxy" || { cat "$out/proxy.out" >&2; exit 1; }
    sleep 0.1
done
url="$scheme://127.0.0.1:$tls_port/plaintext"
wrk_run() { taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"$1s" --timeout 5s "$url"; }
ticks() { awk '{ print $14, $15 }' "/proc/$proxy/stat"; }
# The worker threads' own user+system ticks (fastsock-w*; HAProxy's one thread is the process), the rest being the
# runtime's threads: tiered JIT compilation, GC, timers.
worker_ticks() {
    local t
    for t in /proc/"$proxy"/task/*; do
        if [[ "${PROXY:-fastsock}" == haproxy || "$(cat "$t/comm" 2>/dev/null)" == fastsock-w* ]]; then
            awk '{ print $14 + $15 }' "$t/stat" 2>/dev/null || true
        fi
    done | awk '{ s += $1 } END { print s + 0 }'
}
requests() { awk '/requests in/ { print $1 }' "$1"; }

if [[ "$mode" == windows ]]; then
    # No warm-up: consecutive windows from the proxy's start show how long its JIT takes to settle under this load.
    hz="$(getconf CLK_TCK)" at=0
    for ((w = 1; w <= ${WINDOWS:-8}; w++)); do
        read -r u0 s0 < <(ticks)
        w0="$(worker_ticks)"
        wrk_run "$secs" >"$out/window-$w.txt"
        read -r u1 s1 < <(ticks)
        w1="$(worker_ticks)"
        n="$(requests "$out/window-$w.txt")"
        awk -v n="$n" -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v w=$((w1 - w0)) -v hz="$hz" -v a="$at" -v b=$((at + secs)) 'BEGIN {
            printf "window %3d-%3d s after start: %7d requests, user %6.2f + sys %6.2f CPU us/request; worker thread %6.2f, other threads %6.2f\n",
                a, b, n, u * 1e6 / hz / n, s * 1e6 / hz / n, w * 1e6 / hz / n, (u + s - w) * 1e6 / hz / n }'
        at=$((at + secs))
    done
    exit 0
fi
wrk_run "$WARMUP" >"$out/warmup.txt"
read -r u0 s0 < <(ticks)
w0="$(worker_ticks)"
case "$mode" in
    cpu) wrk_run "$secs" >"$out/wrk.txt" ;;
    perf)
        perf record -g -F 2999 -p "$proxy" -o "$out/perf.data" -- sleep "$((secs + 1))" >"$out/perf-record.out" 2>&1 &
        rec=$!
        sleep 0.5
        wrk_run "$secs" >"$out/wrk.txt"
        wait "$rec" ;;
    strace)
        strace -c -f -p "$proxy" -o "$out/strace.txt" &
        st=$!
        sleep 1
        wrk_run "$secs" >"$out/wrk.txt"
        kill -INT "$st"; wait "$st" || true ;;
    probes)
        lib=/usr/lib/x86_64-linux-gnu/libssl.so.3
        events=()
        for f in SSL_read SSL_write SSL_read_ex SSL_write_ex; do
            perf probe -q -d "probe_libssl:$f" >/dev/null 2>&1 || true
            perf probe -q -x "$lib" "$f" >/dev/null 2>&1 && events+=(-e "probe_libssl:$f")
        done
        crypto=/usr/lib/x86_64-linux-gnu/libcrypto.so.3
        for f in BIO_read BIO_write EVP_CipherUpdate EVP_EncryptUpdate EVP_DecryptUpdate; do
            perf probe -q -d "probe_libcrypto:$f" >/dev/null 2>&1 || true
            perf probe -q -x "$crypto" "$f" >/dev/null 2>&1 && events+=(-e "probe_libcrypto:$f")
        done
        # .NET's own shim between SslStream and OpenSSL (absent under HAProxy): one call per SslStream record operation.
        shim="$(find "$(dirname "$(readlink -f "$(command -v dotnet)")")/shared" -name libSystem.Security.Cryptography.Native.OpenSsl.so 2>/dev/null | sort | tail -1)"
        for f in CryptoNative_SslRead CryptoNative_SslWrite CryptoNative_BioRead CryptoNative_BioWrite CryptoNative_BioCtrlPending CryptoNative_SslGetError; do
            [[ -n "$shim" ]] || break
            perf probe -q -d "probe_libSystem:$f" >/dev/null 2>&1 || true
            perf probe -q -x "$shim" "$f" >/dev/null 2>&1 && events+=(-e "probe_libSystem:$f")
        done
        for f in ERR_clear_error; do
            perf probe -q -d "probe_libcrypto:$f" >/dev/null 2>&1 || true
            perf probe -q -x "$crypto" "$f" >/dev/null 2>&1 && events+=(-e "probe_libcrypto:$f")
        done
        perf stat "${events[@]}" -e 'syscalls:sys_enter_*' -p "$proxy" -o "$out/perf-stat.txt" -- sleep "$((secs + 1))" >/dev/null 2>&1 &
        rec=$!
        sleep 0.5
        wrk_run "$secs" >"$out/wrk.txt"
        wait "$rec" || true
        perf probe -q -d 'probe_libssl:*' >/dev/null 2>&1 || true
        perf probe -q -d 'probe_libcrypto:*' >/dev/null 2>&1 || true
        perf probe -q -d 'probe_libSystem:*' >/dev/null 2>&1 || true
        awk -v n="$(requests "$out/wrk.txt")" '$1 ~ /^[0-9,]+$/ && $2 ~ /probe_|syscalls:/ { gsub(",", "", $1); if ($1 > 0) printf "%-45s %10d  %6.2f per request\n", $2, $1, $1 / n }' "$out/perf-stat.txt" ;;
    *) echo "profile-keepalive: unknown mode '$mode' (cpu, perf, strace, probes)" >&2; exit 2 ;;
esac
read -r u1 s1 < <(ticks)
w1="$(worker_ticks)"
n="$(requests "$out/wrk.txt")"
if grep -q "Non-2xx" "$out/wrk.txt"; then
    echo "profile-keepalive: wrk saw error responses, no figure from this run:" >&2; grep -E "Non-2xx|requests in" "$out/wrk.txt" >&2; exit 1
fi
hz="$(getconf CLK_TCK)"
awk -v n="$n" -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v w=$((w1 - w0)) -v hz="$hz" -v m="$mode" -v p="${PROXY:-fastsock} $scheme" -v o="$out" 'BEGIN {
    printf "%s %s: %d requests, user %.2f + sys %.2f = %.2f CPU us/request (proxy pid utime/stime; worker thread %.2f, other threads %.2f); files in %s\n",
        p, m, n, u * 1e6 / hz / n, s * 1e6 / hz / n, (u + s) * 1e6 / hz / n, w * 1e6 / hz / n, (u + s - w) * 1e6 / hz / n, o }'
echo "$n" >"$out/requests"
