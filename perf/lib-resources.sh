# Resource measurements shared by idle-connections.sh, syscalls-per-request.sh and perf/run: memory per idle
# keep-alive connection, and syscalls per request under strace. Sourced after lib.sh, not run.
# shellcheck shell=bash disable=SC2034  # variables set here are read by the sourcing scripts

IDLE_CLIENT="$WORK_DIR/idle-client"
SETTLE_MAX="${SETTLE_MAX:-15}"
# Seconds of Connection: close load in measure_idle's warm-up (0: keep-alive warm-up only, the method before
# 2026-11-26 late evening). Opening and closing a few thousand connections runs the accept and close paths as often
# as the measurement will, so their one-off costs (the JIT's tier-up of those paths, its malloc arena, code pages
# touched for the first time, the first GC) are paid before the first VmRSS reading instead of being divided among
# the idle connections. perf/results/idle-memory.md shows the split.
IDLE_CHURN_WARMUP="${IDLE_CHURN_WARMUP:-2}"

build_idle_client() {
    if [[ ! -x "$IDLE_CLIENT" || "$PERF_DIR/idle-client.c" -nt "$IDLE_CLIENT" ]]; then
        gcc -O2 -Wall -Wextra -o "$IDLE_CLIENT" "$PERF_DIR/idle-client.c" || die "gcc failed on perf/idle-client.c"
    fi
}

# settle PID: waits until VmRSS changes by less than 1% across 1 s (at most SETTLE_MAX s), then 1 s.
settle() {
    local pid="$1" a b i
    a="$(rss_kib "$pid")"
    for ((i = 0; i < SETTLE_MAX; i++)); do
        sleep 1
        b="$(rss_kib "$pid")"
        awk -v a="$a" -v b="$b" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d * 100 <= a) }' && break
        a="$b"
    done
    sleep 1
}

fd_count() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

# _idle_batch SRV PORT N HOLD TAG: starts perf/idle-client (pinned to CLIENT_CPU) opening N keep-alive connections, one
# request each, held until WORK_DIR/idle-SRV.release exists; waits until they are open. Sets _BATCH_PID _BATCH_OPENED
# _BATCH_OUT and _BATCH_CMD.
_idle_batch() {
    local srv="$1" port="$2" n="$3" hold="$4" tag="$5" deadline failed why
    _BATCH_OUT="$WORK_DIR/idle-$srv-$tag.out"
    : >"$_BATCH_OUT"
    _BATCH_CMD="$(quote_cmd taskset -c "$CLIENT_CPU" "$IDLE_CLIENT" "$port" "$n" "$hold" "$WORK_DIR/idle-$srv.release")"
    taskset -c "$CLIENT_CPU" "$IDLE_CLIENT" "$port" "$n" "$hold" "$WORK_DIR/idle-$srv.release" >"$_BATCH_OUT" 2>&1 &
    _BATCH_PID=$!
    own_pid "$_BATCH_PID"
    deadline=$((SECONDS + 120))
    until grep -q '^OPEN' "$_BATCH_OUT"; do
        kill -0 "$_BATCH_PID" 2>/dev/null || { cat "$_BATCH_OUT" >&2; die "idle-client exited early against $srv"; }
        ((SECONDS < deadline)) || die "idle-client did not open $n connections to $srv within 120 s"
        sleep 0.2
    done
    read -r _ _BATCH_OPENED failed why < <(grep '^OPEN' "$_BATCH_OUT")
    ((failed == 0)) || log "warning: $srv: client stopped after $_BATCH_OPENED connections: $why"
}

# measure_idle NAME PID PORT CONNECTIONS HOLD: warm-up (wrk 2 s, 16 connections, keep-alive, then IDLE_CHURN_WARMUP s
# with Connection: close), settle, VmRSS; then the idle client opens half the CONNECTIONS (settle, VmRSS), a second
# one the other half (settle, VmRSS again); release. Sets IDLE_RSS0 IDLE_RSS_HALF IDLE_RSS1 IDLE_OPENED IDLE_FD0
# IDLE_FD1 IDLE_CLOSED, IDLE_PER (KiB per connection: (RSS1 - RSS0) / connections), IDLE_MARGINAL (KiB per connection
# of the second half: (RSS1 - RSS_HALF) / its connections, which leaves out what is paid once, such as code first run
# or a heap budget committed for the first time, whichever half it lands in) and IDLE_CMD.
measure_idle() {
    local srv="$1" pid="$2" port="$3" conns="$4" hold="$5" first second c1 c2 o1 o2
    run_wrk "$port" keepalive 2s 16 "$WORK_DIR/idle-$srv-warmup.txt"
    ((IDLE_CHURN_WARMUP == 0)) || run_wrk "$port" close "${IDLE_CHURN_WARMUP}s" 16 "$WORK_DIR/idle-$srv-warmup-close.txt"
    settle "$pid"
    IDLE_RSS0="$(rss_kib "$pid")"
    IDLE_FD0="$(fd_count "$pid")"
    rm -f "$WORK_DIR/idle-$srv.release"
    first=$((conns / 2)) second=$((conns - conns / 2))
    IDLE_RSS_HALF="$IDLE_RSS0" c1="" o1=0
    if ((first > 0)); then
        _idle_batch "$srv" "$port" "$first" "$hold" 1
        c1="$_BATCH_PID" o1="$_BATCH_OPENED"
        settle "$pid"
        IDLE_RSS_HALF="$(rss_kib "$pid")"
    fi
    _idle_batch "$srv" "$port" "$second" "$hold" 2
    c2="$_BATCH_PID" o2="$_BATCH_OPENED"
    IDLE_CMD="$_BATCH_CMD (twice: $first, then $second connections)"
    IDLE_OPENED=$((o1 + o2))
    ((IDLE_OPENED > 0)) || die "$srv: no connection could be opened"
    settle "$pid"
    IDLE_RSS1="$(rss_kib "$pid")"
    IDLE_FD1="$(fd_count "$pid")"
    touch "$WORK_DIR/idle-$srv.release"
    local p
    for p in $c1 $c2; do wait "$p" 2>/dev/null || true; forget_pid "$p"; done
    IDLE_CLOSED="$(cat "$WORK_DIR/idle-$srv-1.out" "$WORK_DIR/idle-$srv-2.out" 2>/dev/null | awk '/^CLOSED_BY_SERVER/ { n += $2; seen = 1 } END { if (seen) print n }')"
    IDLE_PER="$(awk -v a="$IDLE_RSS0" -v b="$IDLE_RSS1" -v n="$IDLE_OPENED" 'BEGIN { printf "%.2f", (b - a) / n }')"
    IDLE_MARGINAL="$(awk -v a="$IDLE_RSS_HALF" -v b="$IDLE_RSS1" -v n="$o2" 'BEGIN { printf "%.2f", (n > 0 ? (b - a) / n : 0) }')"
}

# all_threads_traced PID: true when every thread of PID has a tracer.
all_threads_traced() {
    local t tp
    for t in /proc/"$1"/task/*; do
        tp="$(awk '/^TracerPid:/ { print $2 }' "$t/status" 2>/dev/null || echo 0)"
        [[ "${tp:-0}" != 0 ]] || return 1
    done
}

# measure_syscalls NAME PID PORT SCENARIO DURATION CONNECTIONS [REQUESTS]: attaches strace -c -f to PID (every
# thread), runs wrk for DURATION (or, with REQUESTS > 0, until about REQUESTS responses, DURATION being the upper
# bound), detaches. Sets SYS_REQ SYS_TOTAL SYS_ECTL, SYS_TABLE (strace's table file) and SYS_CMD.
measure_syscalls() {
    local srv="$1" pid="$2" port="$3" sc="$4" duration="$5" conns="$6" limit="${7:-0}" spid i out
    SYS_TABLE="$WORK_DIR/strace-$srv-$sc.txt"
    local -a strace_cmd=(strace -c -f -S calls -o "$SYS_TABLE" -p "$pid")
    "${strace_cmd[@]}" 2>"$WORK_DIR/strace-$srv-$sc.log" &
    spid=$!
    own_pid "$spid"
    for ((i = 0; i < 100; i++)); do all_threads_traced "$pid" && break; sleep 0.1; done
    all_threads_traced "$pid" || die "strace did not attach to all threads of $srv (pid $pid); see $WORK_DIR/strace-$srv-$sc.log"
    out="$WORK_DIR/sys-$srv-$sc.txt"
    if ((limit > 0)); then
        # wrk -t1: one thread counts the responses; at LIMIT it stops its loop and drops a marker file, and wrk
        # (whose main thread sleeps for -d) gets SIGINT, on which it reports and exits.
        local lua="$WORK_DIR/stop-after-$srv-$sc.lua" marker="$WORK_DIR/stop-after-$srv-$sc.done" wpid
        rm -f "$marker"
        printf 'local n = 0\nresponse = function(status, headers, body)\n  n = n + 1\n  if n == %d then\n    local f = io.open("%s", "w")\n    if f then f:close() end\n    wrk.thread:stop()\n  end\nend\n' \
            "$limit" "$marker" >"$lua"
        local -a cmd=(taskset -c "$CLIENT_CPU" wrk -t1 -c"$conns" -d"$duration" --timeout 5s -s "$lua")
        [[ "$sc" == close ]] && cmd+=(-H 'Connection: close')
        cmd+=("$(url_of "$port")")
        WRK_CMD="$(quote_cmd "${cmd[@]}") (stopped after $limit responses)"
        "${cmd[@]}" >"$out" 2>&1 &
        wpid=$!
        own_pid "$wpid"
        while kill -0 "$wpid" 2>/dev/null; do
            [[ -e "$marker" ]] && { kill -INT "$wpid" 2>/dev/null || true; break; }
            sleep 0.1
        done
        wait "$wpid" || { cat "$out" >&2; die "wrk failed against 127.0.0.1:$port"; }
        forget_pid "$wpid"
    else
        run_wrk "$port" "$sc" "$duration" "$conns" "$out"
    fi
    kill -INT "$spid" 2>/dev/null || true
    wait "$spid" 2>/dev/null || true
    forget_pid "$spid"
    SYS_CMD="$(quote_cmd "${strace_cmd[@]}") ; $WRK_CMD"
    SYS_REQ="$(wrk_requests "$out")"
    [[ -n "$SYS_REQ" && "$SYS_REQ" -gt 0 ]] || { cat "$out" >&2; die "$srv/$sc: wrk completed no requests"; }
    [[ -s "$SYS_TABLE" ]] || die "strace wrote no summary for $srv/$sc ($SYS_TABLE)"
    # strace -c rows: % time, seconds, usecs/call, calls, [errors], syscall -> calls is $4.
    SYS_TOTAL="$(awk '$NF == "total" { print $4 }' "$SYS_TABLE")"
    SYS_ECTL="$(awk '$NF == "epoll_ctl" { print $4 }' "$SYS_TABLE")"
    SYS_ECTL="${SYS_ECTL:-0}"
}
