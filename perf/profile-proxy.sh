#!/usr/bin/env bash
# Where the CPU time of one proxied request goes: fastsock-proxy (mode http, one worker) under perf record, one nginx
# backend and wrk on the client CPU, after a warm-up long enough for tiered compilation + PGO. One report per
# concurrency, then a table of samples by DSO (kernel / coreclr / managed ...) and by category of managed code.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib-proxy.sh"

WARMUP=12
DURATION=10
CLIENTS="64,256"
OUT="$WORK_DIR/profile"
usage() {
    cat <<USAGE
Usage: perf/profile-proxy.sh [--clients 64,256] [--warmup S] [--duration S] [--server-cpu N] [--client-cpu N] [--output DIR]

For each --clients value: starts fastsock-proxy (Release, built here) with DOTNET_PerfMapEnabled=1 pinned to
--server-cpu (--cores N), the nginx backend and wrk -t1 -cN on --client-cpu; warms up --warmup s (12) at that load;
then (longer while tiered compilation still runs), under the same load, perf record -F 4999 -g -p PID -- sleep --duration (10). Writes into --output
(perf/.work/profile): perf-cN.data, report-cN.txt (perf report --no-children --sort dso,sym), summary-cN.md (samples
by DSO, by category, the top managed functions) and wrk/proxy logs; prints the summaries. Needs perf (linux-perf)
and kernel.perf_event_paranoid <= 1 or root.
USAGE
}
while (($#)); do
    case "$1" in
        --clients) CLIENTS="${2:?}"; shift 2 ;;
        --warmup) WARMUP="${2:?}"; shift 2 ;;
        --duration) DURATION="${2:?}"; shift 2 ;;
        --server-cpu) SERVER_CPU="${2:?}"; shift 2 ;;
        --client-cpu) CLIENT_CPU="${2:?}"; shift 2 ;;
        --output) OUT="${2:?}"; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
done
require_cmd perf linux-perf
require_cmd wrk wrk
require_cmd nginx nginx-light
raise_nofile 20000 >/dev/null
build_proxy
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
proxy_env "$WORK_DIR/profile-proxy" 18710 18711
start_backend
# The JIT writes /tmp/perf-PID.map so that perf can name managed frames; W^X off, or the code runs from a
# "memfd:doublemapper" mapping that perf cannot match with the map's addresses.
PROXY_DOTNET_ENV=(DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 DOTNET_PROCESSOR_COUNT=1 DOTNET_gcServer=0)

# tier_ticks PID: CPU ticks of the runtime's tiered-compilation thread (empty when it has exited: nothing to compile).
tier_ticks() {
    local t stat
    for t in /proc/"$1"/task/*; do
        [[ "$(cat "$t/comm" 2>/dev/null)" == ".NET Tiered Com"* ]] || continue
        stat="$(<"$t/stat")"
        awk '{ print $12 + $13 }' <<<"${stat##*) }"
    done
}

# classify: reads "percent<TAB>thread<TAB>dso<TAB>symbol" lines (perf report --no-children --sort comm,dso,sym) and
# prints markdown tables: by thread and DSO, the worker thread by category, the top managed functions of the worker.
classify() { # CPU_US_PER_REQUEST (user + system, whole process): each sample is an equal slice of it
    awk -F'\t' -v us="${1:-0}" '
    function method(sym,   m) { m = sym; sub(/\(.*/, "", m); sub(/.* /, "", m); return m }
    function cat(dso, sym,   m) {
        if (dso ~ /kernel/) return "kernel: syscalls, TCP/IP on loopback, epoll, scheduler"
        if (dso ~ /libclrjit/) return "JIT compiling on the worker"
        m = method(sym)
        if (sym ~ /WriteBarrier/) return "GC write barriers"
        if (dso ~ /libcoreclr/) return "coreclr native (no symbols: GC, allocation, stubs, casts)"
        if (dso ~ /libc[.-]|ld-linux|libpthread|libSystem|vdso/) return "libc: syscall wrappers, TLS"
        if (m ~ /System\.IO\.Pipelines|Interlocked|Monitor|SpinLock|ConcurrentQueue|Volatile/) return "pipes (System.IO.Pipelines: locks, segments), Interlocked, queues"
        if (m ~ /HttpRequestParser|HttpFraming|RequestMethods|HttpResponseFraming|ConnectionOptionNames|HopByHop|SpanHelpers::|Ascii::|PeekRequestHead|Parse|HttpParse|Header/) return "HTTP parsing, byte search"
        if (m ~ /HeadForwarder|ForwardedFieldLines|ForwardResponseHead|HttpResponseWriter|HttpRequestWriter|Rewrite/) return "head forwarding: rewrite and write the heads"
        if (m ~ /BackendConnectionPool|KeepBackend|Balanc|ServerState/) return "backend connection pool, balancing"
        if (m ~ /WorkerStateMachineBox|WorkerValueTaskBox|ValueTaskAwaiter|ThreadPool|ExecutionContext|ManualResetValueTaskSource|AsyncTaskMethodBuilder|AsyncValueTaskMethodBuilder|CastHelpers|TaskAwaiter|Continuation|^stub|VSD_/) return "async machinery: boxes, awaiters, continuations, casts, interface stubs"
        if (m ~ /HttpProxySession/) return "proxy session: the async method bodies (exchange, forward, pump)"
        if (m ~ /Fastsock\.Engine\.|Fastsock\.Transport\.|Epoll|TimerWheel/) return "engine: epoll loop, work queue, socket read/write/flush"
        if (m ~ /Memmove|Buffer|PooledBlock|MemoryPool|Slab|Recycle|Sequence|Segment/) return "buffers, copies, memory pool"
        return "other managed"
    }
    function group(comm, dso) {
        t = (comm ~ /^fastsock-w/) ? "worker thread" : (comm ~ /Tiered/) ? "tiered-compilation thread" : "other threads (" comm ")"
        if (dso ~ /kernel/) return t ": kernel"
        if (dso ~ /libcoreclr/) return t ": coreclr (libcoreclr.so)"
        if (dso ~ /libclrjit/) return t ": JIT (libclrjit.so)"
        if (dso ~ /\[JIT\]|perf-[0-9]+\.map|\.dll|memfd|doublemapper/) return t ": managed code"
        return t ": libc, loader, vdso"
    }
    {
        p = $1 + 0; comm = $2; dso = $3; sym = $4
        gsub(/^ +| +$/, "", comm); gsub(/^ +| +$/, "", dso); gsub(/^ +| +$/, "", sym); sub(/^\[[.k]\] /, "", sym)
        total += p; g[group(comm, dso)] += p
        if (comm ~ /^fastsock-w/) {
            wtot += p; c[cat(dso, sym)] += p
            if (dso ~ /\[JIT\]|perf-[0-9]+\.map|\.dll/) ms[sym] += p
        }
    }
    END {
        printf "| thread: where (DSO) | %% of the process samples |\n|---|---:|\n"
        n = 0; for (k in g) keys[++n] = k
        sortdesc(keys, g, n); for (i = 1; i <= n; i++) printf "| %s | %.1f |\n", keys[i], g[keys[i]]
        printf "| total | %.1f |\n\n", total
        printf "| worker thread by category | %% of the worker samples | µs per request |\n|---|---:|---:|\n"
        n = 0; delete keys; for (k in c) keys[++n] = k
        sortdesc(keys, c, n)
        for (i = 1; i <= n; i++) printf "| %s | %.1f | %.2f |\n", keys[i], (wtot > 0 ? c[keys[i]] * 100 / wtot : 0), (total > 0 ? c[keys[i]] / total * us : 0)
        printf "| the whole worker thread | 100 | %.2f |\n", (total > 0 ? wtot / total * us : 0)
        printf "\n| top managed functions on the worker (self) | %% of the worker samples |\n|---|---:|\n"
        n = 0; delete keys; for (k in ms) keys[++n] = k
        sortdesc(keys, ms, n)
        for (i = 1; i <= n && i <= 25; i++) { s = keys[i]; sub(/\[Optimized[A-Za-z0-9]*\]$/, "", s); s = method(keys[i]); gsub(/\|/, "\\|", s); printf "| `%s` | %.1f |\n", s, (wtot > 0 ? ms[keys[i]] * 100 / wtot : 0) }
    }
    function sortdesc(a, v, n,   i, j, t) { for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && v[a[j]] < v[t]; j--) a[j + 1] = a[j]; a[j + 1] = t } }
    '
}

COUNTERS="$(command -v dotnet-counters || echo "$WORK_DIR/tools/dotnet-counters")"
IFS=',' read -r -a LEVELS <<<"$CLIENTS"
for c in "${LEVELS[@]}"; do
    start_proxy fastsock-proxy
    pid="$PROXY_PID"
    url="http://127.0.0.1:$PROXY_PORT/plaintext"
    log "c=$c: fastsock-proxy pid $pid; warm-up ${WARMUP}s (wrk -t1 -c$c)"
    ((WARMUP == 0)) || run_waited taskset -c "$CLIENT_CPU" wrk -t1 -c"$c" -d"${WARMUP}s" "$url" >"$OUT/wrk-c$c-warmup.txt" 2>&1
    # Steady state means tier-up is over: go on warming up (2 s at a time, 40 s at most) while the tiered-compilation
    # thread still gets CPU time; on a busy machine 12 s of wall time can be too little CPU time for it.
    # Two idle windows in a row: on a loaded machine one window may simply not have been scheduled.
    extra=0 idle=0
    for ((k = 0; k < 20 && idle < 2; k++)); do
        t0="$(tier_ticks "$pid")"
        run_waited taskset -c "$CLIENT_CPU" wrk -t1 -c"$c" -d2s "$url" >/dev/null 2>&1
        t1="$(tier_ticks "$pid")"
        if [[ -z "$t1" || "$t1" == "$t0" ]]; then idle=$((idle + 1)); else idle=0; fi
        extra=$((extra + 2))
    done
    log "c=$c: warm-up extended by ${extra}s until the tiered-compilation thread was idle for two 2 s windows"
    # The measured load runs longer than the recording, so that perf sees steady state only.
    taskset -c "$CLIENT_CPU" wrk -t1 -c"$c" -d"$((DURATION + 3))s" --latency "$url" >"$OUT/wrk-c$c.txt" 2>&1 &
    wpid=$!
    own_pid "$wpid"
    sleep 1
    read -r u0 s0 < <(cpu_user_sys "$pid")
    rss0="$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")"
    run_waited perf record -F 4999 -g -o "$OUT/perf-c$c.data" -p "$pid" -- sleep "$DURATION" >"$OUT/perf-record-c$c.log" 2>&1
    read -r u1 s1 < <(cpu_user_sys "$pid")
    rss1="$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")"
    wait "$wpid" || true
    forget_pid "$wpid"
    rps="$(wrk_rps "$OUT/wrk-c$c.txt")"
    # GC count and bytes allocated in a second window under the same load, when dotnet-counters is installed (on
    # PATH, or dotnet tool install dotnet-counters --tool-path perf/.work/tools), on the client CPU. Not during
    # perf record: attaching starts the runtime's metrics listener, which JIT-compiles and records on its own.
    gc_line="GC: not measured (dotnet-counters not installed)"
    if [[ -x "$COUNTERS" ]]; then
        rm -f "$OUT/counters-c$c.csv"
        taskset -c "$CLIENT_CPU" wrk -t1 -c"$c" -d"$((DURATION + 4))s" "$url" >"$OUT/wrk-c$c-counters.txt" 2>&1 &
        wpid=$!
        own_pid "$wpid"
        sleep 1
        run_waited taskset -c "$CLIENT_CPU" "$COUNTERS" collect -p "$pid" --counters System.Runtime --format csv -o "$OUT/counters-c$c.csv" \
            --refresh-interval 1 --duration "00:00:00:$(printf '%02d' "$DURATION")" >"$OUT/counters-c$c.log" 2>&1 || true
        wait "$wpid" || true
        forget_pid "$wpid"
        crps="$(wrk_rps "$OUT/wrk-c$c-counters.txt")"
        # CSV rows: timestamp, provider, counter name (with its tags), type, value (per second for rates, 1 s apart).
        gc_line="$(awk -F, -v r="$crps" '
            $3 ~ /gc\.collections/ { n += $NF; if ($3 ~ /gen0/) g0 += $NF; if ($3 ~ /gen1/) g1 += $NF; if ($3 ~ /gen2/) g2 += $NF }
            $3 ~ /total_allocated/ { b += $NF; s++ }
            END { printf "GC (dotnet-counters, a second %d s window under the same load, %s req/s): %d collections (gen0 %d, gen1 %d, gen2 %d), %.0f bytes allocated = %.1f bytes per request",
                  s, r, n, g0, g1, g2, b, (r > 0 && s > 0 ? b / (r * s) : 0) }' "$OUT/counters-c$c.csv" 2>/dev/null || echo "GC: dotnet-counters wrote nothing ($OUT/counters-c$c.log)")"
    fi
    cp "/tmp/perf-$pid.map" "$OUT/perf-$pid.map" 2>/dev/null || true
    perf report -i "$OUT/perf-c$c.data" --no-children --sort dso,sym --stdio >"$OUT/report-c$c.txt" 2>"$OUT/perf-report-c$c.log"
    perf report -i "$OUT/perf-c$c.data" --no-children --sort comm,dso,sym --stdio -g none -F overhead,comm,dso,sym --field-separator=$'\t' 2>/dev/null |
        sed -n 's/^ *\([0-9.]*\)% *\t/\1\t/p' >"$OUT/flat-c$c.tsv"
    stop_pid "$pid"
    {
        printf '### wrk -t1 -c%s, fastsock-proxy on CPU %s (%s s recorded after a %s s warm-up)\n\n' "$c" "$SERVER_CPU" "$DURATION" "$((WARMUP + extra))"
        awk -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v hz="$CLK_TCK" -v r="$rps" -v d="$DURATION" -v rss0="$rss0" -v rss1="$rss1" 'BEGIN {
            n = r * d; printf "%s req/s under perf; proxy CPU per request: %.2f µs user + %.2f µs system; VmRSS %d → %d KiB over the recording\n\n",
            r, u / hz * 1e6 / n, s / hz * 1e6 / n, rss0, rss1 }'
        printf '%s\n\n' "$gc_line"
        classify "$(awk -v u=$((u1 - u0 + s1 - s0)) -v hz="$CLK_TCK" -v r="$rps" -v d="$DURATION" 'BEGIN { printf "%.3f", u / hz * 1e6 / (r * d) }')" <"$OUT/flat-c$c.tsv"
        printf '\n'
    } >"$OUT/summary-c$c.md"
    cat "$OUT/summary-c$c.md"
done
log "perf data, reports and summaries in $OUT"
