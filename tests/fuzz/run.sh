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
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds=${FANOUT_FUZZ_SECONDS:-20}
build=build/fuzz
artifacts=$build/artifacts
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$artifacts"

if [ $# -gt 0 ]; then
    harnesses=("$@")
else
    harnesses=()
    for seeds in tests/fuzz/corpus/*/; do harnesses+=("$(basename "$seeds")"); done
fi

export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
failed=()
printf '%-15s %10s %8s %8s %7s  %s\n' harness executions cov ft corpus result
for name in "${harnesses[@]}"; do
    binary=$build/tests/fuzz/fuzz_$name
    [ -x "$binary" ] || { echo "run.sh: no $binary (cmake --workflow --preset fuzz)" >&2; exit 2; }
    mkdir -p "$scratch/$name"
    log=$scratch/$name.log
    status=0
    "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
        -print_final_stats=1 -artifact_prefix="$artifacts/$name-" \
        "$scratch/$name" "tests/fuzz/corpus/$name" >"$log" 2>&1 || status=$?
    # The last progress line: "#123456 DONE cov: 812 ft: 3190 corp: 301/40Kb ..."
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
    execs=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$log" | grep -oE '[0-9]+$' || true)
    cov=$(grep -oE 'cov: [0-9]+' <<<"$last" | grep -oE '[0-9]+' || true)
    ft=$(grep -oE 'ft: [0-9]+' <<<"$last" | grep -oE '[0-9]+' || true)
    corp=$(grep -oE 'corp: [0-9]+' <<<"$last" | grep -oE '[0-9]+' || true)
    if [ "$status" -eq 0 ]; then
        result=ok
    else
        result="FAILED (exit $status)"
        failed+=("$name")
    fi
    printf '%-15s %10s %8s %8s %7s  %s\n' "$name" "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$result"
    if [ "$status" -ne 0 ]; then
        grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" | head -n 20 >&2 || true
        tail -n 40 "$log" >&2
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "run.sh: ${failed[*]} failed; the inputs are in $artifacts/" >&2
    exit 1
fi
