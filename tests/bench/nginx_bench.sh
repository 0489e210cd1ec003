# Sourced by the HTTP benchmarks (http_bench.sh, load_bench.sh): starts a
# local nginx (one worker, keep-alive, `return 200 "ok\n"`, no access log) on
# a free port of 127.0.0.1 in a temporary directory, stops it (master and
# worker) on every exit, and gives the helpers they share: bounded, wrk
# rounds, CPU accounting of the client and of the nginx worker, median,
# ratio, verdict.
#
# Before sourcing, set: bench (the script's name, for messages and the
# temporary directory), keep (non-empty: keep the directory), in_flight and
# wrk_seconds (for run_wrk), python (/usr/bin/python3) and gnu_time
# (/usr/bin/time); define say. Afterwards: $dir, $port, $url, $worker_pids.

dir=$(mktemp -d "${TMPDIR:-/tmp}/fanout-$bench.XXXXXX")
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
    [ -n "$keep" ] || rm -rf "$dir"
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
# never closed by a request count, every path nginx writes inside $dir. A
# sourcing script may define nginx_extra_servers: its output (server blocks)
# is included in the http block; it runs again on each attempt.
write_config() {
    local extra=
    if declare -F nginx_extra_servers >/dev/null; then
        nginx_extra_servers >"$dir/extra.conf"
        extra="include $dir/extra.conf;"
    fi
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
    $extra
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
    say "$bench: port $candidate was taken (attempt $attempt), trying another"
done
if [ -z "$port" ]; then
    cat "$dir/nginx.err" "$dir/error.log" >&2 2>/dev/null || true
    say "$bench: nginx did not come up"
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
        say "$bench: wrk failed or timed out"
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

# median <numbers...>: the middle one (the mean of the two middle ones).
median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
        END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.3f", a / b }'; }
verdict() { awk -v r="$1" -v g="$2" 'BEGIN { print (r != "" && r + 0 >= g) ? "PASS" : "MISS" }'; }

