#!/usr/bin/env bash
# Builds the libFuzzer targets of the sans-io wire layer (the `fuzz` preset: clang, ASan+UBSan)
# and runs them. Exits non-zero if any target crashed (crash inputs go to build/fuzz/crashes/).
#   scripts/fuzz.sh SECONDS    fuzz each target open-ended for SECONDS, starting from a copy of
#                              the checked-in corpus (tests/fuzz/corpus/<target>/); new inputs
#                              are listed and kept in build/fuzz/findings/<target>/
#   scripts/fuzz.sh --replay   CI: every checked-in input once (-runs=0), then a short run with
#                              a fixed seed (-seed=1 -runs=$TETHER_FUZZ_RUNS, default 20000),
#                              which is deterministic for a given corpus and binary
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=env.sh
source "$(dirname "$0")/env.sh"
cd "$repo_root"

usage() {
    echo "usage: $0 SECONDS | --replay" >&2
    exit 2
}
[ $# -eq 1 ] || usage
mode=$1
case "$mode" in
    --replay) ;;
    *[!0-9]* | '' | 0) usage ;;
esac

build_dir=build/fuzz
crash_dir=$build_dir/crashes
findings_dir=$build_dir/findings
# target:corpus directory under tests/fuzz/corpus
targets=(fuzz_frame_decoder:frame_decoder fuzz_message:message fuzz_json_sax:json_sax)
replay_runs=${TETHER_FUZZ_RUNS:-20000}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

total_start=$SECONDS
step "fuzz: configure" cmake --preset fuzz --log-level=WARNING
step "fuzz: build" cmake --build "$build_dir" -j"$jobs"
mkdir -p "$crash_dir"
touch "$build_dir/.fuzz-start"

# Options shared by every run: one slow input (> 10 s) counts as a failure too.
common_flags() {
    local target=$1
    echo "-artifact_prefix=$crash_dir/$target- -timeout=10 -rss_limit_mb=2048 -print_final_stats=1"
}

# Replays are meant to be deterministic: a fixed seed (it also fixes the shuffling of the
# inputs), no periodic re-reading of the corpus dir (-reload=0), fuzzers built without the
# stack-depth feature (tests/fuzz/CMakeLists.txt) and, where the kernel lets us, no
# address-space randomisation (so that nothing address-dependent can steer the mutations).
norandom=()
if setarch "$(uname -m)" -R true 2>/dev/null; then
    norandom=(setarch "$(uname -m)" -R)
fi

# replay TARGET CORPUS: the checked-in inputs once each, then a fixed-seed run whose new inputs
# land in a scratch directory (the checked-in corpus is only read).
replay() {
    local target=$1 corpus=$2 bin=$build_dir/tests/fuzz/$1 scratch
    # shellcheck disable=SC2046
    "${norandom[@]}" "$bin" $(common_flags "$target") -seed=1 -runs=0 "$corpus" || return
    scratch=$(mktemp -d "$build_dir/replay-$target.XXXXXX")
    # shellcheck disable=SC2046
    "${norandom[@]}" "$bin" $(common_flags "$target") -seed=1 -runs="$replay_runs" -reload=0 \
        "$scratch" "$corpus"
    local rc=$?
    rm -rf "$scratch"
    return $rc
}

# explore TARGET CORPUS SECONDS: fuzzing from a copy of the corpus; reports what is new.
explore() {
    local target=$1 corpus=$2 seconds=$3 bin=$build_dir/tests/fuzz/$1
    local work=$findings_dir/$target
    rm -rf "$work" && mkdir -p "$work" || return
    cp "$corpus"/* "$work"/ || return
    # shellcheck disable=SC2046
    "$bin" $(common_flags "$target") -max_total_time="$seconds" "$work"
    local rc=$?
    # Everything in the work dir that is not in the checked-in corpus is a finding (an input
    # that reached new coverage); keep only those.
    local f new=0
    for f in "$work"/*; do
        if [ -e "$corpus/$(basename "$f")" ]; then
            rm -f "$f"
        else
            new=$((new + 1))
        fi
    done
    echo "--- $target: $new new input(s) in $work (add useful ones to $corpus)"
    return $rc
}

failed=()
for entry in "${targets[@]}"; do
    target=${entry%%:*}
    corpus=tests/fuzz/corpus/${entry#*:}
    if [ "$mode" = --replay ]; then
        step "fuzz: replay $target" replay "$target" "$corpus" || failed+=("$target")
    else
        step "fuzz: $target for $mode s" explore "$target" "$corpus" "$mode" || failed+=("$target")
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "=== FAILED: ${failed[*]}; inputs saved by this run:"
    find "$crash_dir" -type f -newer "$build_dir/.fuzz-start" -exec ls -l {} +
    exit 1
fi
echo "=== fuzzing passed in $((SECONDS - total_start)) s"
