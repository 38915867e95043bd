#!/usr/bin/env bash
# Builds tether in release mode, runs its benchmarks and plots the results.
#   scripts/bench.sh                    every benchmark
#   scripts/bench.sh e2e                only the named ones
#   scripts/bench.sh [NAMES] ARGS...    ARGS (everything after the names) go to the e2e
#                                       program, e.g. scripts/bench.sh e2e --filter "closed 8x8"
#                                       --quick also shortens micro and scale (smoke test)
# Benchmarks:
#   e2e    tether against a hand-written Boost.Asio client and Netty's FixedChannelPool (a Java
#          peer, plaintext rows only; skipped with a message without a JDK or the jars), the
#          server pinned to one core (bench/e2e), plaintext and over TLS ("... tls" rows), client
#          and server CPU per request, and the cost of opening links over TLS against plaintext
#          (the connect section): docs/bench/results.json, docs/bench/e2e.tsv and e2e.png
#   micro  Google Benchmark: acquire+release, closed-loop and pipelined requests, wire layer,
#          each with allocations per operation (bench/tether_bench): docs/bench/micro.json
#   scale  10,000 links pinged every second for 60 s, then 1,000 links under load
#          (bench/scale): docs/bench/scale.json; then RSS per idle link at 1,000 links,
#          plaintext and TLS (short runs): docs/bench/scale-1000-plain.json, scale-1000-tls.json
# Figures depend on the machine and its load: run it on an otherwise idle machine.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$repo_root"

all_benches=(e2e micro scale)

wanted=()
while [ $# -gt 0 ] && [[ " ${all_benches[*]} " == *" $1 "* ]]; do
    wanted+=("$1")
    shift
done
[ ${#wanted[@]} -gt 0 ] || wanted=("${all_benches[@]}")
bench_args=("$@")
quick=0
for a in "${bench_args[@]}"; do [ "$a" = --quick ] && quick=1; done

# build_release TARGET...: configures the release preset and builds only those targets.
build_release() {
    step "release: configure" cmake --preset release --log-level=WARNING
    step "release: build $*" cmake --build build/release -j"$jobs" --target "$@"
}

# plot_e2e TSV PNG: throughput, p99 and CPU per request (client, and server hatched) per
# workload (TLS rows included), tether, raw and netty bars side by side (no netty bar where it
# did not run: NaN in the TSV).
plot_e2e() {
    local tsv=$1 png=$2 terminal=png subtitle
    if [ "$(grep -vc '^#' "$tsv")" -le 1 ]; then # the header only: no workload ran
        echo "bench: no workload rows in $tsv, no plot"
        return 0
    fi
    if gnuplot -e 'set terminal pngcairo' >/dev/null 2>&1; then terminal=pngcairo; fi
    subtitle=$(sed -n '1s/^# //p' "$tsv")
    gnuplot <<GNUPLOT
set encoding utf8
set terminal $terminal size 1600,1500
set output '$png'
set datafile separator "\t"
set datafile columnheaders
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9 relative
set xtics rotate by 25 right scale 0 nomirror
set ytics nomirror
set grid ytics
set format y "%g"
set bmargin 7
set key top right
set logscale y
set multiplot layout 3,1 title "tether vs hand-written Boost.Asio client vs Netty FixedChannelPool — $subtitle"
set title "Throughput (requests/s, log scale; higher is better)"
set ylabel "req/s"
plot '$tsv' using 2:xtic(1) title 'tether' lc rgb '#1f77b4', '' using 3 title 'raw Asio' lc rgb '#ff7f0e', \
     '' using 6 title 'Netty' lc rgb '#2ca02c'
set title "Latency p99 (µs, log scale; lower is better)"
set ylabel "µs"
plot '$tsv' using 4:xtic(1) title 'tether' lc rgb '#1f77b4', '' using 5 title 'raw Asio' lc rgb '#ff7f0e', \
     '' using 7 title 'Netty' lc rgb '#2ca02c'
set title "CPU per request (µs, log scale; lower is better): client, then the server (hatched)"
set ylabel "µs/req"
plot '$tsv' using 8:xtic(1) title 'tether' lc rgb '#1f77b4', '' using 9 title 'raw Asio' lc rgb '#ff7f0e', \
     '' using 10 title 'Netty' lc rgb '#2ca02c', \
     '' using 11 title 'server: tether' fs pattern 2 lc rgb '#1f77b4', \
     '' using 12 title 'server: raw' fs pattern 2 lc rgb '#ff7f0e', \
     '' using 13 title 'server: Netty' fs pattern 2 lc rgb '#2ca02c'
unset multiplot
GNUPLOT
    echo "bench: wrote $png"
}

bench_e2e() {
    build_release tether_e2e echo_server
    if [ ! -f build/release/bench/peers/netty/tether-netty-peer.jar ]; then
        echo "bench: Netty peer skipped: no JDK 17 or Netty/Jackson jars when configured" \
            "(scripts/install-deps.sh bench installs them); tether and raw still run"
    fi
    mkdir -p docs/bench
    step "e2e: run" build/release/bench/e2e/tether_e2e \
        --json docs/bench/results.json --tsv docs/bench/e2e.tsv "${bench_args[@]}"
    step "e2e: plot" plot_e2e docs/bench/e2e.tsv docs/bench/e2e.png
}

bench_micro() {
    build_release tether_bench echo_server
    mkdir -p docs/bench
    local timing=(--benchmark_repetitions=3 --benchmark_report_aggregates_only=true)
    [ "$quick" = 1 ] && timing=(--benchmark_min_time=0.05)
    step "micro: run" build/release/bench/tether_bench "${timing[@]}" \
        --benchmark_out=docs/bench/micro.json --benchmark_out_format=json
}

bench_scale() {
    build_release tether_scale echo_server
    mkdir -p docs/bench
    local size=()
    [ "$quick" = 1 ] && size=(--quick)
    # --baseline: the floor of CPU per ping on this machine, measured in the same run.
    step "scale: run" build/release/bench/scale/tether_scale "${size[@]}" --baseline \
        --json docs/bench/scale.json
    scale_tls
}

# scale_tls: client RSS per idle link at 1,000 links, plaintext then TLS, in two short runs
# (separate processes: a second pool in the same one would reuse the first one's freed memory).
scale_tls() {
    local hold=5 transport rss=()
    [ "$quick" = 1 ] && hold=2
    for transport in plain tls; do
        local extra=()
        [ "$transport" = tls ] && extra=(--tls)
        step "scale: 1,000 idle links, $transport" build/release/bench/scale/tether_scale \
            --links 1000 --seconds "$hold" --load-links 0 "${extra[@]}" \
            --json "docs/bench/scale-1000-$transport.json" | tee "build/release/scale-$transport.log"
        rss+=("$(sed -n 's|.*client RSS growth at open[^=]*= \([0-9]*\) B/link.*|\1|p' \
            "build/release/scale-$transport.log")")
    done
    echo "bench: client RSS per idle link at 1,000 links: plaintext ${rss[0]} B, TLS ${rss[1]} B"
}

total_start=$SECONDS
# The bench extras (JDK, Netty, Jackson: the Netty peer) when they can be installed; without
# them the Netty peer is skipped and the rest runs.
if ! step "deps (with bench extras)" scripts/install-deps.sh bench; then
    echo "bench: could not install the bench extras: the Netty peer will be skipped"
    step deps scripts/install-deps.sh
fi
for b in "${wanted[@]}"; do
    "bench_$b"
done
echo "=== benchmarks done in $((SECONDS - total_start)) s"
