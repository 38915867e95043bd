#!/usr/bin/env bash
# Installs tether into a scratch prefix and builds the consumer in tests/package twice: once with
# find_package(tether CONFIG REQUIRED), once with add_subdirectory; runs both; checks pkg-config.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$repo_root"

# Under the checkout (build/ is ignored by git) so ccache's CCACHE_BASEDIR rewrites its paths and
# the step hits the cache from any clone.
work="$repo_root/build/package"
rm -rf "$work"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT

# Library only: a consumer must not need our tests, samples or benches.
cmake -S . -B "$work/lib" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTETHER_BUILD_TESTS=OFF \
    -DTETHER_BUILD_SAMPLES=OFF -DTETHER_BUILD_BENCH=OFF -DCMAKE_INSTALL_PREFIX="$work/prefix" >/dev/null
cmake --build "$work/lib" -j"$jobs"
cmake --install "$work/lib" >/dev/null
test -f "$work/prefix/lib/cmake/tether/tetherConfig.cmake"
test -f "$work/prefix/lib/cmake/tether/tetherConfigVersion.cmake"
test -f "$work/prefix/lib/libtether.a"
test -f "$work/prefix/include/tether/tether.hpp"

# The optional component `prometheus` (tether::prometheus) is installed where prometheus-cpp is.
prometheus=OFF
if [ -f "$work/prefix/lib/cmake/tether/tetherPrometheusTargets.cmake" ]; then
    test -f "$work/prefix/lib/libtether_prometheus.a"
    test -f "$work/prefix/include/tether/prometheus.hpp"
    prometheus=ON
fi

cmake -S tests/package -B "$work/installed" -DTETHER_CONSUME=find_package \
    -DTETHER_CONSUME_PROMETHEUS=$prometheus -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/installed" -j"$jobs"
"$work/installed/tether_consumer"
if [ $prometheus = ON ]; then "$work/installed/tether_prometheus_consumer"; fi

cmake -S tests/package -B "$work/subdir" -DTETHER_CONSUME=add_subdirectory \
    -DTETHER_CONSUME_PROMETHEUS=$prometheus -DTETHER_SOURCE_DIR="$repo_root" >/dev/null
cmake --build "$work/subdir" -j"$jobs"
"$work/subdir/tether_consumer"
if [ $prometheus = ON ]; then "$work/subdir/tether_prometheus_consumer"; fi

# pkg-config, from an install into another prefix than the configured one (tether.pc must be
# relocatable): compile and run the same consumer with its flags alone.
cmake --install "$work/lib" --prefix "$work/moved" >/dev/null
export PKG_CONFIG_PATH="$work/moved/lib/pkgconfig"
pkg-config --cflags --libs tether
# shellcheck disable=SC2046 # the flags are meant to split into words
c++ -o "$work/pc_consumer" tests/package/main.cpp $(pkg-config --cflags tether) $(pkg-config --libs tether)
"$work/pc_consumer"
echo "package consumer: find_package, add_subdirectory and pkg-config all OK (tether::prometheus: $prometheus)"
