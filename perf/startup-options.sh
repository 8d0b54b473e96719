#!/usr/bin/env bash
# How fast does fastsock-proxy reach full speed, per way of building it? For each variant (JIT with tiering and
# PGO, ReadyToRun, JIT with tiering off, Native AOT) this script publishes the proxy, then, alternating the
# variants round by round under the same pinning (proxy on --server-cpu, nginx backend and wrk on --client-cpu):
#   start-up  : ms from exec to the first 200 through the proxy (curl polling every 10 ms)
#   first 2 s : requests/s of a 2 s wrk run started right after that first answer (cold code)
#   steady    : requests/s of a --duration run after a --warmup run at the same load (JIT settled)
#   CPU µs/request (steady, from /proc/PID/stat) and VmRSS (MiB) at the end.
# Usage: perf/startup-options.sh [--runs N] [--warmup S] [--duration S] [--connections N]
#                                [--variants jit,r2r,jit-notiered,aot] [--server-cpu N] [--client-cpu N]
# Results: a table on stdout and perf/.work/startup/results.tsv.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-proxy.sh"

RUNS=2 WARMUP=12 DURATION=8 CONNECTIONS=64 VARIANTS=jit,r2r,jit-notiered,aot
usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; }
while (($#)); do
    case "$1" in
        --runs) RUNS="${2:?}"; shift 2 ;;
        --warmup) WARMUP="${2:?}"; shift 2 ;;
        --duration) DURATION="${2:?}"; shift 2 ;;
        --connections) CONNECTIONS="${2:?}"; shift 2 ;;
        --variants) VARIANTS="${2:?}"; shift 2 ;;
        --server-cpu) SERVER_CPU="${2:?}"; shift 2 ;;
        --client-cpu) CLIENT_CPU="${2:?}"; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
done
check_cpus
require_cmd wrk wrk
require_cmd nginx nginx-light
raise_nofile 20000 >/dev/null

OUT="$WORK_DIR/startup"
proxy_env "$OUT/env" 18391 18392
IFS=, read -r -a variants <<<"$VARIANTS"

# publish VARIANT: the proxy built that way into OUT/VARIANT; prints the command that starts it.
publish() {
    local v="$1" dir="$OUT/$1" project="$REPO_ROOT/src/Samples/Proxy"
    local -a props=(--self-contained false -p:PublishReadyToRun=false -p:PublishAot=false)
    case "$v" in
        jit | jit-notiered) ;;
        r2r) props=(--self-contained false -p:PublishReadyToRun=true -p:PublishAot=false) ;;
        aot) props=(-p:PublishAot=true -p:PublishReadyToRun=false) ;; # native AOT is self-contained by nature
        *) die "unknown variant '$v' (jit, r2r, jit-notiered, aot)" ;;
    esac
    run_waited dotnet publish "$project" -c Release -r linux-x64 "${props[@]}" -o "$dir" -nologo -v q \
        >"$OUT/$v.publish.log" 2>&1 || { tail -n 20 "$OUT/$v.publish.log" >&2; die "dotnet publish ($v) failed"; }
}

start_variant() { # VARIANT: sets PROXY_PID, STARTUP_MS
    local v="$1" dir="$OUT/$1"
    cat >"$OUT/proxy.json" <<JSON
{ "frontends": [ { "name": "bench", "bind": ["127.0.0.1:$PROXY_PORT"], "mode": "http", "backend": "b" } ],
  "backends": [ { "name": "b", "servers": [ { "address": "127.0.0.1:$BACKEND_PORT" } ] } ] }
JSON
    local -a cmd=("$dir/fastsock-proxy" --config "$OUT/proxy.json" --cores "$SERVER_CPU" --log-level Warning)
    local -a envs=()
    [[ "$v" == jit-notiered ]] && envs=(DOTNET_TieredCompilation=0)
    local t0 t1
    t0=$(date +%s%N)
    env "${envs[@]}" taskset -c "$SERVER_CPU" "${cmd[@]}" >"$OUT/$v.out" 2>&1 &
    PROXY_PID=$!
    own_pid "$PROXY_PID"
    until curl -s -o /dev/null --max-time 1 -f "http://127.0.0.1:$PROXY_PORT/plaintext" 2>/dev/null; do
        kill -0 "$PROXY_PID" 2>/dev/null || die "$v exited: see $OUT/$v.out"
        (( ($(date +%s%N) - t0) < 30000000000 )) || die "$v did not answer in 30 s"
        sleep 0.01
    done
    t1=$(date +%s%N)
    STARTUP_MS=$(( (t1 - t0) / 1000000 ))
}

for v in "${variants[@]}"; do log "publishing $v"; publish "$v"; done
start_backend
printf 'variant\trun\tstartup_ms\tfirst2s_rps\tsteady_rps\tcpu_us_per_req\trss_mib\n' >"$OUT/results.tsv"
for ((run = 1; run <= RUNS; run++)); do
    for v in "${variants[@]}"; do
        start_variant "$v"
        run_wrk "$PROXY_PORT" keepalive 2s "$CONNECTIONS" "$OUT/$v.$run.first.txt"
        first=$(wrk_rps "$OUT/$v.$run.first.txt")
        run_wrk "$PROXY_PORT" keepalive "${WARMUP}s" "$CONNECTIONS" "$OUT/$v.$run.warm.txt"
        c0=$(cpu_ticks "$PROXY_PID")
        run_wrk "$PROXY_PORT" keepalive "${DURATION}s" "$CONNECTIONS" "$OUT/$v.$run.steady.txt"
        c1=$(cpu_ticks "$PROXY_PID")
        steady=$(wrk_rps "$OUT/$v.$run.steady.txt")
        reqs=$(wrk_requests "$OUT/$v.$run.steady.txt")
        cpu=$(awk -v d=$((c1 - c0)) -v t="$CLK_TCK" -v n="$reqs" 'BEGIN { printf "%.2f", d / t * 1e6 / n }')
        rss=$(awk -v k="$(rss_kib "$PROXY_PID")" 'BEGIN { printf "%.1f", k / 1024 }')
        stop_pid "$PROXY_PID"
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$v" "$run" "$STARTUP_MS" "$first" "$steady" "$cpu" "$rss" | tee -a "$OUT/results.tsv"
    done
done
log "results: $OUT/results.tsv"
