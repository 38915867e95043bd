#!/usr/bin/env bash
# Installs the Debian bookworm packages tether needs, and only those that are missing.
# Idempotent. As root it installs; otherwise it uses sudo when available, or prints the exact
# apt-get line to run and exits non-zero.
#   scripts/install-deps.sh         what the build and the tests need
#   scripts/install-deps.sh bench   that and the benchmarks' extras: a JDK and the Netty and
#                                   Jackson jars of bench/peers/netty (scripts/bench.sh)
set -euo pipefail

packages=(
    g++ cmake make pkg-config ccache
    libboost1.81-dev libboost-system1.81-dev nlohmann-json3-dev
    libgtest-dev libgmock-dev libbenchmark-dev
    libssl-dev openssl
    clang libclang-rt-14-dev clang-format
    iproute2 util-linux procps gnuplot-nox valgrind
    prometheus prometheus-cpp-dev
)

# Only for the Netty peer of tether_e2e: the tests never need Java.
bench_extras=(default-jdk-headless libnetty-java libjackson2-databind-java)

case "${1:-}" in
    "") ;;
    bench) packages+=("${bench_extras[@]}") ;;
    *) echo "usage: scripts/install-deps.sh [bench]" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#packages[@]} packages present"
    exit 0
fi

cmd=(apt-get install -y --no-install-recommends "${missing[@]}")
if [ "$(id -u)" -eq 0 ]; then
    runner=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    runner=(sudo)
else
    echo "install-deps: missing packages; run as root:" >&2
    echo "  apt-get update && ${cmd[*]}" >&2
    exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Try without refreshing the index first: a fresh image may have a usable one already.
if ! "${runner[@]}" "${cmd[@]}"; then
    "${runner[@]}" apt-get update
    "${runner[@]}" "${cmd[@]}"
fi
