#!/usr/bin/env bash
# How fast does fastsock-proxy reach full speed, per way of building it? Variants: jit (tiering and PGO, with the
# samples' shipped CallCountingDelayMs=0 and TieredPGO=false), jit-delay (the same with .NET's default tier-1 delay,
# 100 ms x10 on one CPU, through DOTNET_TC_CallCountingDelayMs=100), jit-pgo (the same with .NET's dynamic PGO put
# back: DOTNET_TieredPGO=1), jit-noquickjit (no tier-0 code: a method without precompiled code is compiled fully
# optimised at its first call, DOTNET_TC_QuickJit=0), r2r (ReadyToRun), jit-notiered, aot (Native AOT). This script
# publishes each, then, alternating the variants round by round under the same pinning (proxy on --server-cpu, nginx
# backend and wrk on --client-cpu):
#   start-up  : ms from exec to the first 200 through the proxy (curl polling every 10 ms)
#   windows   : requests/s of back-to-back 2 s wrk runs from that first answer for --warmup s (the first one is the
#               "first 2 s" figure, with its p99)
#   steady    : requests/s and p99 of a --duration run right after (JIT settled)
#   CPU µs/request (steady, from /proc/PID/stat) and VmRSS (MiB) at the end.
# Usage: perf/startup-options.sh [--runs N] [--warmup S] [--duration S] [--connections N]
#                                [--variants jit,jit-delay,jit-pgo,jit-noquickjit,r2r,jit-notiered,aot] [--server-cpu N] [--client-cpu N]
# Results: a table on stdout and perf/.work/startup/results.tsv.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-proxy.sh"

RUNS=2 WARMUP=12 DURATION=8 CONNECTIONS=64 VARIANTS=jit,jit-delay,r2r,jit-notiered,aot
usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; }
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
        jit | jit-delay | jit-pgo | jit-noquickjit | jit-notiered) ;;
        r2r) props=(--self-contained false -p:PublishReadyToRun=true -p:PublishAot=false) ;;
        aot) props=(-p:PublishAot=true -p:PublishReadyToRun=false) ;; # native AOT is self-contained by nature
        *) die "unknown variant '$v' (jit, jit-delay, jit-pgo, jit-noquickjit, r2r, jit-notiered, aot)" ;;
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
    [[ "$v" == jit-delay ]] && envs=(DOTNET_TC_CallCountingDelayMs=100) # the environment wins over runtimeconfig.json
    [[ "$v" == jit-pgo ]] && envs=(DOTNET_TieredPGO=1)
    [[ "$v" == jit-noquickjit ]] && envs=(DOTNET_TC_QuickJit=0)
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
printf 'variant\trun\tstartup_ms\tfirst2s_rps\tfirst2s_p99_ms\tsteady_rps\tsteady_p99_ms\tcpu_us_per_req\trss_mib\twindows_2s_rps\n' >"$OUT/results.tsv"
p99_ms() { awk -v u="$(wrk_latency_us "$1" 99)" 'BEGIN { printf "%.2f", u / 1000 }'; }
for ((run = 1; run <= RUNS; run++)); do
    for v in "${variants[@]}"; do
        start_variant "$v"
        windows=""
        for ((w = 0; w < (WARMUP + 1) / 2; w++)); do
            run_wrk "$PROXY_PORT" keepalive 2s "$CONNECTIONS" "$OUT/$v.$run.w$w.txt"
            windows+="${windows:+ }$(wrk_rps "$OUT/$v.$run.w$w.txt" | awk '{ printf "%.0f", $1 }')"
        done
        first=$(wrk_rps "$OUT/$v.$run.w0.txt") first_p99=$(p99_ms "$OUT/$v.$run.w0.txt")
        c0=$(cpu_ticks "$PROXY_PID")
        run_wrk "$PROXY_PORT" keepalive "${DURATION}s" "$CONNECTIONS" "$OUT/$v.$run.steady.txt"
        c1=$(cpu_ticks "$PROXY_PID")
        steady=$(wrk_rps "$OUT/$v.$run.steady.txt") steady_p99=$(p99_ms "$OUT/$v.$run.steady.txt")
        reqs=$(wrk_requests "$OUT/$v.$run.steady.txt")
        cpu=$(awk -v d=$((c1 - c0)) -v t="$CLK_TCK" -v n="$reqs" 'BEGIN { printf "%.2f", d / t * 1e6 / n }')
        rss=$(awk -v k="$(rss_kib "$PROXY_PID")" 'BEGIN { printf "%.1f", k / 1024 }')
        stop_pid "$PROXY_PID"
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$v" "$run" "$STARTUP_MS" "$first" "$first_p99" "$steady" "$steady_p99" \
            "$cpu" "$rss" "$windows" | tee -a "$OUT/results.tsv"
    done
done
log "results: $OUT/results.tsv"
