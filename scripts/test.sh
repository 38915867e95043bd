#!/usr/bin/env bash
# Builds tether and runs the whole test suite: the format check first, then release, then
# ASan+UBSan, then TSan; plus the one-off checks (package consumer, fuzz corpus replay).
# Exits non-zero on any failure. Prints each step's time.
#   scripts/test.sh            everything
#   scripts/test.sh release    only the listed steps (format|release|debug|asan|tsan|package|fuzz)
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$repo_root"

wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=(format release package fuzz asan tsan)

total_start=$SECONDS
step deps scripts/install-deps.sh

# check_format: fails if clang-format (.clang-format at the root) would change any of the
# project's C++ sources. Tracked files only, so build directories are never looked at.
check_format() {
    local specs=() d
    for d in include src tests samples bench testing adapters; do
        if [ -d "$d" ]; then
            specs+=("$d/*.hpp" "$d/*.cpp") # git pathspecs: '*' also matches '/'
        fi
    done
    local files
    files=$(git ls-files -- "${specs[@]}") || return
    if [ -z "$files" ]; then
        echo "format: no C++ sources found" >&2
        return 1
    fi
    local list=()
    mapfile -t list <<<"$files"
    echo "format: ${#list[@]} files, $(clang-format --version)"
    local out
    if out=$(clang-format --dry-run --Werror "${list[@]}" 2>&1); then
        return 0
    fi
    # The whole report can be thousands of lines: the first of them, then the files to fix.
    head -n 60 <<<"$out"
    local bad
    bad=$(echo "$out" | sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: error: .*/\1/p' | sort -u)
    echo "format: $(echo "$bad" | grep -c .) file(s) need clang-format -i:" >&2
    echo "$bad" | sed 's/^/    /' >&2
    return 1
}

run_preset() {
    local preset=$1
    step "$preset: configure" cmake --preset "$preset" --log-level=WARNING
    step "$preset: build" cmake --build "build/$preset" -j"$jobs"
    step "$preset: test" ctest --preset "$preset" --output-on-failure -j"$jobs" --timeout 600
}

for w in "${wanted[@]}"; do
    case "$w" in
        format) step "format (clang-format)" check_format ;;
        release|debug|asan|tsan) run_preset "$w" ;;
        package) step "package consumer" scripts/package-test.sh ;;
        fuzz) step "fuzz corpus replay (ASan+UBSan, fixed seed)" scripts/fuzz.sh --replay ;;
        *) echo "unknown step $w" >&2; exit 2 ;;
    esac
done
echo "=== all steps passed in $((SECONDS - total_start)) s"
