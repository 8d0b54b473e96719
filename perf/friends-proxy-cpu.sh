#!/usr/bin/env bash
# perf/friends-proxy-cpu.sh: fastsock-proxy's CPU per request (http mode, nginx backend) with TCP friends on and off,
# and where it goes. Root only. In a child cgroup v2 of its own: the nginx backend and wrk on CLIENT_CPU (default 1),
# the proxy on SERVER_CPU (default 0), wrk -t1 -cCLIENTS keep-alive. Per variant and round: a fresh proxy, WARMUP s of
# load (default 12: tiered compilation and PGO are done by then), then MEASURE s with the proxy's utime and stime read
# from /proc/PID/stat around it (robust on a busy machine, unlike req/s). Then, optional and under the same load:
#   COUNT_S=S   syscalls by kind for S s (perf stat on the syscall tracepoints: nearly free, unlike strace), and the
#               average return of recvfrom and epoll_wait (bytes per read, events per wake) from a perf record of
#               their exit tracepoints; all divided by the requests wrk completed in that window.
#   FADE_S=S    after the rounds' figures, per variant: wrk on a 16 KiB response for S s, then how many of the bytes the
#               backend sent the proxy came through TCP (ss: tcpi_bytes_received of the proxy's backend sockets) rather
#               than by redirect: with the budget alone, each pooled backend connection falls back to TCP after 4 MiB.
#   FRIENDS_PROXY_DLL=PATH  another build of fastsock-proxy.dll (e.g. main's, for a before/after).
#   PROFILE_S=S perf record -g of the proxy for S s (DOTNET_PerfMapEnabled=1, and W^X off so that perf can name
#               managed frames), reports by DSO and by symbol in perf/.work/friends-proxy-cpu.
# Usage: [CLIENTS=64] [ROUNDS=2] [WARMUP=12] [MEASURE=6] [COUNT_S=0] [PROFILE_S=0] [FADE_S=0] [VARIANTS="friends off"] perf/friends-proxy-cpu.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$PERF_DIR/lib-proxy.sh"
source "$PERF_DIR/lib-friends.sh"

[[ "$(id -u)" == 0 ]] || { echo "perf/friends-proxy-cpu.sh: skipped (needs root: BPF programs and a child cgroup v2)"; exit 0; }
require_cmd nginx nginx-light
require_cmd wrk wrk
PROXY_DLL="${FRIENDS_PROXY_DLL:-$PROXY_DLL}"
[[ -f "$PROXY_DLL" ]] || build_proxy
CLIENTS="${CLIENTS:-64}" ROUNDS="${ROUNDS:-2}" WARMUP="${WARMUP:-12}" MEASURE="${MEASURE:-6}"
COUNT_S="${COUNT_S:-0}" PROFILE_S="${PROFILE_S:-0}" FADE_S="${FADE_S:-0}" VARIANTS="${VARIANTS:-friends off}"
((COUNT_S == 0 && PROFILE_S == 0)) || require_cmd perf linux-perf

friends_cgroup_enter friends-proxy-cpu

BASE="${PERF_FRIENDS_PORT_BASE:-18771}"
OUT="$WORK_DIR/friends-proxy-cpu"
mkdir -p "$OUT"
proxy_env "$OUT/run" "$BASE" "$((BASE + 1))"
head -c 16384 /dev/urandom >"$PROXY_WORK/www/16k"
CLIENT_CPU="${CLIENT_CPU:-1}" SERVER_CPU="${SERVER_CPU:-0}"
URL="http://127.0.0.1:$PROXY_PORT/plaintext"
start_backend
cat >"$PROXY_WORK/proxy.json" <<JSON
{ "admin": { "bind": "127.0.0.1:$((BASE + 2))" },
  "frontends": [ { "name": "bench", "bind": ["127.0.0.1:$PROXY_PORT"], "mode": "http", "backend": "b" } ],
  "backends": [ { "name": "b", "servers": [ { "address": "127.0.0.1:$BACKEND_PORT" } ] } ] }
JSON

load() { taskset -c "$CLIENT_CPU" wrk -t1 -c"$CLIENTS" -d"$1"s "$URL"; }
requests_of() { awk '/requests in/ { print $1; exit }' <<<"$1"; }
redirected() { curl -sf "http://127.0.0.1:$((BASE + 2))/stats?format=json" | tr ',{}' '\n\n\n' | awk -F: '/"bytesRedirected"/ { s += $2 } END { print s + 0 }' || true; }

# thread_ticks PID: utime+stime ticks of the worker threads, of the tiered-compilation thread and of all others.
thread_ticks() {
    local t comm stat w=0 j=0 o=0 v
    for t in /proc/"$1"/task/*; do
        comm="$(cat "$t/comm" 2>/dev/null)" stat="$(cat "$t/stat" 2>/dev/null)" || continue
        v="$(awk '{ print $12 + $13 }' <<<"${stat##*) }")"
        case "$comm" in
            fastsock-w*) w=$((w + v)) ;;
            ".NET Tiered Com"*) j=$((j + v)) ;;
            *) o=$((o + v)) ;;
        esac
    done
    echo "$w $j $o"
}

# count_syscalls PID VARIANT: syscalls by kind per request, bytes per recvfrom, events per epoll_wait.
count_syscalls() {
    local pid="$1" variant="$2" out n events=()
    local kinds=(recvfrom sendto writev read write epoll_wait epoll_pwait epoll_ctl futex)
    for k in "${kinds[@]}"; do events+=(-e "syscalls:sys_enter_$k"); done
    events+=(-e syscalls:sys_exit_recvfrom --filter 'ret == -11')
    perf stat -x, -o "$OUT/stat-$variant.txt" "${events[@]}" -p "$pid" -- sleep "$COUNT_S" &
    local stat_pid=$!
    out="$(load "$COUNT_S")"
    wait "$stat_pid"
    n="$(requests_of "$out")"
    awk -F, -v n="$n" -v v="$variant" 'NF > 3 && $1 ~ /^[0-9]+$/ {
        name = $3; sub(/^syscalls:sys_enter_/, "", name); sub(/^syscalls:sys_exit_recvfrom/, "recvfrom EAGAIN", name)
        printf "%s  %-16s %7.3f per request\n", v, name, $1 / n }' "$OUT/stat-$variant.txt"
    perf record -q -o "$OUT/ret-$variant.data" -e syscalls:sys_exit_recvfrom -e syscalls:sys_exit_epoll_wait -p "$pid" -- sleep 2 &
    local rec_pid=$!
    load 2 >/dev/null
    wait "$rec_pid" || true
    perf script -i "$OUT/ret-$variant.data" -F event,trace 2>/dev/null | awk -v v="$variant" '
        function hex(h,   i, x) { x = 0; for (i = 1; i <= length(h); i++) x = x * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1; return x }
        { h = $NF; sub(/^0x/, "", h); ret = length(h) == 16 ? hex(substr(h, 9)) - 2^32 : hex(h) }
        /sys_exit_recvfrom/ { r++; if (ret > 0) { rb += ret; rn++ } else if (ret == -11) ea++ }
        /sys_exit_epoll_wait/ { e++; if (ret > 0) ev += ret; else if (ret == 0) ez++ }
        END { printf "%s  recvfrom: %d calls, %.0f bytes per read that got data, %d EAGAIN; epoll_wait: %d calls, %.2f events per wake, %d returned 0\n",
            v, r, rn ? rb / rn : 0, ea, e, e ? ev / e : 0, ez }'
}

# fade VARIANT PID: FADE_S s of 16 KiB responses, the proxy's CPU per response, then the backend's bytes that reached
# the proxy through TCP.
fade() {
    local out n tcp u0 s0 u1 s1
    read -r u0 s0 < <(awk '{ print $14, $15 }' "/proc/$2/stat")
    out="$(taskset -c "$CLIENT_CPU" wrk -t1 -c"$CLIENTS" -d"$FADE_S"s "http://127.0.0.1:$PROXY_PORT/16k")"
    read -r u1 s1 < <(awk '{ print $14, $15 }' "/proc/$2/stat")
    n="$(requests_of "$out")"
    # ss leaves bytes_received out when it is 0: awk alone, so that no match is not a failure.
    tcp="$(ss -tniH state established "( dport = :$BACKEND_PORT )" | tr ' ' '\n' | awk -F: '$1 == "bytes_received" { s += $2 } END { print s + 0 }')"
    awk -v v="$1" -v n="$n" -v t="$tcp" -v d="$FADE_S" -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v hz="$CLK_TCK" 'BEGIN { b = n * 16384
        printf "%-7s fade: %d x 16 KiB in %d s, proxy %.2f us/response (user %.2f + sys %.2f); of the ~%.0f MB the backend sent the proxy, %.0f MB came through TCP (%.0f%%)\n",
            v, n, d, (u + s) / hz * 1e6 / n, u / hz * 1e6 / n, s / hz * 1e6 / n, b / 1e6, t / 1e6, b ? 100 * t / b : 0 }'
}

for variant in $VARIANTS; do
    flag=""
    [[ "$variant" == friends ]] && flag="--tcp-friends"
    for ((round = 1; round <= ROUNDS; round++)); do
        # shellcheck disable=SC2086 # the flag, maybe
        taskset -c "$SERVER_CPU" env DOTNET_PerfMapEnabled="$((PROFILE_S > 0))" DOTNET_EnableWriteXorExecute="$((PROFILE_S == 0))" dotnet "$PROXY_DLL" --config "$PROXY_WORK/proxy.json" \
            --cores "$SERVER_CPU" --log-level Warning $flag >"$PROXY_WORK/proxy-$variant.out" 2>&1 &
        pid=$!
        own_pid "$pid"
        wait_port "$PROXY_PORT" proxy "$pid"
        grep -q "TCP friends off" "$PROXY_WORK/proxy-$variant.out" && die "TCP friends did not turn on: $(cat "$PROXY_WORK/proxy-$variant.out")"
        ((WARMUP == 0)) || load "$WARMUP" >/dev/null
        b0="$(redirected)"
        read -r w0 j0 o0 < <(thread_ticks "$pid")
        read -r u0 s0 < <(awk '{ print $14, $15 }' "/proc/$pid/stat")
        out="$(load "$MEASURE")"
        read -r u1 s1 < <(awk '{ print $14, $15 }' "/proc/$pid/stat")
        read -r w1 j1 o1 < <(thread_ticks "$pid")
        b1="$(redirected)"
        n="$(requests_of "$out")"
        awk -v v="$variant" -v r="$round" -v n="$n" -v d="$MEASURE" -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v hz="$CLK_TCK" -v b=$((b1 - b0)) \
            -v w=$((w1 - w0)) -v j=$((j1 - j0)) -v o=$((o1 - o0)) \
            'BEGIN { f = hz / 1e6 * n; printf "%-7s round %d: %d requests in %d s (%.0f/s), proxy %.2f us/request (user %.2f + sys %.2f; by thread: worker %.2f, tiered compilation %.2f, others %.2f), %.0f bytes redirected per request\n",
                v, r, n, d, n / d, (u + s) / f, u / f, s / f, w / f, j / f, o / f, b / n }'
        ((COUNT_S == 0 || round > 1)) || count_syscalls "$pid" "$variant"
        if ((PROFILE_S > 0 && round == 1)); then
            perf record -q -F 2999 -g -o "$OUT/perf-$variant.data" -p "$pid" -- sleep "$PROFILE_S" &
            rec=$!
            load "$PROFILE_S" >/dev/null
            wait "$rec" || true
            {
                perf report -i "$OUT/perf-$variant.data" --no-children --sort comm,dso --stdio -g none 2>/dev/null | grep '%' | head -12
                perf report -i "$OUT/perf-$variant.data" --no-children --sort dso,sym --stdio -g none 2>/dev/null | grep '%' | head -60
            } >"$OUT/report-$variant.txt" || true
            echo "$variant: profile in $OUT/report-$variant.txt"
        fi
        ((FADE_S == 0 || round < ROUNDS)) || fade "$variant" "$pid"
        stop_pid "$pid"
    done
done
stop_pid "$BACKEND_PID"
