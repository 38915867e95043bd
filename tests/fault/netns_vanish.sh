#!/usr/bin/env bash
# A silently vanished peer, for real: the test binary runs in one network namespace, the
# reference server program (tether-echo-server) in another, joined by a veth pair. The test
# takes the SERVER's end of the veth down mid-request, so the client sees pure silence (no FIN,
# no RST, no local error) and only the pool's ping probing can find the link dead (see
# tests/integration/netns_test.cpp).
#
# usage: netns_vanish.sh <tether-echo-server binary> <tether_integration_tests binary>
# Needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN for `ip netns`); otherwise exits 77 (ctest: skipped).
# Everything it creates is suffixed with its pid and removed on exit.
set -euo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: $0 <tether-echo-server> <tether_integration_tests>" >&2
    exit 2
fi
server_bin=$1
tests_bin=$2
for b in "$server_bin" "$tests_bin"; do
    if [[ ! -x $b ]]; then
        echo "netns_vanish: not an executable: $b" >&2
        exit 2
    fi
done

skip() {
    echo "SKIP: $*"
    exit 77
}

[[ $(id -u) -eq 0 ]] || skip "needs root to create network namespaces (running as uid $(id -u))"
command -v ip >/dev/null 2>&1 || skip "the 'ip' command (iproute2) is not installed"
command -v timeout >/dev/null 2>&1 || skip "the 'timeout' command (coreutils) is not installed"

cli_ns="tether-cli-$$"
srv_ns="tether-srv-$$"
cli_if="tvc$$"
srv_if="tvs$$"
cli_if=${cli_if:0:15}
srv_if=${srv_if:0:15}
cli_addr=10.213.0.1
srv_addr=10.213.0.2

work=$(mktemp -d "${TMPDIR:-/tmp}/tether-netns.XXXXXX")
server_pid=""
created_cli=0
created_srv=0

# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
    local status=$?
    set +e
    if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null
        # The CLI drains on SIGTERM; a second signal stops it at once.
        for _ in $(seq 1 20); do
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$server_pid" 2>/dev/null
        wait "$server_pid" 2>/dev/null
    fi
    # Deleting a namespace destroys the veth end inside it, and with it the pair.
    ((created_cli)) && ip netns delete "$cli_ns" 2>/dev/null
    ((created_srv)) && ip netns delete "$srv_ns" 2>/dev/null
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if ! ip netns add "$cli_ns" 2>"$work/err"; then
    skip "'ip netns add' failed (no privilege for network namespaces in this" \
        "container?): $(cat "$work/err")"
fi
created_cli=1
ip netns add "$srv_ns"
created_srv=1

# Create the pair inside the client namespace and move one end: nothing ever touches the host's
# own network namespace.
ip -n "$cli_ns" link add "$cli_if" type veth peer name "$srv_if"
ip -n "$cli_ns" link set "$srv_if" netns "$srv_ns"
ip -n "$cli_ns" addr add "$cli_addr/30" dev "$cli_if"
ip -n "$srv_ns" addr add "$srv_addr/30" dev "$srv_if"
for ns in "$cli_ns" "$srv_ns"; do
    ip -n "$ns" link set lo up
done
ip -n "$cli_ns" link set "$cli_if" up
ip -n "$srv_ns" link set "$srv_if" up

ip netns exec "$srv_ns" "$server_bin" --host "$srv_addr" --port 0 \
    >"$work/server.out" 2>"$work/server.err" &
server_pid=$!

port=""
for _ in $(seq 1 100); do # 10 s
    if line=$(grep -m1 '^LISTENING [0-9][0-9]*$' "$work/server.out" 2>/dev/null); then
        port=${line#LISTENING }
        break
    fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "netns_vanish: tether-echo-server exited early:" >&2
        cat "$work/server.err" >&2
        exit 1
    fi
    sleep 0.1
done
if [[ -z $port ]]; then
    echo "netns_vanish: tether-echo-server did not print LISTENING within 10 s" >&2
    cat "$work/server.err" >&2
    exit 1
fi
echo "netns_vanish: tether-echo-server (pid $server_pid) listening on $srv_addr:$port in $srv_ns;" \
    "client in $cli_ns; veth $cli_if <-> $srv_if"

status=0
ip netns exec "$cli_ns" env \
    TETHER_NETNS_SERVER="$srv_addr:$port" \
    TETHER_NETNS_CUT="ip netns exec $srv_ns ip link set $srv_if down" \
    timeout --kill-after=5 60 "$tests_bin" --gtest_filter='Netns.*' || status=$?
if [[ $status -eq 124 || $status -eq 137 ]]; then
    echo "netns_vanish: the test binary timed out" >&2
fi
exit "$status"
