# Shared helpers for the perf/ scripts. Sourced, not run.
# shellcheck shell=bash disable=SC2034  # variables set here are read by the sourcing scripts

PERF_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$PERF_DIR/.." && pwd)"
WORK_DIR="$PERF_DIR/.work"
mkdir -p "$WORK_DIR"

KESTREL_PROJECT="$PERF_DIR/Kestrel"
KESTREL_DLL="$KESTREL_PROJECT/bin/Release/net10.0/fastsock-perf-kestrel.dll"
HELLO_PROJECT="$REPO_ROOT/src/Samples/Hello"
HELLO_DLL="$HELLO_PROJECT/bin/Release/net10.0/fastsock-hello.dll"
NGINX_TEMPLATE="$PERF_DIR/nginx/hello.conf"
# The floors: the least user-space C can do for a keep-alive response and for a relayed request (perf/floors).
EPOLL_FLOOR="$WORK_DIR/epoll_floor"
PROXY_FLOOR="$WORK_DIR/proxy_floor"

# Defaults every script shares; each script's option parser may change them.
SERVER_CPU="${SERVER_CPU:-0}"
CLIENT_CPU="${CLIENT_CPU:-1}"
SERVERS="${SERVERS:-hello,kestrel,nginx}"
PORT_BASE="${PORT_BASE:-18081}"
# Hello command: {port} and {cpu} are replaced. Must exec ONE process (its pid is measured).
HELLO_CMD="${FASTSOCK_HELLO_CMD:-}"
BUILD_HELLO=0
SERVER_NOFILE="${SERVER_NOFILE:-65536}"
STARTUP_TIMEOUT="${STARTUP_TIMEOUT:-30}"

CLK_TCK="$(getconf CLK_TCK)"

log() { printf '%s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# require_cmd CMD APT_PACKAGE
require_cmd() {
    command -v "$1" >/dev/null 2>&1 ||
        die "'$1' not found; install it with: apt-get install -y $2"
}

# --- cleanup -----------------------------------------------------------------------------------
# Every background process a script starts is recorded here and stopped on EXIT/INT/TERM; then the
# exit hooks run (e.g. deleting network namespaces), last registered first.
declare -a _OWNED_PIDS=() _EXIT_HOOKS=()
own_pid() { _OWNED_PIDS+=("$1"); }
on_exit() { _EXIT_HOOKS+=("$1"); }

# forget_pid PID: drops PID from the owned list once it is reaped (its number may be reused).
forget_pid() {
    local i
    for i in "${!_OWNED_PIDS[@]}"; do
        [[ "${_OWNED_PIDS[$i]}" == "$1" ]] && unset "_OWNED_PIDS[$i]"
    done
    return 0
}

# stop_pid PID [GRACE_TENTHS]: SIGTERM, wait up to GRACE (default 5 s), then SIGKILL; reaps it.
stop_pid() {
    local pid="$1" grace="${2:-50}" i
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < grace; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    forget_pid "$pid"
}

# run_waited CMD...: runs CMD in the background and waits for it, so that INT/TERM interrupt the
# wait at once (bash defers traps until a foreground command ends) and the cleanup stops CMD.
# Returns CMD's exit status.
run_waited() {
    local pid rc=0
    "$@" &
    pid=$!
    own_pid "$pid"
    wait "$pid" || rc=$?
    forget_pid "$pid"
    return "$rc"
}

_cleanup() {
    local rc=$? pid i
    trap - EXIT INT TERM
    for pid in "${_OWNED_PIDS[@]+"${_OWNED_PIDS[@]}"}"; do
        stop_pid "$pid" "${CLEANUP_GRACE:-50}"
    done
    for ((i = ${#_EXIT_HOOKS[@]} - 1; i >= 0; i--)); do
        eval "${_EXIT_HOOKS[$i]}" || true
    done
    exit "$rc"
}
trap _cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- limits ------------------------------------------------------------------------------------
# raise_nofile WANT: raises the soft fd limit of this shell (inherited by children) as far as the
# hard limit allows; prints the limit obtained.
raise_nofile() {
    local want="$1" hard
    if ! ulimit -n "$want" 2>/dev/null; then
        hard="$(ulimit -Hn)"
        [[ "$hard" == unlimited ]] && hard="$want"
        ((hard < want)) && log "note: ulimit -n $want not permitted (hard limit $hard); using $hard"
        ulimit -n "$hard" 2>/dev/null || true
    fi
    ulimit -n
}

# --- servers -----------------------------------------------------------------------------------
build_kestrel() {
    ((${PERF_BUILT:-0})) && return 0 # perf/run built the solution already
    require_cmd dotnet "dotnet-sdk-10.0   (or see https://learn.microsoft.com/dotnet/core/install/linux-debian)"
    log "building perf/Kestrel (Release)..."
    dotnet build -c Release "$KESTREL_PROJECT" -nologo -v q -clp:ErrorsOnly >"$WORK_DIR/kestrel-build.log" 2>&1 ||
        { tail -n 20 "$WORK_DIR/kestrel-build.log" >&2; die "dotnet build -c Release perf/Kestrel failed"; }
}

build_hello() {
    log "building src/Samples/Hello (Release)..."
    dotnet build -c Release "$HELLO_PROJECT" -nologo -v q -clp:ErrorsOnly >"$WORK_DIR/hello-build.log" 2>&1 ||
        { tail -n 20 "$WORK_DIR/hello-build.log" >&2; die "dotnet build -c Release src/Samples/Hello failed"; }
}

# build_floors: gcc -O2 perf/floors/*.c into perf/.work when missing or older than the source.
build_floors() {
    local f
    for f in epoll_floor proxy_floor; do
        [[ -x "$WORK_DIR/$f" && "$WORK_DIR/$f" -nt "$PERF_DIR/floors/$f.c" ]] && continue
        gcc -O2 -o "$WORK_DIR/$f" "$PERF_DIR/floors/$f.c" 2>"$WORK_DIR/$f.build.log" ||
            { cat "$WORK_DIR/$f.build.log" >&2; die "gcc -O2 perf/floors/$f.c failed"; }
    done
}

# prepare_servers: checks tools, builds what is needed, drops servers that cannot run (hello when
# its dll is missing). Sets the array ACTIVE_SERVERS.
prepare_servers() {
    local s
    declare -ga ACTIVE_SERVERS=()
    IFS=',' read -r -a _req <<<"$SERVERS"
    for s in "${_req[@]}"; do
        case "$s" in
            hello)
                if [[ -z "$HELLO_CMD" ]]; then
                    ((BUILD_HELLO)) && build_hello
                    if [[ ! -f "$HELLO_DLL" ]]; then
                        echo "hello: not built, skipped (dotnet build -c Release src/Samples/Hello, or pass --build-hello / --hello-cmd)"
                        continue
                    fi
                fi
                require_cmd dotnet "dotnet-sdk-10.0"
                ;;
            kestrel) build_kestrel ;;
            nginx) require_cmd nginx "nginx-light" ;;
            epoll-floor) require_cmd gcc gcc; build_floors ;;
            *) die "unknown server '$s' (known: hello, kestrel, nginx, epoll-floor)" ;;
        esac
        ACTIVE_SERVERS+=("$s")
    done
    require_cmd taskset "util-linux"
    require_cmd curl "curl"
    # The fd limit servers get: SERVER_NOFILE, capped at the hard limit (root in a container may
    # not be allowed to raise it). nginx's worker_connections uses the same number.
    local hard
    hard="$(ulimit -Hn)"
    if [[ "$hard" != unlimited ]] && ((hard < SERVER_NOFILE)); then
        log "note: servers get ulimit -n $hard (hard limit), not $SERVER_NOFILE"
        SERVER_NOFILE="$hard"
    fi
    ((${#ACTIVE_SERVERS[@]} > 0)) || die "no server to run"
}

server_port() {
    case "$1" in
        hello) echo $((PORT_BASE + 0)) ;;
        kestrel) echo $((PORT_BASE + 1)) ;;
        nginx) echo $((PORT_BASE + 2)) ;;
        epoll-floor) echo $((PORT_BASE + 3)) ;;
    esac
}

# server_command NAME PORT: the command line (a string for eval) that execs the server.
server_command() {
    local name="$1" port="$2" cmd
    case "$name" in
        hello)
            if [[ -n "$HELLO_CMD" ]]; then
                cmd="${HELLO_CMD//\{port\}/$port}"
                cmd="${cmd//\{cpu\}/$SERVER_CPU}"
            else
                cmd="dotnet $(printf '%q' "$HELLO_DLL") --urls http://127.0.0.1:$port --cores $SERVER_CPU"
            fi
            echo "env DOTNET_PROCESSOR_COUNT=1 DOTNET_gcServer=0 $cmd"
            ;;
        kestrel)
            echo "env DOTNET_PROCESSOR_COUNT=1 DOTNET_gcServer=0 dotnet $(printf '%q' "$KESTREL_DLL") --urls http://127.0.0.1:$port"
            ;;
        epoll-floor)
            echo "$(printf '%q' "$EPOLL_FLOOR") $port"
            ;;
        nginx)
            local dir="$WORK_DIR/nginx-$port" mask
            mkdir -p "$dir"
            # worker_cpu_affinity mask: a 1 at bit SERVER_CPU, written as binary digits.
            mask="1$(printf '%*s' "$SERVER_CPU" '' | tr ' ' 0)"
            sed -e "s#@WORKDIR@#$dir#g" -e "s#@PORT@#$port#g" -e "s#@CPU_MASK@#$mask#g" \
                -e "s#@NOFILE@#$SERVER_NOFILE#g" "$NGINX_TEMPLATE" >"$dir/nginx.conf"
            echo "nginx -p $(printf '%q' "$dir/") -e $(printf '%q' "$dir/error.log") -c $(printf '%q' "$dir/nginx.conf")"
            ;;
    esac
}

url_of() { echo "http://127.0.0.1:$1/plaintext"; }

# start_server NAME: starts NAME pinned to SERVER_CPU with a high fd limit, waits until
# GET /plaintext answers. Sets SERVER_PID. On failure prints one line and exits.
declare -A SERVER_PIDS=()
start_server() {
    local name="$1" port cmd logf deadline
    port="$(server_port "$name")"
    if curl -s -o /dev/null --max-time 1 "$(url_of "$port")"; then
        die "$name: port 127.0.0.1:$port is already in use (choose another --port-base)"
    fi
    cmd="$(server_command "$name" "$port")"
    # The exact command, for reports (perf/run's scenarios.tsv).
    SERVER_CMD="ulimit -n $SERVER_NOFILE; taskset -c $SERVER_CPU $cmd"
    logf="$WORK_DIR/$name.log"
    : >"$logf"
    (
        ulimit -n "$SERVER_NOFILE"
        eval "exec taskset -c $SERVER_CPU $cmd"
    ) >"$logf" 2>&1 </dev/null &
    SERVER_PID=$!
    own_pid "$SERVER_PID"
    SERVER_PIDS[$name]=$SERVER_PID
    deadline=$((SECONDS + STARTUP_TIMEOUT))
    until curl -s -o /dev/null --max-time 1 -f "$(url_of "$port")"; do
        if ! kill -0 "$SERVER_PID" 2>/dev/null || ((SECONDS >= deadline)); then
            printf 'FAIL: %s did not come up on 127.0.0.1:%s within %ss; command: taskset -c %s %s; log (%s) tail: %s\n' \
                "$name" "$port" "$STARTUP_TIMEOUT" "$SERVER_CPU" "$cmd" "$logf" \
                "$(tail -n 5 "$logf" | tr '\n' '|')" >&2
            exit 1
        fi
        sleep 0.2
    done
    # Check the body once, so a wrong server on the port is caught early.
    local body
    body="$(curl -s --max-time 2 "$(url_of "$port")")"
    [[ "$body" == "Hello, World!" ]] || die "$name: GET /plaintext answered '$body', expected 'Hello, World!'"
    ((${PERF_QUIET:-0})) || log "$name: up, pid $SERVER_PID, port $port, cpu $SERVER_CPU ($(ls "/proc/$SERVER_PID/task" | wc -l) threads)"
}

stop_server() {
    local name="$1"
    [[ -n "${SERVER_PIDS[$name]:-}" ]] || return 0
    stop_pid "${SERVER_PIDS[$name]}"
    unset "SERVER_PIDS[$name]"
}

# --- measurements ------------------------------------------------------------------------------
# cpu_ticks PID: utime+stime (clock ticks) of the whole process (all threads), /proc/PID/stat.
cpu_ticks() {
    local stat rest
    stat="$(<"/proc/$1/stat")"
    rest="${stat##*) }" # drop "pid (comm) ", comm may contain spaces
    # rest starts at field 3 (state); utime is field 14, stime field 15 -> rest words 12, 13.
    awk '{ print $12 + $13 }' <<<"$rest"
}

# cpu_user_sys PID: "utime stime" (clock ticks) of the whole process, /proc/PID/stat fields 14 and 15.
cpu_user_sys() {
    local stat
    stat="$(<"/proc/$1/stat")"
    awk '{ print $12, $13 }' <<<"${stat##*) }"
}

# cpu_busy_total CPU: "busy total" clock ticks of one CPU from /proc/stat (busy excludes idle and
# iowait; total is user..steal).
cpu_busy_total() {
    awk -v c="cpu$1" '$1 == c { t = 0; for (i = 2; i <= 9; i++) t += $i; print t - $5 - $6, t; exit }' /proc/stat
}

# cap_cpu PID NAME PERCENT: puts process PID (all its threads, and those it starts later) in a CFS bandwidth cgroup of
# its own that lets it run PERCENT % of one CPU (10 ms periods), so that a server whose load generator cannot keep a
# whole core busy (a TLS client pays more per full ECDSA handshake than the server does) is still the bound. cgroup v2
# (cpu.max) or v1 (cpu.cfs_quota_us); needs root. The group is removed at exit.
cap_cpu() {
    quota_group "$2" "$3"
    quota_move "$1" "$QUOTA_GROUP"
}

# quota_group NAME PERCENT: makes the CFS bandwidth cgroup of cap_cpu (PERCENT % of one CPU in 10 ms periods) without
# moving anything into it, and sets QUOTA_GROUP to its directory; removed at exit (once empty).
quota_group() {
    local name="$1" pct="$2" dir
    [[ "$pct" =~ ^[0-9]+$ ]] && ((pct >= 1 && pct <= 100)) || die "a CPU quota is a whole percentage from 1 to 100, not '$pct'"
    if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
        grep -qw cpu /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || echo +cpu >/sys/fs/cgroup/cgroup.subtree_control ||
            die "cannot enable the cpu controller in /sys/fs/cgroup (run as root, or drop the CPU quota)"
        dir="/sys/fs/cgroup/fastsock-perf-$name-$$"
        mkdir -p "$dir" && echo "$((pct * 100)) 10000" >"$dir/cpu.max"
    elif [[ -d /sys/fs/cgroup/cpu ]]; then
        dir="/sys/fs/cgroup/cpu/fastsock-perf-$name-$$"
        mkdir -p "$dir" && echo 10000 >"$dir/cpu.cfs_period_us" && echo "$((pct * 100))" >"$dir/cpu.cfs_quota_us"
    else
        die "no cgroup cpu controller under /sys/fs/cgroup: a CPU quota cannot be set here"
    fi || die "cannot make the CPU-quota cgroup $dir (run as root, or drop the CPU quota)"
    on_exit "rmdir '$dir' 2>/dev/null"
    QUOTA_GROUP="$dir"
}

# quota_move PID DIR: moves process PID (all its threads) into the cgroup DIR of quota_group; DIR "" moves it back to
# the root of the cpu hierarchy (no quota), so that one process can be capped for a measured run and not for its warm-up.
quota_move() {
    local pid="$1" dir="$2"
    if [[ -z "$dir" ]]; then
        dir=/sys/fs/cgroup
        [[ -f /sys/fs/cgroup/cgroup.controllers ]] || dir=/sys/fs/cgroup/cpu
    fi
    echo "$pid" >"$dir/cgroup.procs" || die "cannot move pid $pid into $dir"
}

# throttled_periods PID: how many 10 ms periods the CPU quota of cap_cpu stopped PID in so far (0 without a quota).
throttled_periods() {
    local cg
    cg="$(awk -F: '$2 ~ /(^|,)cpu(,|$)/ || $2 == "" { print $3; exit }' "/proc/$1/cgroup")"
    local f
    for f in "/sys/fs/cgroup/cpu${cg}/cpu.stat" "/sys/fs/cgroup${cg}/cpu.stat"; do
        [[ -f "$f" ]] && { awk '$1 == "nr_throttled" { print $2; exit }' "$f"; return; }
    done
    echo 0
}

# rss_kib PID: VmRSS in KiB.
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# run_wrk PORT SCENARIO DURATION CONNECTIONS OUTFILE: wrk pinned to CLIENT_CPU, one thread, with
# --latency (percentiles for wrk_latency_us). WRK_CMD is set to the command line run.
run_wrk() {
    local port="$1" scenario="$2" duration="$3" conns="$4" out="$5"
    local -a cmd=(taskset -c "$CLIENT_CPU" wrk -t1 -c"$conns" -d"$duration" --timeout 5s --latency)
    [[ "$scenario" == close ]] && cmd+=(-H 'Connection: close')
    cmd+=("$(url_of "$port")")
    WRK_CMD="$(quote_cmd "${cmd[@]}")"
    run_waited "${cmd[@]}" >"$out" 2>&1 ||
        { cat "$out" >&2; die "wrk failed against 127.0.0.1:$port"; }
}

# quote_cmd WORD...: the words as one shell-quoted command line.
quote_cmd() {
    local out
    printf -v out '%q ' "$@"
    printf '%s' "${out% }"
}

# wrk_requests FILE / wrk_rps FILE / wrk_errors FILE: parse wrk output.
wrk_requests() { awk '/requests in/ { print $1; exit }' "$1"; }
wrk_rps() { awk '/^Requests\/sec:/ { print $2; exit }' "$1"; }
wrk_errors() {
    awk '/Socket errors:/ { gsub(",", ""); e += $4 + $6 + $8 + $10 }
         /Non-2xx or 3xx/ { e += $NF } END { print e + 0 }' "$1"
}

# wrk_latency_us FILE PERCENT: the --latency distribution's value for PERCENT (50, 99) in µs.
wrk_latency_us() {
    awk -v p="$2%" '$1 == p && NF == 2 { v = $2; u = v; gsub(/[0-9.]/, "", u); sub(/[a-z]+$/, "", v)
        f = (u == "us") ? 1 : (u == "ms") ? 1e3 : (u == "s") ? 1e6 : (u == "m") ? 6e7 : (u == "h") ? 3.6e9 : 0
        if (f) { printf "%.1f\n", v * f; exit } }' "$1"
}

# median of the numbers given as arguments.
median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "n/a"; exit }
        if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Common options; a script calls parse_common "$@" from its own loop for unknown options.
COMMON_HELP='  --servers LIST      comma list of hello,kestrel,nginx (default: hello,kestrel,nginx)
  --server-cpu N      CPU the servers are pinned to (default 0)
  --client-cpu N      CPU the client (wrk) is pinned to (default 1)
  --port-base N       hello listens on N, kestrel N+1, nginx N+2 (default 18081)
  --hello-cmd CMD     command that runs Hello, {port} and {cpu} substituted; must exec one
                      process (env FASTSOCK_HELLO_CMD). Default:
                      dotnet src/Samples/Hello/bin/Release/net10.0/fastsock-hello.dll
                             --urls http://127.0.0.1:{port} --cores {cpu}
  --build-hello       dotnet build -c Release src/Samples/Hello first
  -h, --help          this help'

# parse_common "$@": handles one common option; sets SHIFT_BY to the number of words consumed,
# or 0 when the option is not a common one.
parse_common() {
    SHIFT_BY=2
    case "$1" in
        --servers) SERVERS="${2:?--servers needs a value}" ;;
        --server-cpu) SERVER_CPU="${2:?--server-cpu needs a value}" ;;
        --client-cpu) CLIENT_CPU="${2:?--client-cpu needs a value}" ;;
        --port-base) PORT_BASE="${2:?--port-base needs a value}" ;;
        --hello-cmd) HELLO_CMD="${2:?--hello-cmd needs a value}" ;;
        --build-hello) BUILD_HELLO=1; SHIFT_BY=1 ;;
        *) SHIFT_BY=0 ;;
    esac
}

check_cpus() {
    local n
    n="$(nproc --all)"
    [[ "$SERVER_CPU" =~ ^[0-9]+$ && "$CLIENT_CPU" =~ ^[0-9]+$ ]] || die "--server-cpu/--client-cpu take one CPU number"
    ((SERVER_CPU < n && CLIENT_CPU < n)) || die "CPU out of range (machine has $n CPUs)"
    ((SERVER_CPU != CLIENT_CPU)) || log "warning: server and client share CPU $SERVER_CPU"
}
