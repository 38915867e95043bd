#!/usr/bin/env bash
# Builds tether and runs the whole test suite: release, then ASan+UBSan, then TSan; plus the
# one-off checks (package consumer). Exits non-zero on any failure. Prints each step's time.
#   scripts/test.sh            everything
#   scripts/test.sh release    only the listed steps (release|debug|asan|tsan|package|fuzz)
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$repo_root"

wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=(release package fuzz asan tsan)

total_start=$SECONDS
step deps scripts/install-deps.sh

run_preset() {
    local preset=$1
    step "$preset: configure" cmake --preset "$preset" --log-level=WARNING
    step "$preset: build" cmake --build "build/$preset" -j"$jobs"
    step "$preset: test" ctest --preset "$preset" --output-on-failure -j"$jobs" --timeout 600
}

for w in "${wanted[@]}"; do
    case "$w" in
        release|debug|asan|tsan) run_preset "$w" ;;
        package) step "package consumer" scripts/package-test.sh ;;
        fuzz) step "fuzz corpus replay (ASan+UBSan, fixed seed)" scripts/fuzz.sh --replay ;;
        *) echo "unknown step $w" >&2; exit 2 ;;
    esac
done
echo "=== all steps passed in $((SECONDS - total_start)) s"
