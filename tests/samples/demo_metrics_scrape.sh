#!/usr/bin/env bash
# tether_demo --metrics-port 0 serves /metrics while it runs: start it, read the port it prints,
# scrape it with curl (when installed) and with bash's /dev/tcp (always: raw HTTP/1.1), check
# the families are there, and that the demo exits 0. Every wait is bounded.
#   tests/samples/demo_metrics_scrape.sh path/to/tether_demo
set -euo pipefail
demo=$1
work=$(mktemp -d)
pid=
cleanup() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
fail() {
    echo "FAILED: $*"
    echo "--- demo output"; cat "$work/demo.out" || true
    exit 1
}

"$demo" --duration 3 --threads 2 --metrics-port 0 >"$work/demo.out" 2>&1 &
pid=$!

port=
for _ in $(seq 100); do # 10 s at most
    port=$(sed -n 's|^metrics: http://127\.0\.0\.1:\([0-9][0-9]*\)/metrics$|\1|p' "$work/demo.out")
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || fail "the demo ended before printing its metrics port"
    sleep 0.1
done
[ -n "$port" ] || fail "no 'metrics: http://127.0.0.1:PORT/metrics' line within 10 s"
echo "demo serves metrics on port $port"
sleep 1 # let requests flow

# Raw HTTP/1.1 over bash's /dev/tcp: status line, headers, body.
raw_get() {
    exec 3<>"/dev/tcp/127.0.0.1/$port"
    printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$1" >&3
    timeout 5 cat <&3
    exec 3<&-
}
raw_get /metrics | tr -d '\r' >"$work/raw"
status=$(sed -n 1p "$work/raw")
[ "$status" = "HTTP/1.1 200 OK" ] || fail "status: $status"
grep -qi '^content-type: text/plain; version=0.0.4' "$work/raw" || fail "no text format 0.0.4 content type"
raw_get /nothing | tr -d '\r' >"$work/raw404"
status=$(sed -n 1p "$work/raw404")
[ "$status" = "HTTP/1.1 404 Not Found" ] || fail "an unknown path gave: $status"

if command -v curl >/dev/null 2>&1; then
    curl -fsS --max-time 5 "http://127.0.0.1:$port/metrics" >"$work/body" || fail "curl failed"
    echo "fetched with curl"
else
    sed '1,/^$/d' "$work/raw" >"$work/body"
    echo "curl not installed: fetched with /dev/tcp only"
fi

for pattern in \
    '^# TYPE tether_connections gauge$' \
    '^tether_connections{pool="demo",state="idle"} [0-9]' \
    '^# TYPE tether_connection_wait_time_seconds histogram$' \
    '^tether_connection_wait_time_seconds_bucket{pool="demo",le="+Inf"} [0-9]' \
    '^tether_request_duration_seconds_count{pool="demo",outcome="ok"} [1-9]' \
    '^tether_requests_total{pool="demo"} [1-9]' \
    '^tether_endpoint_state{pool="demo",endpoint="127.0.0.1:[0-9]*",state="up"} 1$'; do
    grep -q "$pattern" "$work/body" || fail "no line matching $pattern in /metrics"
done
if command -v promtool >/dev/null 2>&1; then
    promtool check metrics <"$work/body" || fail "promtool check metrics complained"
fi

rc=0
timeout 30 tail --pid="$pid" -f /dev/null || fail "the demo did not end within 30 s"
wait "$pid" || rc=$?
pid=
[ "$rc" -eq 0 ] || fail "the demo exited with $rc"
grep -q 'pool: acquire wait p99 ' "$work/demo.out" || fail "no acquire-wait p99 on the status line"
echo "OK: /metrics scraped while the demo ran; the demo exited 0"
