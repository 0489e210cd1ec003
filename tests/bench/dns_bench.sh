#!/usr/bin/env bash
# DNS throughput against a local authoritative server: 100,000 distinct A
# queries to nsd on 127.0.0.1, sent by dnsperf (the anchor) and by
# `fanout dns` with 1,000 in flight, in two alternating rounds (dnsperf,
# fanout, dnsperf, fanout), then a pool round: dnsperf to the one nsd, fanout
# spread over three. Every fanout answer is checked against the zone; each
# run's CPU (user + system) per query is printed for both tools.
#
#   bash tests/bench/dns_bench.sh      (from the repository root; run.sh calls it)
#
# The fanout binary is $FANOUT, else build/release/apps/fanout/fanout; when
# it is missing or has no `dns` subcommand, only dnsperf runs. Needs
# /usr/sbin/nsd, dnsperf and python3. DNS_BENCH_NAMES=N runs with N names;
# DNS_BENCH_KEEP=1 keeps the temporary directory (zone, nsd.conf, logs,
# fanout's output) for a look afterwards.
#
# Prints `name value unit` lines on stdout (parsed by run.sh) and a summary
# with PASS/MISS on stderr. Exits 0 when everything ran, even if a target is
# missed; non-zero when nsd does not come up or a run fails or times out.
# All traffic stays on 127.0.0.1; every wait is bounded, and nsd is stopped
# on every exit.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
names=${DNS_BENCH_NAMES:-100000}
in_flight=1000
rounds=2
fanout=${FANOUT:-build/release/apps/fanout/fanout}
nsd=/usr/sbin/nsd
python=/usr/bin/python3

say() { printf '%s\n' "$*" >&2; }

for tool in "$nsd" dnsperf "$python"; do
    command -v "$tool" >/dev/null || { say "dns_bench.sh: $tool is not installed"; exit 2; }
done
have_fanout=1
if [ ! -x "$fanout" ]; then
    have_fanout=0
    say "dns_bench.sh: SKIPPING fanout: no executable $fanout (set FANOUT)"
elif ! timeout 10 "$fanout" --help 2>&1 | grep -Eq '^ +dns( |$)'; then
    have_fanout=0
    say "dns_bench.sh: SKIPPING fanout: $fanout has no dns subcommand"
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/fanout-dns-bench.XXXXXX")
nsd_pid=
nsd_pids=()
child=
# stop_pid <pid>: SIGTERM, up to 5 s, then SIGKILL.
stop_pid() {
    kill -TERM "$1" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}
stop_nsd() {
    [ -n "$nsd_pid" ] || return 0
    stop_pid "$nsd_pid"
    nsd_pid=
}
stop_all_nsd() {
    stop_nsd
    local pid
    for pid in "${nsd_pids[@]}"; do stop_pid "$pid"; done
    nsd_pids=()
}
cleanup() {
    [ -z "$child" ] || kill -TERM "$child" 2>/dev/null || true
    stop_all_nsd
    [ -n "${DNS_BENCH_KEEP:-}" ] || rm -rf "$dir"
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

# The zone, and the two inputs: dnsperf's `name type` lines, fanout's names.
awk -v n="$names" 'BEGIN {
    print "$ORIGIN fanout.test."
    print "$TTL 300"
    print "@ IN SOA ns1 hostmaster 1 3600 900 604800 300"
    print "@ IN NS ns1"
    print "ns1 IN A 127.0.0.53"
    for (i = 0; i < n; i++)
        printf "host%d %d IN A 10.%d.%d.%d\n", i, 300 + i % 100, int(i / 65536) % 256,
            int(i / 256) % 256, i % 256
}' >"$dir/fanout.test.zone"
awk -v n="$names" 'BEGIN { for (i = 0; i < n; i++) printf "host%d.fanout.test A\n", i }' \
    >"$dir/queries.txt"
awk -v n="$names" 'BEGIN { for (i = 0; i < n; i++) printf "host%d.fanout.test\n", i }' \
    >"$dir/names.txt"

# free_port.py: a port of 127.0.0.1 free for both UDP and TCP. Another
# process may take it before nsd binds it; nsd then fails and we retry.
cat >"$dir/free_port.py" <<'EOF'
import socket
for _ in range(100):
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    port = udp.getsockname()[1]
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        tcp.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        udp.close()
        tcp.close()
    print(port)
    break
else:
    raise SystemExit("no port of 127.0.0.1 free for both UDP and TCP")
EOF

# ready.py <port> <pid>: exits 0 once nsd answers host0.fanout.test (a
# hand-encoded UDP query every 50 ms), 1 if it exits first or after 10 s.
cat >"$dir/ready.py" <<'EOF'
import os, socket, struct, sys, time
port, pid = int(sys.argv[1]), int(sys.argv[2])
query = (struct.pack(">6H", 0x4242, 0, 1, 0, 0, 0) + b"\x05host0\x06fanout\x04test\x00"
         + struct.pack(">2H", 1, 1))
deadline = time.monotonic() + 10
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
    s.settimeout(0.05)
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            sys.exit(1)
        s.sendto(query, ("127.0.0.1", port))
        try:
            if s.recv(512)[:2] == b"\x42\x42":
                sys.exit(0)
        except socket.timeout:
            pass
sys.exit(1)
EOF

# check.py <jsonl> <names>: prints 1 when there is one line per name, each
# ok with the zone's address first, else 0 (and what is wrong on stderr).
cat >"$dir/check.py" <<'EOF'
import json, re, sys
path, names = sys.argv[1], int(sys.argv[2])
seen, problems, lines = set(), [], 0
def problem(text):
    if len(problems) < 10:
        problems.append(text)
with open(path) as f:
    for lines, text in enumerate(f, 1):
        try:
            item = json.loads(text)
        except ValueError:
            problem(f"line {lines}: not JSON: {text[:80]!r}")
            continue
        name = item.get("input")
        m = re.fullmatch(r"host(\d+)\.fanout\.test", name or "")
        if not m or int(m[1]) >= names:
            problem(f"line {lines}: unexpected input {name!r}")
            continue
        if name in seen:
            problem(f"line {lines}: {name} reported twice")
        seen.add(name)
        i = int(m[1])
        want = f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"
        answers = item.get("answers") or []
        got = answers[0].get("value") if answers else None
        if item.get("ok") is not True or got != want:
            problem(f"{name}: ok={item.get('ok')} answer={got!r}, want {want} "
                    f"(error {item.get('error')})")
if lines != names:
    problem(f"{lines} lines, want {names}")
if len(seen) != names:
    problem(f"{len(seen)} distinct names, want {names}")
for p in problems:
    print("fanout dns:", p, file=sys.stderr)
print(0 if problems else 1)
EOF

# nsd.<instance>.conf for <port> <instance>: everything nsd writes stays in
# $dir; it runs as the current user, with no database file and no remote
# control.
write_config() {
    cat >"$dir/nsd.$2.conf" <<EOF
server:
    ip-address: 127.0.0.1
    port: $1
    do-ip4: yes
    do-ip6: no
    username: ""
    chroot: ""
    server-count: 1
    verbosity: 0
    hide-version: yes
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
    database: ""
    zonesdir: "$dir"
    zonelistfile: "$dir/zone.$2.list"
    xfrdfile: "$dir/xfrd.$2.state"
    xfrdir: "$dir"
    pidfile: "$dir/nsd.$2.pid"
    cookie-secret-file: "$dir/cookiesecrets.$2.txt"
remote-control:
    control-enable: no
zone:
    name: "fanout.test"
    zonefile: "fanout.test.zone"
EOF
}

# start_instance <instance>: starts nsd on a free port; sets $port and
# $nsd_pid, or fails.
start_instance() {
    local candidate attempt
    port=
    for attempt in 1 2 3 4 5; do
        candidate=$(bounded 10 "$python" "$dir/free_port.py")
        write_config "$candidate" "$1"
        "$nsd" -d -c "$dir/nsd.$1.conf" 2>"$dir/nsd.$1.err" &
        nsd_pid=$!
        if bounded 15 "$python" "$dir/ready.py" "$candidate" "$nsd_pid"; then
            port=$candidate
            return 0
        fi
        stop_nsd
        grep -q "can't bind" "$dir/nsd.$1.err" || break
        say "dns_bench.sh: port $candidate was taken (attempt $attempt), trying another"
    done
    cat "$dir/nsd.$1.err" >&2
    say "dns_bench.sh: nsd did not come up"
    exit 1
}
start_instance 0
say "nsd serving $names names on 127.0.0.1:$port (pid $nsd_pid)"

# run_dnsperf <round>: sets $qps. Each query is sent once (-n 1), 1,000
# outstanding on one socket (-c 1). -b 2048 gives that socket 2 MB buffers:
# with the default 208 KB, ~0.7% of the answers to a burst of 1,000 are
# dropped on arrival (UDP RcvbufErrors) and counted as lost.
run_dnsperf() {
    local log=$dir/dnsperf.$1.log lost
    if ! bounded 120 /usr/bin/time -f '%e %U %S' -o "$dir/dnsperf.$1.time" \
        dnsperf -s 127.0.0.1 -p "$port" -d "$dir/queries.txt" \
        -q "$in_flight" -c 1 -n 1 -t 2 -b 2048 >"$log" 2>&1; then
        tail -n 20 "$log" >&2
        say "dns_bench.sh: dnsperf failed or timed out"
        exit 1
    fi
    lost=$(awk '/Queries lost:/ { print $3 }' "$log")
    [ "${lost:-0}" = 0 ] || say "dnsperf round $1: $lost queries lost"
    qps=$(awk '/Queries per second:/ { printf "%.0f", $4 }' "$log")
    cpu=$(awk '{ print $2 + $3 }' "$dir/dnsperf.$1.time")
}

# per_query_us <cpu seconds>: microseconds of CPU (user + system) per name.
per_query_us() { awk -v c="$1" -v n="$names" 'BEGIN { printf "%.2f", c * 1e6 / n }'; }

# run_fanout <round> [-s server...]: sets $qps (names / wall seconds) and
# $cpu (user + system seconds); fanout's output is left in
# $dir/out.<round>.jsonl. Without servers it asks the first nsd.
run_fanout() {
    local start end user sys round=$1
    shift
    [ $# -gt 0 ] || set -- -s "127.0.0.1:$port"
    start=$(date +%s.%N)
    if ! bounded 120 /usr/bin/time -f '%e %U %S' -o "$dir/fanout.$round.time" \
        "$fanout" dns "$dir/names.txt" "$@" -c "$in_flight" --timeout 2s \
        --format jsonl >"$dir/out.$round.jsonl" 2>"$dir/fanout.$round.err"; then
        tail -n 20 "$dir/fanout.$round.err" >&2
        say "dns_bench.sh: fanout dns failed or timed out"
        exit 1
    fi
    end=$(date +%s.%N)
    qps=$(awk -v s="$start" -v e="$end" -v n="$names" 'BEGIN { printf "%.0f", n / (e - s) }')
    read -r _ user sys <"$dir/fanout.$round.time"
    cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')
}

max() { awk -v a="$1" -v b="$2" 'BEGIN { print (b + 0 > a + 0) ? b : a }'; }

best_dnsperf=0
best_fanout=0
correct=1
for round in $(seq "$rounds"); do
    run_dnsperf "$round"
    echo "dnsperf_round${round}_queries_per_s $qps queries/s"
    echo "dnsperf_round${round}_cpu_per_query_us $(per_query_us "$cpu") us"
    dnsperf_cpu=$cpu
    best_dnsperf=$(max "$best_dnsperf" "$qps")
    if [ "$have_fanout" -eq 1 ]; then
        run_fanout "$round"
        echo "fanout_round${round}_queries_per_s $qps queries/s"
        echo "fanout_round${round}_cpu_s $cpu s"
        echo "fanout_round${round}_cpu_per_query_us $(per_query_us "$cpu") us"
        echo "fanout_round${round}_cpu_vs_dnsperf" \
            "$(awk -v f="$cpu" -v d="$dnsperf_cpu" 'BEGIN { printf "%.3f", f / d }') x"
        best_fanout=$(max "$best_fanout" "$qps")
        bounded 60 "$python" "$dir/check.py" "$dir/out.$round.jsonl" "$names" \
            >"$dir/check.$round"
        [ "$(cat "$dir/check.$round")" = 1 ] || correct=0
    fi
done

# The pool round: fanout spreads the same names over 3 nsd instances (the
# first and two more), after one more dnsperf round against the first as
# this round's anchor.
pool_correct=1
if [ "$have_fanout" -eq 1 ]; then
    first_port=$port
    first_pid=$nsd_pid
    pool=(-s "127.0.0.1:$first_port")
    for instance in 1 2; do
        nsd_pid=
        start_instance "$instance"
        nsd_pids+=("$nsd_pid")
        pool+=(-s "127.0.0.1:$port")
    done
    port=$first_port
    nsd_pid=$first_pid
    run_dnsperf pool
    echo "dnsperf_pool_round_queries_per_s $qps queries/s"
    echo "dnsperf_pool_round_cpu_per_query_us $(per_query_us "$cpu") us"
    pool_dnsperf=$qps
    dnsperf_cpu=$cpu
    run_fanout pool "${pool[@]}"
    echo "fanout_pool_queries_per_s $qps queries/s"
    echo "fanout_pool_cpu_per_query_us $(per_query_us "$cpu") us"
    echo "fanout_pool_cpu_vs_dnsperf" \
        "$(awk -v f="$cpu" -v d="$dnsperf_cpu" 'BEGIN { printf "%.3f", f / d }') x"
    echo "fanout_pool_vs_dnsperf" \
        "$(awk -v f="$qps" -v d="$pool_dnsperf" 'BEGIN { printf "%.3f", f / d }') x"
    bounded 60 "$python" "$dir/check.py" "$dir/out.pool.jsonl" "$names" >"$dir/check.pool"
    [ "$(cat "$dir/check.pool")" = 1 ] || pool_correct=0
    echo "fanout_pool_correct $pool_correct bool"
    # How the answers spread: the smallest and largest share of one server.
    bounded 60 "$python" -c '
import collections, json, sys
count = collections.Counter(json.loads(l).get("server") for l in open(sys.argv[1]))
total = sum(count.values())
print("fanout_pool_servers", len(count), "servers")
print("fanout_pool_share_min", "%.3f" % (min(count.values()) / total), "fraction")
print("fanout_pool_share_max", "%.3f" % (max(count.values()) / total), "fraction")
' "$dir/out.pool.jsonl"
fi

echo "dnsperf_queries_per_s $best_dnsperf queries/s"
if [ "$have_fanout" -eq 1 ]; then
    ratio=$(awk -v f="$best_fanout" -v d="$best_dnsperf" 'BEGIN { printf "%.3f", f / d }')
    echo "fanout_queries_per_s $best_fanout queries/s"
    echo "fanout_vs_dnsperf $ratio x"
    echo "fanout_dns_correct $correct bool"
    say "fanout dns / dnsperf (best of $rounds): $best_fanout / $best_dnsperf = ${ratio}x," \
        "goal >= 1.0x: $(awk -v r="$ratio" 'BEGIN { print (r + 0 >= 1) ? "PASS" : "MISS" }')"
    say "fanout dns answers: $names names, each once, ok, the zone's address:" \
        "$([ "$correct" = 1 ] && echo PASS || echo MISS)"
else
    say "dnsperf (best of $rounds): $best_dnsperf queries/s; fanout dns: NO DATA"
fi
