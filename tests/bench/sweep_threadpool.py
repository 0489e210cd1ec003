"""The anchor for sweep_bench.sh: the "seed-style" Python health check that
`fanout sweep` replaces.

Reads a file of http:// targets (one a line) and GETs each with
urllib.request in a concurrent.futures.ThreadPoolExecutor(64), a timeout of
TIMEOUT seconds each, as such scripts are usually written; a target is
healthy when it answers 2xx or 3xx. Run with /usr/bin/python3; prints
`name value unit` lines like the C++ benches:

    /usr/bin/python3 tests/bench/sweep_threadpool.py TARGETS [--workers 64] [--timeout 1]

Exits 0 when every line was checked (healthy or not).
"""

import argparse
import concurrent.futures
import time
import urllib.request


def check(url: str, timeout: float) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            answer.read()
            return 200 <= answer.status < 400
    except Exception:  # noqa: BLE001 - any failure is an unhealthy target
        return False


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("targets")
    parser.add_argument("--workers", type=int, default=64)
    parser.add_argument("--timeout", type=float, default=1.0)
    args = parser.parse_args()
    with open(args.targets) as f:
        urls = [line.strip() for line in f if line.strip() and not line.startswith("#")]
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.workers) as pool:
        results = list(pool.map(lambda url: check(url, args.timeout), urls))
    took = time.perf_counter() - started
    print(f"threadpool_targets {len(results)} targets")
    print(f"threadpool_healthy {sum(results)} targets")
    print(f"threadpool_seconds {took:.3f} s")


if __name__ == "__main__":
    main()
