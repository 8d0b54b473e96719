# perf/run's friends scenario (sourced by perf/run, not run): TCP friends on vs off.
# Root only: the fastsock processes load BPF programs, and everything measured runs in a child cgroup v2 created
# here (fastsock-perf-friends-PID under the cgroup2 mount), which the friends programs attach to. Without root the
# scenario prints one line and emits nothing.
#   friends-hello:  hello-friends (--tcp-friends), hello (friends off), nginx (default set-up, friends off)
#   friends-proxy:  fastsock-proxy-friends (--tcp-friends), fastsock-proxy (off), haproxy (default set-up, off), all in
#                   http mode in front of the same nginx backend, which runs in the same cgroup
# The friends variant comes first in each: the report takes a scenario's first server as its subject, so its ratios
# read friends / without and friends / peer (the issue's target: fastsock-proxy-friends / haproxy req/s >= 1.3 at 64
# and at 256 clients). Each server is measured at every level of FRIENDS_CLIENTS (wrk -t1 -cN keep-alive), after a
# --warmup s warm-up at the first level (the server has just started) and a --rewarm s one at the others.
# Beside the server's own CPU per request, user and system (emit_http: cpu_us_per_req, cpu_sys_us_per_req, the kernel
# time spent for the server process), friends_cpu_us_per_req is the CPU time of both CPUs (server, wrk, backend,
# kernel) per request: friends save kernel time for every peer of a redirected pair, not only ours.
# shellcheck shell=bash disable=SC2034

FRIENDS_HELLO_SERVERS=(hello-friends hello nginx)
FRIENDS_PROXY_SERVERS=(fastsock-proxy-friends fastsock-proxy haproxy)
FRIENDS_CLIENTS=(64 256)

friends_steps() { ((IS_ROOT)) && echo $(((${#FRIENDS_HELLO_SERVERS[@]} + ${#FRIENDS_PROXY_SERVERS[@]}) * ${#FRIENDS_CLIENTS[@]} * RUNS)) || echo 1; }

# friends_cgroup_up: creates the child cgroup and moves this scenario's shell into it (its children inherit it);
# the exit hook moves the shell back and removes the directory once the stopped processes have left it.
friends_cgroup_up() {
    local mount own
    mount="$(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") print $5; break } }' /proc/self/mountinfo | head -1)"
    [[ -n "$mount" ]] || die "friends: no cgroup2 mount (TCP friends needs cgroup v2)"
    own="$(sed -n 's/^0:://p' /proc/self/cgroup)"
    FRIENDS_HOME="$mount${own%/}"
    FRIENDS_CG="$mount/fastsock-perf-friends-$$"
    mkdir -p "$FRIENDS_CG" || die "friends: cannot create $FRIENDS_CG"
    echo "$BASHPID" >"$FRIENDS_CG/cgroup.procs" || die "friends: cannot join $FRIENDS_CG"
    # shellcheck disable=SC2016 # expanded when the hook runs
    on_exit 'echo "$BASHPID" >"$FRIENDS_HOME/cgroup.procs"; for _ in $(seq 50); do rmdir "$FRIENDS_CG" 2>/dev/null && break; sleep 0.1; done'
    meta friends_cgroup "$FRIENDS_CG"
}

# friends_machine_ticks: busy clock ticks of the server and client CPUs together.
friends_machine_ticks() {
    local a b
    read -r a _ < <(cpu_busy_total "$SERVER_CPU")
    read -r b _ < <(cpu_busy_total "$CLIENT_CPU")
    echo $((a + b))
}

# friends_measure SCENARIO SERVER RUN PID...: wrk_measure plus the machine's CPU per request; emits both.
friends_measure() {
    local sc="$1" srv="$2" run="$3" t0 t1 per
    shift 3
    t0="$(friends_machine_ticks)"
    wrk_measure "$sc" "$srv" "$run" "$@"
    t1="$(friends_machine_ticks)"
    per="$(awk -v d=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$M_REQ" 'BEGIN { printf "%.3f", d / hz * 1e6 / n }')"
    # rps first: the report headlines a scenario it has no plan for with its first metric.
    emit_http "$sc" "$srv" "$run" ", ${per} machine CPU µs/req"
    emit "$sc" "$srv" "$run" friends_cpu_us_per_req "$per"
}

# friends_levels SCENARIO SERVER RUN COMMAND PID...: friends_measure at each FRIENDS_CLIENTS level (EMIT_CLIENTS),
# the command (COMMAND ; wrk) recorded once.
friends_levels() {
    local sc="$1" srv="$2" run="$3" command="$4" c
    shift 4
    for c in "${FRIENDS_CLIENTS[@]}"; do
        W_ARGS=(-t1 -c"$c")
        EMIT_CLIENTS="$c" M_TAG="$sc-c$c-$srv-$run" M_WARMUP="$REWARM"
        # The server was just started: its first level gets the sweeps' --warmup (tiered compilation and PGO need
        # ~10 s of load), not --rewarm. With 3 s, the proxy's user time at 64 clients was still JIT-era code (8.6 and
        # 9.2 µs/request with friends on and off, against 3.1 warm; perf/results/friends.md, the 2026-11-26 section).
        [[ "$c" != "${FRIENDS_CLIENTS[0]}" ]] || M_WARMUP="$WARMUP"
        friends_measure "$sc" "$srv" "$run" "$@"
        ((run > 1 || c != FRIENDS_CLIENTS[0])) || emit_cmd "$sc" "$srv" "$command ; $M_CMD (-c for each of $(IFS=,; echo "${FRIENDS_CLIENTS[*]}"); warm-up ${WARMUP}s at the first, ${REWARM}s at the others)"
    done
    unset EMIT_CLIENTS M_TAG M_WARMUP
}

# The fastsock proxy with --tcp-friends, else as start_proxy fastsock-proxy. Sets PROXY_PID and PROXY_CMD.
start_friends_proxy() {
    _proxy_json fastsock-proxy-friends http "127.0.0.1:$BACKEND_PORT"
    local -a cmd=(taskset -c "$SERVER_CPU" dotnet "$PROXY_DLL" --config "$PROXY_WORK/fastsock-proxy-friends.json"
        --cores "$SERVER_CPU" --log-level Warning --tcp-friends)
    PROXY_CMD="$(quote_cmd "${cmd[@]}")"
    "${cmd[@]}" >"$PROXY_WORK/fastsock-proxy-friends.out" 2>&1 &
    PROXY_PID=$!
    own_pid "$PROXY_PID"
    wait_port "$PROXY_PORT" fastsock-proxy-friends "$PROXY_PID"
    grep -q "TCP friends off" "$PROXY_WORK/fastsock-proxy-friends.out" &&
        die "friends: the proxy could not turn TCP friends on: $(grep 'TCP friends off' "$PROXY_WORK/fastsock-proxy-friends.out")"
    return 0
}

scenario_friends() {
    if ((!IS_ROOT)); then
        progress "friends: skipped (needs root: BPF programs and a child cgroup v2)"
        return 0
    fi

    local run srv
    friends_cgroup_up
    W_PRE=(taskset -c "$CLIENT_CPU")
    for ((run = 1; run <= RUNS; run++)); do
        for srv in "${FRIENDS_HELLO_SERVERS[@]}"; do
            case "$srv" in
                hello) HELLO_CMD="" start_server hello ;;
                hello-friends) HELLO_CMD="dotnet $(printf '%q' "$HELLO_DLL") --urls http://127.0.0.1:{port} --cores {cpu} --tcp-friends" start_server hello ;;
                nginx) start_server nginx ;;
            esac
            W_URL="$(url_of "$(server_port "${srv%-friends}")")"
            friends_levels friends-hello "$srv" "$run" "$SERVER_CMD" "$SERVER_PID"
            stop_server "${srv%-friends}"
        done
    done

    proxy_env "$RUN_DIR/friends" "$PROXY_BACKEND_PORT" "$PROXY_FRONT_PORT"
    start_backend
    W_URL="http://127.0.0.1:$PROXY_PORT/plaintext"
    for ((run = 1; run <= RUNS; run++)); do
        for srv in "${FRIENDS_PROXY_SERVERS[@]}"; do
            case "$srv" in
                fastsock-proxy) start_proxy fastsock-proxy ;;
                fastsock-proxy-friends) start_friends_proxy ;;
                haproxy) start_proxy haproxy-http ;;
            esac
            friends_levels friends-proxy "$srv" "$run" "$BACKEND_CMD ; $PROXY_CMD" "$PROXY_PID"
            stop_pid "$PROXY_PID"
        done
    done
    stop_pid "$BACKEND_PID"
}
