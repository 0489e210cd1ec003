#!/usr/bin/env bash
# `fanout load --http2` against h2load: a local nginx (one worker, `http2`
# on a TLS listener with a certificate made here, a fixed 3-byte answer,
# keep-alive never closed by a request count), 4 connections of 32 streams
# each, one load thread, the same duration each, in alternating rounds:
#
#   - h2load -c 4 -m 32 -t 1 -D <seconds> URL                       (the anchor)
#   - fanout load --http2 -c 4 -p 32 -t 1 -d <seconds>s URL
#   - fanout load -c 4 -p 32 -t 1 -d <seconds>s URL                  (HTTP/1.1 over
#     TLS, 32 pipelined per connection: the same connections and requests in flight)
#   - http_bench URL <n> 128 h2 4: the library path, fanout::gather over one
#     http::client speaking h2, 128 requests in flight on at most 4
#     connections (goal >= 0.9x h2load requests/s)
#
#   bash tests/bench/h2_bench.sh     (from the repository root; run.sh calls it)
#
# The fanout binary is $FANOUT, else build/release/apps/fanout/fanout; the
# library round's is $HTTP_BENCH, else build/release/tests/bench/http_bench
# (skipped when it is missing). H2_BENCH_LIB_REQUESTS (300000).
# H2_BENCH_BASE_HTTP_BENCH=<another http_bench> (main's build, say) adds its
# library round after each of this one's, and the ratios of the two (the
# same-run anchor for a change to the library); H2_BENCH_LIBRARY_ONLY=1 runs
# only h2load and the library rounds. Needs
# /usr/sbin/nginx, h2load (nghttp2-client), openssl, /usr/bin/time and
# python3. H2_BENCH_ROUNDS (3), H2_BENCH_SECONDS (5), H2_BENCH_KEEP=1 keeps the
# temporary directory.
#
# Prints `name value unit` lines on stdout (parsed by run.sh): each round's
# requests/s and CPU per request (user + system from /usr/bin/time) per
# tool, the medians, the ratios fanout h2 / h2load (goal >= 1.0 in
# requests/s, <= 1.0 in CPU per request) and fanout h2 / fanout 1.1; a
# summary with PASS/MISS on stderr. Exits 0 when everything ran, even if a
# target is missed; non-zero when nginx does not come up or a client fails or
# times out. Traffic stays on 127.0.0.1; every command and wait is bounded;
# nginx is stopped on every exit.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
rounds=${H2_BENCH_ROUNDS:-3}
wrk_seconds=${H2_BENCH_SECONDS:-5}
connections=4
streams=32
in_flight=$((connections * streams))
fanout=${FANOUT:-build/release/apps/fanout/fanout}
http_bench=${HTTP_BENCH:-build/release/tests/bench/http_bench}
lib_requests=${H2_BENCH_LIB_REQUESTS:-300000}
base_http_bench=${H2_BENCH_BASE_HTTP_BENCH:-}
library_only=${H2_BENCH_LIBRARY_ONLY:-}
nginx=/usr/sbin/nginx
python=/usr/bin/python3
gnu_time=/usr/bin/time

say() { printf '%s\n' "$*" >&2; }

for tool in "$nginx" h2load openssl "$gnu_time" "$python"; do
    command -v "$tool" >/dev/null || { say "h2_bench.sh: $tool is not installed"; exit 2; }
done
if [ ! -x "$fanout" ] || ! timeout 10 "$fanout" load --help 2>/dev/null | grep -q -- --http2; then
    say "h2_bench.sh: no fanout with load --http2 at $fanout (set FANOUT)"
    exit 2
fi

bench=h2_bench.sh
keep=${H2_BENCH_KEEP:-}
tls_port=
# The TLS listener with http2, beside nginx_bench.sh's plain one; its port
# and certificate are made on each attempt to start nginx.
nginx_extra_servers() {
    if [ ! -s "$dir/cert.pem" ]; then
        timeout 30 openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -keyout "$dir/key.pem" -out "$dir/cert.pem" -days 2 -subj /CN=127.0.0.1 \
            -addext subjectAltName=IP:127.0.0.1 >"$dir/openssl.log" 2>&1
    fi
    tls_port=$(timeout 10 "$python" "$dir/free_port.py")
    cat <<EOF
server {
    listen 127.0.0.1:$tls_port ssl http2 backlog=1024;
    ssl_certificate $dir/cert.pem;
    ssl_certificate_key $dir/key.pem;
    http2_max_concurrent_streams 128;
    location / {
        default_type text/plain;
        return 200 "ok\n";
    }
}
EOF
}
# shellcheck source=tests/bench/nginx_bench.sh
source tests/bench/nginx_bench.sh
h2_url="https://127.0.0.1:$tls_port/"
say "h2 and https/1.1 on $h2_url"

# run_fanout <round> <name> <flags...>: sets $rps (answers / the run's
# duration, from its --json result), $cpu_us (user + system per answer) and
# $nginx_cpu_us (the nginx worker's).
run_fanout() {
    local round=$1 name=$2 answers before
    shift 2
    before=$(nginx_cpu_ticks)
    if ! bounded $((wrk_seconds + 30)) "$gnu_time" -f '%e %U %S' -o "$dir/$name.$round.time" \
        "$fanout" load "$h2_url" --insecure "$@" -c "$connections" -p "$streams" -t 1 \
        -d "${wrk_seconds}s" --json "$dir/$name.$round.json" >"$dir/$name.$round.out" 2>&1; then
        cat "$dir/$name.$round.out" >&2
        say "h2_bench.sh: fanout load $* failed or timed out"
        exit 1
    fi
    read -r answers rps < <("$python" -c '
import json, sys
r = json.load(open(sys.argv[1]))
if r["errors"] or set(r["status_counts"]) - {"200"}:
    print("errors", r["errors"], r["errors_by_kind"], "statuses", r["status_counts"], file=sys.stderr)
print(r["responses"], round(r["responses"] / (r["duration_ns"] / 1e9)))' "$dir/$name.$round.json" \
        2>>"$dir/$name.$round.problems")
    if [ -s "$dir/$name.$round.problems" ]; then
        all_ok=0
        say "$name round $round: $(cat "$dir/$name.$round.problems")"
    fi
    nginx_cpu_us=$(nginx_us "$before" "$answers")
    cpu_us=$(us_per "$(cpu_of "$dir/$name.$round.time")" "$answers")
}

# run_h2load <round>: sets $rps, $cpu_us, $nginx_cpu_us.
run_h2load() {
    local log=$dir/h2load.$1.log done_count before
    before=$(nginx_cpu_ticks)
    if ! bounded $((wrk_seconds + 30)) "$gnu_time" -f '%e %U %S' -o "$dir/h2load.$1.time" \
        h2load -c "$connections" -m "$streams" -t 1 -D "$wrk_seconds" "$h2_url" >"$log" 2>&1; then
        cat "$log" >&2
        say "h2_bench.sh: h2load failed or timed out"
        exit 1
    fi
    rps=$(awk '/^finished in/ { gsub(",", "", $4); printf "%.0f", $4 }' "$log")
    done_count=$(awk '/^requests:/ { print $8 }' "$log")
    if ! grep -q ' 0 failed, 0 errored' "$log" || ! grep -q 'Application protocol: h2' "$log"; then
        all_ok=0
        say "h2load round $1: $(grep -E '^requests:|Application protocol' "$log" | tr '\n' ' ')"
    fi
    nginx_cpu_us=$(nginx_us "$before" "$done_count")
    cpu_us=$(us_per "$(cpu_of "$dir/h2load.$1.time")" "$done_count")
}

# run_library <round> [binary]: sets $rps and $cpu_us from http_bench's own lines.
run_library() {
    local out=$dir/library.$1.${2:+base.}out ok cpu binary=${2:-$http_bench}
    if ! bounded 120 "$binary" "$h2_url" "$lib_requests" "$in_flight" h2 "$connections" \
        >"$out" 2>&1; then
        cat "$out" >&2
        say "h2_bench.sh: http_bench (h2) failed or timed out"
        exit 1
    fi
    rps=$(awk '$1 == "requests_per_s" { print $2 }' "$out")
    ok=$(awk '$1 == "ok" { print $2 }' "$out")
    cpu=$(awk '$1 == "cpu_s" { print $2 }' "$out")
    [ "$ok" = "$lib_requests" ] || { all_ok=0; say "library round $1: $ok of $lib_requests ok"; }
    cpu_us=$(us_per "$cpu" "$ok")
}

h2_rps=() h2_cpu=() fan_rps=() fan_cpu=() h1_rps=() h1_cpu=() lib_rps=() lib_cpu=()
base_rps=() base_cpu=()
all_ok=1
for round in $(seq "$rounds"); do
    run_h2load "$round"
    echo "h2load_round${round}_requests_per_s $rps requests/s"
    echo "h2load_round${round}_cpu_us_per_request $cpu_us us"
    say "round $round: h2load $rps requests/s, $cpu_us us CPU/request, nginx $nginx_cpu_us us (load $(cut -d' ' -f1 /proc/loadavg))"
    h2_rps+=("$rps") h2_cpu+=("$cpu_us")

    if [ -z "$library_only" ]; then
        run_fanout "$round" fanout_h2 --http2
        echo "fanout_h2_round${round}_requests_per_s $rps requests/s"
        echo "fanout_h2_round${round}_cpu_us_per_request $cpu_us us"
        say "round $round: fanout load --http2 $rps requests/s, $cpu_us us CPU/request, nginx $nginx_cpu_us us (load $(cut -d' ' -f1 /proc/loadavg))"
        fan_rps+=("$rps") fan_cpu+=("$cpu_us")

        run_fanout "$round" fanout_h1
        echo "fanout_h1_round${round}_requests_per_s $rps requests/s"
        echo "fanout_h1_round${round}_cpu_us_per_request $cpu_us us"
        say "round $round: fanout load (https/1.1, -p $streams) $rps requests/s, $cpu_us us CPU/request, nginx $nginx_cpu_us us (load $(cut -d' ' -f1 /proc/loadavg))"
        h1_rps+=("$rps") h1_cpu+=("$cpu_us")
    fi

    if [ -x "$http_bench" ]; then
        run_library "$round"
        echo "library_h2_round${round}_requests_per_s $rps requests/s"
        echo "library_h2_round${round}_cpu_us_per_request $cpu_us us"
        say "round $round: gather over http::client (h2, $in_flight in flight) $rps requests/s, $cpu_us us CPU/request (load $(cut -d' ' -f1 /proc/loadavg))"
        lib_rps+=("$rps") lib_cpu+=("$cpu_us")
    fi
    if [ -n "$base_http_bench" ]; then
        run_library "$round" "$base_http_bench"
        echo "library_base_round${round}_requests_per_s $rps requests/s"
        echo "library_base_round${round}_cpu_us_per_request $cpu_us us"
        say "round $round: the base http_bench ($base_http_bench) $rps requests/s, $cpu_us us CPU/request (load $(cut -d' ' -f1 /proc/loadavg))"
        base_rps+=("$rps") base_cpu+=("$cpu_us")
    fi
done

h2_med=$(printf '%.0f' "$(median "${h2_rps[@]}")")
h2_cpu_med=$(median "${h2_cpu[@]}")
echo "h2load_requests_per_s $h2_med requests/s"
echo "h2load_cpu_us_per_request $h2_cpu_med us"
if [ -z "$library_only" ]; then
    fan_med=$(printf '%.0f' "$(median "${fan_rps[@]}")")
    h1_med=$(printf '%.0f' "$(median "${h1_rps[@]}")")
    fan_cpu_med=$(median "${fan_cpu[@]}")
    h1_cpu_med=$(median "${h1_cpu[@]}")
    vs_h2load=$(ratio "$fan_med" "$h2_med")
    cpu_vs_h2load=$(ratio "$fan_cpu_med" "$h2_cpu_med")
    vs_h1=$(ratio "$fan_med" "$h1_med")
    cpu_vs_h1=$(ratio "$fan_cpu_med" "$h1_cpu_med")
    echo "fanout_h2_requests_per_s $fan_med requests/s"
    echo "fanout_h1_requests_per_s $h1_med requests/s"
    echo "fanout_h2_cpu_us_per_request $fan_cpu_med us"
    echo "fanout_h1_cpu_us_per_request $h1_cpu_med us"
    echo "fanout_h2_vs_h2load $vs_h2load x"
    echo "fanout_h2_cpu_vs_h2load $cpu_vs_h2load x"
    echo "fanout_h2_vs_h1 $vs_h1 x"
    echo "fanout_h2_cpu_vs_h1 $cpu_vs_h1 x"
fi
if [ "${#lib_rps[@]}" -gt 0 ]; then
    lib_med=$(printf '%.0f' "$(median "${lib_rps[@]}")")
    lib_vs_h2load=$(ratio "$lib_med" "$h2_med")
    echo "library_h2_requests_per_s $lib_med requests/s"
    echo "library_h2_cpu_us_per_request $(median "${lib_cpu[@]}") us"
    echo "library_h2_vs_h2load $lib_vs_h2load x"
    say "gather over http::client (h2) / h2load: $lib_med / $h2_med = ${lib_vs_h2load}x, goal >= 0.9x: $(verdict "$lib_vs_h2load" 0.9)"
    if [ "${#base_rps[@]}" -gt 0 ]; then
        base_med=$(printf '%.0f' "$(median "${base_rps[@]}")")
        lib_cpu_med=$(median "${lib_cpu[@]}")
        base_cpu_med=$(median "${base_cpu[@]}")
        echo "library_base_requests_per_s $base_med requests/s"
        echo "library_base_cpu_us_per_request $base_cpu_med us"
        echo "library_base_vs_h2load $(ratio "$base_med" "$h2_med") x"
        echo "library_vs_base $(ratio "$lib_med" "$base_med") x"
        echo "library_cpu_vs_base $(ratio "$lib_cpu_med" "$base_cpu_med") x"
        say "library / base: $lib_med / $base_med requests/s = $(ratio "$lib_med" "$base_med")x; CPU per request $lib_cpu_med / $base_cpu_med us = $(ratio "$lib_cpu_med" "$base_cpu_med")x; base / h2load $(ratio "$base_med" "$h2_med")x"
    fi
else
    say "h2_bench.sh: SKIPPING the library round: no executable $http_bench (set HTTP_BENCH)"
fi
echo "h2_all_ok $all_ok bool"
if [ -z "$library_only" ]; then
    say "fanout load --http2 / h2load (median of $rounds): $fan_med / $h2_med = ${vs_h2load}x, goal >= 1.0x: $(verdict "$vs_h2load" 1.0)"
    say "CPU per request fanout h2 / h2load: $fan_cpu_med / $h2_cpu_med us = ${cpu_vs_h2load}x, goal <= 1.0x:" \
        "$(awk -v r="$cpu_vs_h2load" 'BEGIN { print (r != "" && r + 0 <= 1.0) ? "PASS" : "MISS" }')"
    say "fanout h2 / fanout https/1.1 -p $streams: $fan_med / $h1_med = ${vs_h1}x requests/s, CPU ${cpu_vs_h1}x"
fi
say "every request answered 200: $([ "$all_ok" = 1 ] && echo PASS || echo MISS)"
say "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
