# What the standalone TCP friends scripts share (friends-bytes.sh, friends-copy-cost.sh, friends-proxy-cpu.sh): the
# child cgroup v2 they run in, and the bytes fastsock-proxy redirected. Sourced after lib.sh, not run.
# shellcheck shell=bash

# friends_cgroup_enter NAME: creates the child cgroup fastsock-NAME-PID under the cgroup2 mount and moves this
# script's shell into it (its children inherit it: the friends BPF programs attach to it); the exit hook moves the
# shell back and removes the directory once the stopped processes have left it.
friends_cgroup_enter() {
    local mount home cg
    mount="$(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") print $5; break } }' /proc/self/mountinfo | head -1)"
    [[ -n "$mount" ]] || die "no cgroup2 mount (TCP friends needs cgroup v2)"
    home="$mount$(sed -n 's/^0:://p' /proc/self/cgroup)"
    home="${home%/}"
    cg="$mount/fastsock-$1-$$"
    mkdir -p "$cg"
    echo "$$" >"$cg/cgroup.procs"
    # shellcheck disable=SC2016 # expanded when the hook runs
    on_exit 'echo "$$" >"'"${home:-$mount}"'/cgroup.procs"; for _ in $(seq 50); do rmdir "'"$cg"'" 2>/dev/null && break; sleep 0.1; done'
}

# friends_redirected ADMIN_PORT: the bytes fastsock-proxy's workers redirected so far (admin JSON, all workers).
friends_redirected() {
    curl -sf "http://127.0.0.1:$1/stats?format=json" | grep -o '"bytesRedirected":[0-9]*' | awk -F: '{ s += $2 } END { print s + 0 }' || true
}
