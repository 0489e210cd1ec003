#!/usr/bin/env bash
# Runs each libFuzzer harness of the fuzz preset (build/fuzz) for a bounded
# time, starting from its seeds in tests/fuzz/corpus/<harness>/, and fails
# when any of them finds a crash, a leak, undefined behaviour, a timeout or
# an allocation past the memory limit. The corpus grows in a scratch
# directory; the seeds are left as they are. A failing input is kept in
# build/fuzz/artifacts/ (replay: build/fuzz/tests/fuzz/fuzz_<harness> FILE).
#
#   tests/fuzz/run.sh [harness...]     (default: every harness)
#   FANOUT_FUZZ_SECONDS=60 tests/fuzz/run.sh http_response
#
# FANOUT_FUZZ_SECONDS: each harness's time (default 20); FANOUT_FUZZ_JOBS:
# harnesses run at once (default 2, one a core of a small CI machine).
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds=${FANOUT_FUZZ_SECONDS:-20}
jobs=${FANOUT_FUZZ_JOBS:-2}
build=build/fuzz
artifacts=$build/artifacts
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$artifacts"

if [ $# -gt 0 ]; then
    harnesses=("$@")
else
    harnesses=()
    for seeds in tests/fuzz/corpus/*/; do
        name=$(basename "$seeds")
        # A finding that is not ours to fix here: see tests/fuzz/known/README.md.
        if [ -e "tests/fuzz/known/$name.skip" ]; then
            echo "run.sh: $name skipped: $(head -n 1 "tests/fuzz/known/$name.skip")" >&2
            continue
        fi
        harnesses+=("$name")
    done
fi
for name in "${harnesses[@]}"; do
    [ -x "$build/tests/fuzz/fuzz_$name" ] ||
        { echo "run.sh: no $build/tests/fuzz/fuzz_$name (cmake --workflow --preset fuzz)" >&2; exit 2; }
    [ -d "tests/fuzz/corpus/$name" ] ||
        { echo "run.sh: no seeds in tests/fuzz/corpus/$name" >&2; exit 2; }
done

export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# One harness: its log in $scratch/<name>.log, its exit status in <name>.status.
run_one() {
    local name=$1 status=0
    mkdir -p "$scratch/$name"
    "$build/tests/fuzz/fuzz_$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -max_len=4096 -print_final_stats=1 -artifact_prefix="$artifacts/$name-" \
        "$scratch/$name" "tests/fuzz/corpus/$name" >"$scratch/$name.log" 2>&1 || status=$?
    echo "$status" >"$scratch/$name.status"
}

running=0
for name in "${harnesses[@]}"; do
    if [ "$running" -ge "$jobs" ]; then
        wait -n
        running=$((running - 1))
    fi
    run_one "$name" &
    running=$((running + 1))
done
wait

failed=()
printf '%-15s %10s %8s %8s %7s  %s\n' harness executions cov ft corpus result
for name in "${harnesses[@]}"; do
    log=$scratch/$name.log
    status=$(cat "$scratch/$name.status")
    # The last progress line: "#123456 DONE cov: 812 ft: 3190 corp: 301/40Kb ..."
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
    execs=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$log" | grep -oE '[0-9]+$' || true)
    cov=$(grep -oE 'cov: [0-9]+' <<<"$last" | grep -oE '[0-9]+' || true)
    ft=$(grep -oE 'ft: [0-9]+' <<<"$last" | grep -oE '[0-9]+' || true)
    corp=$(grep -oE 'corp: [0-9]+' <<<"$last" | grep -oE '[0-9]+' || true)
    result=ok
    if [ "$status" -ne 0 ]; then
        result="FAILED (exit $status)"
        failed+=("$name")
    fi
    printf '%-15s %10s %8s %8s %7s  %s\n' "$name" "${execs:-?}" "${cov:-?}" "${ft:-?}" \
        "${corp:-?}" "$result"
done
for name in "${failed[@]}"; do
    echo "--- $name" >&2
    grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$scratch/$name.log" | head -n 20 >&2 || true
    tail -n 40 "$scratch/$name.log" >&2
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "run.sh: ${failed[*]} failed; the inputs are in $artifacts/" >&2
    exit 1
fi
