#!/usr/bin/env bash
# `fanout sweep` against a loopback HTTP server whose /hang answers never:
#
#   1. 10,000 targets of which 30% hang, -c 1000, --timeout 1s: the wall time
#      against the ideal (the hanging targets alone hold the 1,000 slots for
#      ceil(3,000 / 1,000) x 1 s = 3 s; goal <= 1.3x), and against a
#      seed-style Python sweep of the same file, ThreadPoolExecutor(64) +
#      urllib (sweep_threadpool.py; goal >= 10x faster). Every line must come
#      out once with the right verdict (7,000 ok, 3,000 timeout).
#   2. 1,000,000 target lines streamed from stdin: fanout's peak RSS
#      (goal <= 100 MB) and one record per line.
#
#   bash tests/bench/sweep_bench.sh    (from the repository root)
#
# The fanout binary is $FANOUT, else build/release/apps/fanout/fanout.
# Settings: SWEEP_BENCH_TARGETS (10000), SWEEP_BENCH_LINES (1000000),
# SWEEP_BENCH_KEEP=1 keeps the temporary directory. Needs /usr/bin/python3
# and /usr/bin/time. The server is a small asyncio program written here
# (answers "ok" at once, or holds /hang until the client goes away).
#
# Prints `name value unit` lines on stdout and a summary with PASS/MISS on
# stderr. Exits 0 when everything ran, even if a goal is missed; non-zero
# when the server does not come up or a run fails or times out. All traffic
# stays on 127.0.0.1; every command is bounded, the server stopped on exit.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
targets=${SWEEP_BENCH_TARGETS:-10000}
lines=${SWEEP_BENCH_LINES:-1000000}
limit=1000
fanout=${FANOUT:-build/release/apps/fanout/fanout}
python=/usr/bin/python3
gnu_time=/usr/bin/time

say() { printf '%s\n' "$*" >&2; }

for tool in "$fanout" "$python" "$gnu_time"; do
    [ -x "$tool" ] || { say "sweep_bench.sh: $tool is missing (set FANOUT for fanout)"; exit 2; }
done

dir=$(mktemp -d "${TMPDIR:-/tmp}/fanout-sweep-bench.XXXXXX")
server_pid=
cleanup() {
    if [ -n "$server_pid" ]; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    [ -n "${SWEEP_BENCH_KEEP:-}" ] || rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# server.py <port file>: HTTP/1.1 keep-alive on 127.0.0.1, port chosen by the
# kernel and written to the file once listening. /hang... is never answered
# (nor anything after it on that connection); anything else gets 200 "ok\n".
cat >"$dir/server.py" <<'PY'
import asyncio, sys

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Type: text/plain\r\n\r\nok\n"

class Peer(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport, self.buffer, self.held = transport, b"", False
    def data_received(self, data):
        if self.held:
            return
        self.buffer += data
        while not self.held:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head, self.buffer = self.buffer[:end], self.buffer[end + 4:]
            if head.split(b" ", 2)[1].startswith(b"/hang"):
                self.held = True
            else:
                self.transport.write(ANSWER)

async def main():
    server = await asyncio.get_running_loop().create_server(Peer, "127.0.0.1", 0, backlog=4096)
    with open(sys.argv[1], "w") as f:
        f.write(str(server.sockets[0].getsockname()[1]))
    await server.serve_forever()

asyncio.run(main())
PY
"$python" "$dir/server.py" "$dir/port" 2>"$dir/server.err" &
server_pid=$!
for _ in $(seq 100); do # up to 10 s
    [ -s "$dir/port" ] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
done
[ -s "$dir/port" ] || { cat "$dir/server.err" >&2; say "sweep_bench.sh: no server"; exit 1; }
base="http://127.0.0.1:$(cat "$dir/port")"
say "server (pid $server_pid) at $base; load average $(cut -d' ' -f1-3 /proc/loadavg)"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.3f", a / b }'; }
verdict() { # <value> <op> <bound>
    awk -v v="$1" -v op="$2" -v b="$3" 'BEGIN {
        if (v == "") print "NO DATA"
        else print ((op == "<=" ? v + 0 <= b + 0 : v + 0 >= b + 0) ? "PASS" : "MISS") }'
}

# 1. 10,000 targets, 3 of every 10 hanging.
awk -v n="$targets" -v b="$base" 'BEGIN {
    for (i = 0; i < n; i++) printf "%s/%s?i=%d\n", b, (i % 10 == 1 || i % 10 == 4 || i % 10 == 7) ? "hang" : "ok", i
}' >"$dir/targets.txt"
hanging=$(grep -c '/hang' "$dir/targets.txt")
ideal=$(awk -v h="$hanging" -v l="$limit" 'BEGIN { printf "%d", int((h + l - 1) / l) }')

rc=0
timeout --kill-after=5 120 "$gnu_time" -f '%e %M' -o "$dir/sweep.time" \
    "$fanout" sweep "$dir/targets.txt" -c "$limit" --timeout 1s --format jsonl \
    >"$dir/sweep.jsonl" 2>"$dir/sweep.err" || rc=$?
if [ "$rc" -gt 1 ]; then
    tail -n 20 "$dir/sweep.err" >&2
    say "sweep_bench.sh: fanout sweep failed (exit $rc)"
    exit 1
fi
wall=$(awk 'END { print $1 }' "$dir/sweep.time")
records=$(wc -l <"$dir/sweep.jsonl")
ok=$(grep -c '"ok":true' "$dir/sweep.jsonl" || true)
timeouts=$(grep -c '"kind":"timeout"' "$dir/sweep.jsonl" || true)
distinct=$(grep -o '"line":[0-9]*' "$dir/sweep.jsonl" | sort -u | wc -l)
correct=0
[ "$records" -eq "$targets" ] && [ "$distinct" -eq "$targets" ] && [ "$ok" -eq $((targets - hanging)) ] &&
    [ "$timeouts" -eq "$hanging" ] && correct=1
vs_ideal=$(ratio "$wall" "$ideal")
echo "sweep_hang30_seconds $wall s"
echo "sweep_hang30_ideal_seconds $ideal s"
echo "sweep_hang30_vs_ideal $vs_ideal x"
echo "sweep_hang30_correct $correct bool"
say "fanout sweep: $targets targets ($hanging hanging), -c $limit, --timeout 1s: ${wall} s," \
    "ideal ${ideal} s: ${vs_ideal}x, goal <= 1.3x: $(verdict "$vs_ideal" '<=' 1.3);" \
    "records $records, distinct lines $distinct, ok $ok, timeout $timeouts: $([ $correct = 1 ] && echo PASS || echo FAIL)"

timeout --kill-after=5 900 "$python" tests/bench/sweep_threadpool.py "$dir/targets.txt" \
    --workers 64 --timeout 1 >"$dir/python.out" 2>"$dir/python.err" ||
    { tail -n 20 "$dir/python.err" >&2; say "sweep_bench.sh: the Python sweep failed"; exit 1; }
py_wall=$(awk '$1 == "threadpool_seconds" { print $2 }' "$dir/python.out")
py_healthy=$(awk '$1 == "threadpool_healthy" { print $2 }' "$dir/python.out")
vs_py=$(ratio "$py_wall" "$wall")
echo "threadpool_hang30_seconds $py_wall s"
echo "sweep_vs_threadpool $vs_py x"
say "Python ThreadPoolExecutor(64) + urllib: ${py_wall} s ($py_healthy healthy):" \
    "fanout is ${vs_py}x faster, goal >= 10x: $(verdict "$vs_py" '>=' 10)"

# 2. A million lines from stdin, every one answered at once.
rc=0
awk -v n="$lines" -v b="$base" 'BEGIN { for (i = 0; i < n; i++) printf "%s/ok?i=%d\n", b, i }' |
    timeout --kill-after=5 1200 "$gnu_time" -f '%e %M' -o "$dir/million.time" \
        "$fanout" sweep - -c "$limit" --timeout 5s --format jsonl 2>"$dir/million.err" |
    wc -l >"$dir/million.count" || rc=$?
if [ "$rc" -ne 0 ]; then
    tail -n 20 "$dir/million.err" >&2
    say "sweep_bench.sh: the million-line sweep failed (exit $rc)"
    exit 1
fi
m_wall=$(awk 'END { print $1 }' "$dir/million.time")
m_rss=$(awk 'END { printf "%.1f", $2 / 1024 }' "$dir/million.time")
m_records=$(cat "$dir/million.count")
echo "sweep_million_seconds $m_wall s"
echo "sweep_million_peak_rss $m_rss MiB"
echo "sweep_million_records $m_records records"
say "fanout sweep: $lines lines from stdin in ${m_wall} s, peak RSS ${m_rss} MiB," \
    "goal <= 100 MB (95.4 MiB): $(verdict "$m_rss" '<=' 95.37); records $m_records:" \
    "$([ "$m_records" -eq "$lines" ] && echo PASS || echo FAIL)"
say "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
