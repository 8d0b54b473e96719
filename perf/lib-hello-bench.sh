# What bench-hello.sh and syscalls-per-request.sh share: both load Hello, Kestrel and nginx (lib.sh's servers) with wrk
# in the keepalive and close scenarios, and take the same options for it. Sourced after lib.sh, not run.
# shellcheck shell=bash disable=SC2034  # variables set here are read by the sourcing scripts

# parse_hello_bench_option "$@": handles one common option (parse_common) or one of --duration, --connections,
# --scenarios, --warmup; sets SHIFT_BY to the words consumed, 0 when the script must handle the option itself.
parse_hello_bench_option() {
    parse_common "$@"
    ((SHIFT_BY)) && return 0
    SHIFT_BY=2
    case "$1" in
        --duration) DURATION="${2:?}" ;;
        --connections) CONNECTIONS="${2:?}" ;;
        --scenarios) SCENARIOS="${2:?}" ;;
        --warmup) WARMUP="${2:?}" ;;
        *) SHIFT_BY=0 ;;
    esac
}

# check_hello_bench_options: the shared options are whole numbers (an "s" suffix allowed on durations) and known
# scenarios; sets SCEN to the scenario list.
check_hello_bench_options() {
    local s
    DURATION="${DURATION%s}"
    WARMUP="${WARMUP%s}"
    [[ "$DURATION" =~ ^[0-9]+$ && "$CONNECTIONS" =~ ^[0-9]+$ && "$WARMUP" =~ ^[0-9]+$ ]] ||
        die "--duration, --connections, --warmup take whole numbers"
    IFS=',' read -r -a SCEN <<<"$SCENARIOS"
    for s in "${SCEN[@]}"; do [[ "$s" == keepalive || "$s" == close ]] || die "unknown scenario '$s'"; done
}

# prepare_hello_bench: wrk present, the CPUs valid, the servers built, enough file descriptors.
prepare_hello_bench() {
    require_cmd wrk wrk
    check_cpus
    prepare_servers
    raise_nofile "$SERVER_NOFILE" >/dev/null
}
