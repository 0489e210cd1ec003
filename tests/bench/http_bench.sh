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
# requests/s per tool, their medians, the ratios fanout/wrk (goal >= 0.9) and
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

dir=$(mktemp -d "${TMPDIR:-/tmp}/fanout-http-bench.XXXXXX")
nginx_pid=
worker_pids=
child=
# The nginx workers are children of the master; if the master has to be
# killed, they would be left behind, so they are stopped by their own ids.
stop_nginx() {
    [ -n "$nginx_pid" ] || return 0
    kill -TERM "$nginx_pid" 2>/dev/null || true
    for _ in $(seq 50); do # up to 5 s, then SIGKILL
        kill -0 "$nginx_pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$nginx_pid" 2>/dev/null || true
    wait "$nginx_pid" 2>/dev/null || true
    local pid
    for pid in $worker_pids; do kill -KILL "$pid" 2>/dev/null || true; done
    nginx_pid=
    worker_pids=
}
cleanup() {
    [ -z "$child" ] || kill -TERM "$child" 2>/dev/null || true
    stop_nginx
    [ -n "${HTTP_BENCH_KEEP:-}" ] || rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# bounded <seconds> <command...>: the command under `timeout`, run in the
# background and waited for, so that a signal to this script (run.sh's own
# timeout) is handled at once rather than when the command ends.
bounded() {
    local limit=$1 rc=0
    shift
    timeout --kill-after=5 "$limit" "$@" &
    child=$!
    wait "$child" || rc=$?
    child=
    return "$rc"
}

# free_port.py: a TCP port of 127.0.0.1 free now. Another process may take it
# before nginx binds it; nginx then fails and we retry.
cat >"$dir/free_port.py" <<'EOF'
import socket
with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
EOF

# ready.py <url> <pid>: exits 0 once the URL answers 200 "ok\n" (tried every
# 50 ms), 1 if the process <pid> exits first or after 10 s.
cat >"$dir/ready.py" <<'EOF'
import os, sys, time, urllib.request
url, pid = sys.argv[1], int(sys.argv[2])
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit(1)
    try:
        with urllib.request.urlopen(url, timeout=0.5) as answer:
            if answer.status == 200 and answer.read() == b"ok\n":
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.05)
sys.exit(1)
EOF

# nginx.conf for <port>: one worker, no access log, keep-alive connections
# never closed by a request count, every path nginx writes inside $dir.
write_config() {
    cat >"$dir/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events {
    worker_connections 1024;
}
http {
    access_log off;
    server_tokens off;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    client_body_temp_path $dir/client_body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    server {
        listen 127.0.0.1:$1 backlog=1024;
        location / {
            default_type text/plain;
            return 200 "ok\n";
        }
    }
}
EOF
}

port=
for attempt in 1 2 3 4 5; do
    candidate=$(bounded 10 "$python" "$dir/free_port.py")
    write_config "$candidate"
    "$nginx" -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" 2>>"$dir/nginx.err" &
    nginx_pid=$!
    if bounded 15 "$python" "$dir/ready.py" "http://127.0.0.1:$candidate/" "$nginx_pid"; then
        port=$candidate
        break
    fi
    stop_nginx
    grep -qs "Address already in use" "$dir/error.log" "$dir/nginx.err" || break
    say "http_bench.sh: port $candidate was taken (attempt $attempt), trying another"
done
if [ -z "$port" ]; then
    cat "$dir/nginx.err" "$dir/error.log" >&2 2>/dev/null || true
    say "http_bench.sh: nginx did not come up"
    exit 1
fi
worker_pids=$(xargs <"/proc/$nginx_pid/task/$nginx_pid/children" 2>/dev/null || true)
url="http://127.0.0.1:$port/"
say "nginx (pid $nginx_pid, worker ${worker_pids:-?}) serving $url;" \
    "load average $(cut -d' ' -f1-3 /proc/loadavg)"

# nginx_cpu_ticks: user + system clock ticks of the worker(s) so far.
nginx_cpu_ticks() {
    local pid total=0 fields
    for pid in $worker_pids; do
        fields=$(cut -d')' -f2- "/proc/$pid/stat" 2>/dev/null) || continue
        total=$((total + $(awk '{ print $12 + $13 }' <<<"$fields")))
    done
    echo "$total"
}
ticks_per_s=$(getconf CLK_TCK)

# us_per <cpu seconds> <requests>: CPU microseconds per request.
us_per() { awk -v c="$1" -v n="$2" 'BEGIN { if (n + 0 > 0) printf "%.2f", c * 1e6 / n }'; }
# nginx_us <ticks before> <requests>: the worker's CPU microseconds per request since.
nginx_us() {
    us_per "$(awk -v a="$1" -v b="$(nginx_cpu_ticks)" -v t="$ticks_per_s" \
        'BEGIN { print (b - a) / t }')" "$2"
}
# cpu_of <time file>: user + system seconds from `/usr/bin/time -f '%e %U %S'`.
cpu_of() { awk 'END { print $2 + $3 }' "$1"; }

# run_wrk <round>: sets $rps, $cpu_us (wrk's CPU per request), $nginx_cpu_us.
run_wrk() {
    local log=$dir/wrk.$1.log before count errors
    before=$(nginx_cpu_ticks)
    if ! bounded $((wrk_seconds + 30)) "$gnu_time" -f '%e %U %S' -o "$dir/wrk.$1.time" \
        wrk -t1 -c"$in_flight" -d"${wrk_seconds}s" "$url" >"$log" 2>&1; then
        cat "$log" >&2
        say "http_bench.sh: wrk failed or timed out"
        exit 1
    fi
    rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$log")
    count=$(awk '/ requests in / { print $1 }' "$log")
    nginx_cpu_us=$(nginx_us "$before" "$count")
    cpu_us=$(us_per "$(cpu_of "$dir/wrk.$1.time")" "$count")
    errors=$(grep -E 'Socket errors|Non-2xx' "$log" || true)
    if [ -n "$errors" ]; then
        all_ok=0
        say "wrk round $1: $errors"
    fi
}

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

# median <numbers...>: the middle one (the mean of the two middle ones).
median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
        END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.3f", a / b }'; }
verdict() { awk -v r="$1" -v g="$2" 'BEGIN { print (r != "" && r + 0 >= g) ? "PASS" : "MISS" }'; }

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
        "goal >= 0.9x: $(verdict "$vs_wrk" 0.9) (per round: ${round_ratios[*]})"
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
