#!/usr/bin/env bash
# perf/friends-copy-cost.sh: what fastsock-proxy's copy costs per byte with TCP friends, beside copy and splice without.
# Root only. In a child cgroup v2 of its own: an nginx backend, fastsock-proxy in tcp mode on SERVER_CPU (default 0),
# wrk on CLIENT_CPU (default 1) downloading /1m with Connection: close (8 connections), so every connection stays
# within the 4 MiB redirect budget and, with friends, all its bytes are redirected. Per variant and round: a 2 s
# warm-up, then 5 s measured; prints the 1 MiB downloads done and the proxy's CPU (utime + stime from /proc) per GB.
# Variants: copy --tcp-friends, copy, splice (splice with friends is not possible: redirected data never reaches it).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$PERF_DIR/lib-proxy.sh"
source "$PERF_DIR/lib-friends.sh"

[[ "$(id -u)" == 0 ]] || { echo "perf/friends-copy-cost.sh: skipped (needs root: BPF programs and a child cgroup v2)"; exit 0; }
require_cmd nginx nginx-light
require_cmd wrk wrk
[[ -f "$PROXY_DLL" ]] || build_proxy

friends_cgroup_enter friends-copy-cost

BASE="${PERF_FRIENDS_PORT_BASE:-18761}"
proxy_env "$WORK_DIR/friends-copy-cost" "$BASE" "$((BASE + 1))"
CLIENT_CPU="${CLIENT_CPU:-1}" SERVER_CPU="${SERVER_CPU:-0}"
start_backend
for variant in "copy --tcp-friends" "copy" "splice"; do
    for round in 1 2; do
        cat >"$PROXY_WORK/proxy.json" <<JSON
{ "admin": { "bind": "127.0.0.1:$((BASE + 2))" },
  "frontends": [ { "name": "t", "bind": ["127.0.0.1:$PROXY_PORT"], "mode": "tcp", "backend": "b" } ],
  "backends": [ { "name": "b", "servers": [ { "address": "127.0.0.1:$BACKEND_PORT" } ] } ] }
JSON
        # shellcheck disable=SC2086 # the variant is the mode and, maybe, the flag
        taskset -c "$SERVER_CPU" dotnet "$PROXY_DLL" --config "$PROXY_WORK/proxy.json" --cores "$SERVER_CPU" \
            --forwarding $variant --log-level Warning >"$PROXY_WORK/proxy.out" 2>&1 &
        pid=$!
        own_pid "$pid"
        wait_port "$PROXY_PORT" proxy "$pid"
        taskset -c "$CLIENT_CPU" wrk -t1 -c8 -d2s -H 'Connection: close' "http://127.0.0.1:$PROXY_PORT/1m" >/dev/null 2>&1
        read -r u0 s0 < <(awk '{ print $14, $15 }' "/proc/$pid/stat")
        out="$(taskset -c "$CLIENT_CPU" wrk -t1 -c8 -d5s -H 'Connection: close' "http://127.0.0.1:$PROXY_PORT/1m")"
        read -r u1 s1 < <(awk '{ print $14, $15 }' "/proc/$pid/stat")
        downloads="$(awk '/requests in/ { print $1 }' <<<"$out")"
        redirected="$(friends_redirected $((BASE + 2)))"
        awk -v v="$variant" -v r="$round" -v n="$downloads" -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v hz="$CLK_TCK" -v b="${redirected:-0}" \
            'BEGIN { gb = n * 1048576 / 1e9; printf "%-19s round %d: %d x 1 MiB in 5 s, proxy CPU %.2f s/GB (user %.2f + sys %.2f), %.0f bytes redirected by the proxy since its start\n", v, r, n, (u + s) / hz / gb, u / hz / gb, s / hz / gb, b }'
        stop_pid "$pid"
    done
done
stop_pid "$BACKEND_PID"
