#!/usr/bin/env bash
# Taming the tail, two measurements:
#
#   1. tail_bench (hedging): the p50/p99/p99.9 of a 1,000-key fan-out over a
#      loopback fleet whose requests hiccup 1% of the time, unhedged and
#      hedged at the observed p95, and the extra requests hedging sent
#      (goal: p99.9 at least 10x lower with at most 5% extra requests).
#      Then adaptive concurrency against a server with a knee (32 workers,
#      10 ms each): a sweep of fixed limits, a gradient limit and AIMD,
#      adaptive_limit_final against adaptive_knee, adaptive_p99_vs_unloaded
#      and adaptive_throughput_vs_best_fixed (goals: within 30% of the
#      knee, p99 within 2x unloaded, throughput >= 0.9x the best fixed).
#   2. the breaker: `fanout sweep` of 500 targets on a host that accepts and
#      never answers among 100 healthy ones, -c 20 --timeout 1s, with and
#      without --max-host-errors 5: breaker_sweep_seconds against
#      nobreaker_sweep_seconds, and how many targets the breaker skipped.
#
#   bash tests/bench/tail_bench.sh    (from the repository root)
#
# Binaries: $TAIL_BENCH (else build/release/tests/bench/tail_bench) and
# $FANOUT (else build/release/apps/fanout/fanout). TAIL_ROUNDS (40) sets the
# rounds of tail_bench. Prints `name value unit` lines on stdout. All
# traffic stays on 127.0.0.1; every command is bounded and the server is
# stopped on exit.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
tail_bench=${TAIL_BENCH:-build/release/tests/bench/tail_bench}
fanout=${FANOUT:-build/release/apps/fanout/fanout}
python=/usr/bin/python3

for tool in "$tail_bench" "$fanout" "$python"; do
    [ -x "$tool" ] || { echo "tail_bench.sh: $tool is missing" >&2; exit 2; }
done

timeout 900 "$tail_bench"

dir=$(mktemp -d "${TMPDIR:-/tmp}/fanout-tail-bench.XXXXXX")
server_pid=
cleanup() {
    if [ -n "$server_pid" ]; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$dir"
}
trap cleanup EXIT

# server.py <port file>: two ports on 127.0.0.1 written to the file, "healthy
# hanging": the first answers every request 200 "ok\n", the second accepts
# connections and never answers.
cat >"$dir/server.py" <<'PY'
import asyncio, sys

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Type: text/plain\r\n\r\nok\n"

async def healthy(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            writer.write(ANSWER)
            await writer.drain()
    except Exception:
        writer.close()

async def hanging(reader, writer):
    try:
        while await reader.read(65536):
            pass
    except Exception:
        pass
    writer.close()

async def main():
    up = await asyncio.start_server(healthy, "127.0.0.1", 0, backlog=4096)
    down = await asyncio.start_server(hanging, "127.0.0.1", 0, backlog=4096)
    ports = f"{up.sockets[0].getsockname()[1]} {down.sockets[0].getsockname()[1]}\n"
    with open(sys.argv[1], "w") as f:
        f.write(ports)
    await asyncio.Event().wait()

asyncio.run(main())
PY
"$python" "$dir/server.py" "$dir/ports" &
server_pid=$!
for _ in $(seq 100); do [ -s "$dir/ports" ] && break; sleep 0.1; done
[ -s "$dir/ports" ] || { echo "tail_bench.sh: the server did not come up" >&2; exit 2; }
read -r up down <"$dir/ports"

# 600 lines: every sixth on the healthy host, the rest on the hanging one.
for i in $(seq 0 599); do
    if [ $((i % 6)) -eq 5 ]; then
        echo "http://127.0.0.1:$up/ok?n=$i"
    else
        echo "http://127.0.0.1:$down/hang?n=$i"
    fi
done >"$dir/targets"

sweep() { # <name> <extra flags...>: prints <name>_sweep_seconds
    local name=$1
    shift
    local began ended
    began=$(date +%s.%N)
    timeout 300 "$fanout" sweep "$dir/targets" -c 20 --timeout 1s --format jsonl "$@" \
        >"$dir/$name.jsonl" 2>"$dir/$name.err" || [ $? -eq 1 ]
    ended=$(date +%s.%N)
    awk -v a="$began" -v b="$ended" -v n="$name" 'BEGIN { printf "%s_sweep_seconds %.3f s\n", n, b - a }'
    printf '%s_sweep_records %s lines\n' "$name" "$(wc -l <"$dir/$name.jsonl")"
    printf '%s_sweep_ok %s lines\n' "$name" "$(grep -c '"ok":true' "$dir/$name.jsonl" || true)"
    printf '%s_sweep_circuit_open %s lines\n' "$name" \
        "$(grep -c '"kind":"circuit_open"' "$dir/$name.jsonl" || true)"
}
sweep breaker --max-host-errors 5
sweep nobreaker
