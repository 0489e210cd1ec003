#!/usr/bin/env bash
# `fanout load` against wrk and h2load: a local nginx (one worker, keep-alive,
# a fixed 3-byte answer), 64 connections, one load thread each, the same
# duration each, in alternating rounds (wrk, fanout load, h2load, fanout load
# -p 16; then again):
#
#   - wrk -t1 -c64 -d<seconds>s                  (the anchor)
#   - fanout load -t1 -c64 -d<seconds>s          (closed loop, no pipelining)
#   - h2load --h1 -t1 -c64 -D <seconds>          (HTTP/1.1)
#   - fanout load -t1 -c64 -p16 -d<seconds>s     (16 requests pipelined per connection)
#
#   bash tests/bench/load_bench.sh     (from the repository root; run.sh calls it)
#
# The fanout binary is $FANOUT, else build/release/apps/fanout/fanout. Needs
# /usr/sbin/nginx, wrk, h2load (nghttp2-client), /usr/bin/time and python3.
# LOAD_BENCH_ROUNDS (3), LOAD_BENCH_SECONDS (5), LOAD_BENCH_KEEP=1 keeps the
# temporary directory.
#
# Prints `name value unit` lines on stdout (parsed by run.sh): each round's
# requests/s per tool, the medians, the ratios fanout/wrk (goal >= 1.0),
# fanout -p16/wrk (goal >= 2.0) and CPU per request fanout/wrk (user+sys from
# /usr/bin/time; goal <= 0.95); a summary with PASS/MISS on stderr. Exits 0
# when everything ran, even if a target is missed; non-zero when nginx does
# not come up or a client fails or times out. Traffic stays on 127.0.0.1;
# every command and wait is bounded; nginx is stopped on every exit.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
rounds=${LOAD_BENCH_ROUNDS:-3}
wrk_seconds=${LOAD_BENCH_SECONDS:-5}
in_flight=64
fanout=${FANOUT:-build/release/apps/fanout/fanout}
nginx=/usr/sbin/nginx
python=/usr/bin/python3
gnu_time=/usr/bin/time

say() { printf '%s\n' "$*" >&2; }

for tool in "$nginx" wrk h2load "$gnu_time" "$python"; do
    command -v "$tool" >/dev/null || { say "load_bench.sh: $tool is not installed"; exit 2; }
done
if [ ! -x "$fanout" ] || ! timeout 10 "$fanout" load --help >/dev/null 2>&1; then
    say "load_bench.sh: no fanout with a load subcommand at $fanout (set FANOUT)"
    exit 2
fi

bench=load_bench.sh
keep=${LOAD_BENCH_KEEP:-}
# shellcheck source=tests/bench/nginx_bench.sh
source tests/bench/nginx_bench.sh

# run_fanout <round> <pipeline depth>: sets $rps (answers / the run's
# duration, from its --json result), $cpu_us (the process's user + system
# per answer), $nginx_cpu_us.
run_fanout() {
    local name=fanout_p$2 before answers
    before=$(nginx_cpu_ticks)
    if ! bounded $((wrk_seconds + 30)) "$gnu_time" -f '%e %U %S' -o "$dir/$name.$1.time" \
        "$fanout" load "$url" -t 1 -c "$in_flight" -p "$2" -d "${wrk_seconds}s" \
        --json "$dir/$name.$1.json" >"$dir/$name.$1.out" 2>&1; then
        cat "$dir/$name.$1.out" >&2
        say "load_bench.sh: fanout load failed or timed out"
        exit 1
    fi
    read -r answers rps < <("$python" -c '
import json, sys
r = json.load(open(sys.argv[1]))
if r["errors"] or set(r["status_counts"]) - {"200"}:
    print("errors", r["errors"], "statuses", r["status_counts"], file=sys.stderr)
print(r["responses"], round(r["responses"] / (r["duration_ns"] / 1e9)))' "$dir/$name.$1.json" \
        2>>"$dir/$name.$1.problems")
    if [ -s "$dir/$name.$1.problems" ]; then
        all_ok=0
        say "fanout load -p $2 round $1: $(cat "$dir/$name.$1.problems")"
    fi
    nginx_cpu_us=$(nginx_us "$before" "$answers")
    cpu_us=$(us_per "$(cpu_of "$dir/$name.$1.time")" "$answers")
}

# run_h2load <round>: sets $rps, $cpu_us, $nginx_cpu_us.
run_h2load() {
    local log=$dir/h2load.$1.log before done_count
    before=$(nginx_cpu_ticks)
    if ! bounded $((wrk_seconds + 30)) "$gnu_time" -f '%e %U %S' -o "$dir/h2load.$1.time" \
        h2load --h1 -t1 -c"$in_flight" -D "$wrk_seconds" "$url" >"$log" 2>&1; then
        cat "$log" >&2
        say "load_bench.sh: h2load failed or timed out"
        exit 1
    fi
    rps=$(awk '/^finished in/ { gsub(",", "", $4); printf "%.0f", $4 }' "$log")
    done_count=$(awk '/^requests:/ { print $8 }' "$log")
    if ! grep -q ' 0 failed, 0 errored' "$log"; then
        all_ok=0
        say "h2load round $1: $(grep '^requests:' "$log")"
    fi
    nginx_cpu_us=$(nginx_us "$before" "$done_count")
    cpu_us=$(us_per "$(cpu_of "$dir/h2load.$1.time")" "$done_count")
}

wrk_rps=() wrk_cpu=() fan_rps=() fan_cpu=() h2_rps=() h2_cpu=() pipe_rps=() pipe_cpu=()
all_ok=1
for round in $(seq "$rounds"); do
    run_wrk "$round"
    echo "wrk_round${round}_requests_per_s $rps requests/s"
    say "round $round: wrk $rps requests/s, $cpu_us us CPU/request (load $(cut -d' ' -f1 /proc/loadavg))"
    wrk_rps+=("$rps") wrk_cpu+=("$cpu_us")

    run_fanout "$round" 1
    echo "fanout_load_round${round}_requests_per_s $rps requests/s"
    say "round $round: fanout load $rps requests/s, $cpu_us us CPU/request (load $(cut -d' ' -f1 /proc/loadavg))"
    fan_rps+=("$rps") fan_cpu+=("$cpu_us")

    run_h2load "$round"
    echo "h2load_round${round}_requests_per_s $rps requests/s"
    say "round $round: h2load $rps requests/s, $cpu_us us CPU/request (load $(cut -d' ' -f1 /proc/loadavg))"
    h2_rps+=("$rps") h2_cpu+=("$cpu_us")

    run_fanout "$round" 16
    echo "fanout_load_p16_round${round}_requests_per_s $rps requests/s"
    say "round $round: fanout load -p 16 $rps requests/s, $cpu_us us CPU/request (load $(cut -d' ' -f1 /proc/loadavg))"
    pipe_rps+=("$rps") pipe_cpu+=("$cpu_us")
done

wrk_med=$(printf '%.0f' "$(median "${wrk_rps[@]}")")
fan_med=$(printf '%.0f' "$(median "${fan_rps[@]}")")
h2_med=$(printf '%.0f' "$(median "${h2_rps[@]}")")
pipe_med=$(printf '%.0f' "$(median "${pipe_rps[@]}")")
wrk_cpu_med=$(median "${wrk_cpu[@]}")
fan_cpu_med=$(median "${fan_cpu[@]}")
vs_wrk=$(ratio "$fan_med" "$wrk_med")
cpu_vs_wrk=$(ratio "$fan_cpu_med" "$wrk_cpu_med")
pipe_vs_wrk=$(ratio "$pipe_med" "$wrk_med")
echo "wrk_requests_per_s $wrk_med requests/s"
echo "fanout_load_requests_per_s $fan_med requests/s"
echo "h2load_requests_per_s $h2_med requests/s"
echo "fanout_load_p16_requests_per_s $pipe_med requests/s"
echo "wrk_cpu_us_per_request $wrk_cpu_med us"
echo "fanout_load_cpu_us_per_request $fan_cpu_med us"
echo "h2load_cpu_us_per_request $(median "${h2_cpu[@]}") us"
echo "fanout_load_vs_wrk $vs_wrk x"
echo "fanout_load_cpu_vs_wrk $cpu_vs_wrk x"
echo "fanout_load_p16_vs_wrk $pipe_vs_wrk x"
echo "load_all_ok $all_ok bool"
say "fanout load / wrk (median of $rounds): $fan_med / $wrk_med = ${vs_wrk}x, goal >= 1.0x: $(verdict "$vs_wrk" 1.0)"
say "CPU per request fanout load / wrk: $fan_cpu_med / $wrk_cpu_med us = ${cpu_vs_wrk}x, goal <= 0.95x:" \
    "$(awk -v r="$cpu_vs_wrk" 'BEGIN { print (r != "" && r + 0 <= 0.95) ? "PASS" : "MISS" }')"
say "fanout load -p 16 / wrk: $pipe_med / $wrk_med = ${pipe_vs_wrk}x, goal >= 2.0x: $(verdict "$pipe_vs_wrk" 2.0)"
say "h2load --h1: $h2_med requests/s, $(median "${h2_cpu[@]}") us CPU/request"
say "every request answered 200: $([ "$all_ok" = 1 ] && echo PASS || echo MISS)"
say "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
