#!/usr/bin/env bash
# HTTP throughput against a local nginx (one worker, keep-alive, a fixed
# 3-byte answer `return 200 "ok\n"`, no file read), 64 requests in flight,
# measured in the same run by three clients, in alternating rounds (wrk,
# fanout, Python; wrk, fanout, Python; ...):
#
#   - wrk -t1 -c64 -d<seconds>s            (the anchor: one thread, 64 connections)
#   - http_bench URL 200000 64             (fanout::gather_each over an http::client)
#   - http_aiohttp.py URL --requests 20000 (asyncio + aiohttp + Semaphore, the seed style)
#
#   bash tests/bench/http_bench.sh     (from the repository root; run.sh calls it)
#
# The http_bench binary is $HTTP_BENCH, else build/release/tests/bench/http_bench;
# without it only wrk and Python run. Needs /usr/sbin/nginx, wrk, /usr/bin/time
# and /usr/bin/python3 with aiohttp (python3-aiohttp). Settings:
# HTTP_BENCH_REQUESTS (200000), HTTP_BENCH_PY_REQUESTS (20000),
# HTTP_BENCH_ROUNDS (3), HTTP_BENCH_SECONDS (wrk's duration, 5),
# HTTP_BENCH_KEEP=1 keeps the temporary directory (nginx.conf, logs).
#
# Prints `name value unit` lines on stdout (parsed by run.sh): each round's
# requests/s per tool, their medians, the ratios fanout/wrk (goal >= 0.95) and
# fanout/aiohttp (goal >= 20), and CPU microseconds per request of each client
# and of the nginx worker while serving it (informational); a summary with
# PASS/MISS on stderr. Nothing is pinned to a CPU: the machine is shared, so
# compare the ratios of one run. Exits 0 when everything ran, even if a
# target is missed; non-zero when nginx does not come up or a client fails or
# times out. All traffic stays on 127.0.0.1; every command and wait is
# bounded, and nginx (master and worker) is stopped on every exit.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
requests=${HTTP_BENCH_REQUESTS:-200000}
py_requests=${HTTP_BENCH_PY_REQUESTS:-20000}
rounds=${HTTP_BENCH_ROUNDS:-3}
wrk_seconds=${HTTP_BENCH_SECONDS:-5}
in_flight=64
http_bench=${HTTP_BENCH:-build/release/tests/bench/http_bench}
nginx=/usr/sbin/nginx
python=/usr/bin/python3
gnu_time=/usr/bin/time

say() { printf '%s\n' "$*" >&2; }

for tool in "$nginx" wrk "$gnu_time" "$python"; do
    command -v "$tool" >/dev/null || { say "http_bench.sh: $tool is not installed"; exit 2; }
done
timeout 10 "$python" -c 'import aiohttp' 2>/dev/null ||
    { say "http_bench.sh: $python has no aiohttp (apt-get install python3-aiohttp)"; exit 2; }
have_fanout=1
if [ ! -x "$http_bench" ]; then
    have_fanout=0
    say "http_bench.sh: SKIPPING fanout: no executable $http_bench (set HTTP_BENCH)"
fi

bench=http_bench.sh
keep=${HTTP_BENCH_KEEP:-}
# shellcheck source=tests/bench/nginx_bench.sh
source tests/bench/nginx_bench.sh

# client <name> <round> <seconds> <command...>: runs a client that prints
# `name value` lines, under /usr/bin/time. Exit 1 with a rate printed means
# that some requests failed (it says which on stderr): recorded in $all_ok,
# and the run goes on. Any other failure (a crash, a timeout) ends the bench.
client() {
    local name=$1 round=$2 limit=$3 rc=0
    shift 3
    bounded "$limit" "$gnu_time" -f '%e %U %S' -o "$dir/$name.$round.time" "$@" \
        >"$dir/$name.$round.out" 2>"$dir/$name.$round.err" || rc=$?
    if [ "$rc" -eq 1 ] && grep -q 'requests_per_s ' "$dir/$name.$round.out"; then
        all_ok=0
        say "$name round $round: $(tail -n 1 "$dir/$name.$round.err")"
    elif [ "$rc" -ne 0 ]; then
        cat "$dir/$name.$round.out" >&2
        tail -n 20 "$dir/$name.$round.err" >&2
        say "http_bench.sh: $name failed (exit $rc; 124: timed out after ${limit}s)"
        exit 1
    fi
}

# run_fanout <round>: sets $rps (as http_bench measures it: the gather's wall
# time), $cpu_us (the whole process, from /usr/bin/time), $nginx_cpu_us.
run_fanout() {
    local before
    before=$(nginx_cpu_ticks)
    client fanout "$1" 300 "$http_bench" "$url" "$requests" "$in_flight"
    nginx_cpu_us=$(nginx_us "$before" "$requests")
    rps=$(awk '$1 == "requests_per_s" { print $2 }' "$dir/fanout.$1.out")
    cpu_us=$(us_per "$(cpu_of "$dir/fanout.$1.time")" "$requests")
}

# run_python <round>: sets $rps and $cpu_us (the CPU time of the gather, as
# the script measures it: the interpreter's start-up and imports left out).
run_python() {
    client aiohttp "$1" 600 "$python" tests/bench/http_aiohttp.py "$url" \
        --requests "$py_requests" --limit "$in_flight"
    rps=$(awk '$1 == "aiohttp_requests_per_s" { print $2 }' "$dir/aiohttp.$1.out")
    cpu_us=$(us_per "$(awk '$1 == "aiohttp_cpu_s" { print $2 }' "$dir/aiohttp.$1.out")" \
        "$py_requests")
}

wrk_rps=() wrk_cpu=() wrk_nginx=()
fan_rps=() fan_cpu=() fan_nginx=() round_ratios=()
py_rps=() py_cpu=()
all_ok=1
for round in $(seq "$rounds"); do
    load="load $(cut -d' ' -f1 /proc/loadavg)"
    run_wrk "$round"
    echo "wrk_round${round}_requests_per_s $rps requests/s"
    say "round $round: wrk $rps requests/s, ${cpu_us} us CPU/request, nginx ${nginx_cpu_us} us ($load)"
    wrk_rps+=("$rps") wrk_cpu+=("$cpu_us") wrk_nginx+=("$nginx_cpu_us")
    if [ "$have_fanout" -eq 1 ]; then
        load="load $(cut -d' ' -f1 /proc/loadavg)"
        run_fanout "$round"
        echo "fanout_round${round}_requests_per_s $rps requests/s"
        say "round $round: fanout $rps requests/s, ${cpu_us} us CPU/request," \
            "nginx ${nginx_cpu_us} us ($load)"
        fan_rps+=("$rps") fan_cpu+=("$cpu_us") fan_nginx+=("$nginx_cpu_us")
        round_ratios+=("$(ratio "$rps" "${wrk_rps[-1]}")")
    fi
    load="load $(cut -d' ' -f1 /proc/loadavg)"
    run_python "$round"
    echo "aiohttp_round${round}_requests_per_s $rps requests/s"
    say "round $round: aiohttp $rps requests/s, ${cpu_us} us CPU/request ($load)"
    py_rps+=("$rps") py_cpu+=("$cpu_us")
done

wrk_med=$(printf '%.0f' "$(median "${wrk_rps[@]}")")
py_med=$(printf '%.0f' "$(median "${py_rps[@]}")")
echo "wrk_requests_per_s $wrk_med requests/s"
echo "aiohttp_requests_per_s $py_med requests/s"
echo "wrk_cpu_us_per_request $(median "${wrk_cpu[@]}") us"
echo "aiohttp_cpu_us_per_request $(median "${py_cpu[@]}") us"
echo "nginx_cpu_us_per_request_wrk $(median "${wrk_nginx[@]}") us"
echo "http_all_ok $all_ok bool"
if [ "$have_fanout" -eq 1 ]; then
    fan_med=$(printf '%.0f' "$(median "${fan_rps[@]}")")
    vs_wrk=$(ratio "$fan_med" "$wrk_med")
    vs_py=$(ratio "$fan_med" "$py_med")
    echo "fanout_requests_per_s $fan_med requests/s"
    echo "fanout_cpu_us_per_request $(median "${fan_cpu[@]}") us"
    echo "nginx_cpu_us_per_request_fanout $(median "${fan_nginx[@]}") us"
    echo "fanout_vs_wrk $vs_wrk x"
    echo "fanout_vs_aiohttp $vs_py x"
    # Each round's fanout / wrk (the two ran one after the other), median:
    # less moved by load that comes and goes than the ratio of the medians.
    echo "fanout_vs_wrk_median_of_rounds $(median "${round_ratios[@]}") x"
    say "fanout / wrk (median of $rounds): $fan_med / $wrk_med = ${vs_wrk}x," \
        "goal >= 0.95x: $(verdict "$vs_wrk" 0.95) (per round: ${round_ratios[*]})"
    say "fanout / aiohttp (median of $rounds): $fan_med / $py_med = ${vs_py}x," \
        "goal >= 20x: $(verdict "$vs_py" 20)"
    say "CPU per request (median): fanout $(median "${fan_cpu[@]}") us," \
        "wrk $(median "${wrk_cpu[@]}") us, aiohttp $(median "${py_cpu[@]}") us;" \
        "nginx serving fanout $(median "${fan_nginx[@]}") us, serving wrk $(median "${wrk_nginx[@]}") us"
    say "every request (wrk, fanout, aiohttp) answered 200:" \
        "$([ "$all_ok" = 1 ] && echo PASS || echo MISS)"
else
    say "wrk (median of $rounds): $wrk_med requests/s; aiohttp $py_med requests/s; fanout: NO DATA"
fi
say "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
