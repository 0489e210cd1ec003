"""The anchor for gather_bench: the "seed-style" asyncio program fanout replaces.

asyncio.gather over N coroutines, each taking a slot of a Semaphore(1000) and
suspending once (asyncio.sleep(0)). Run with /usr/bin/python3; prints
`name value unit` lines like the C++ benches: items per wall second and per
CPU second of the process. Run by tests/bench/run.sh.
"""

import argparse
import asyncio
import resource
import time


async def item(sem: asyncio.Semaphore, index: int) -> int:
    async with sem:
        await asyncio.sleep(0)
    return index


async def fan_out(items: int, limit: int) -> tuple[float, float]:
    """Returns the wall and the CPU seconds the gather took."""
    sem = asyncio.Semaphore(limit)
    wall_start, cpu_start = time.perf_counter(), time.process_time()
    results = await asyncio.gather(*[item(sem, i) for i in range(items)])
    wall, cpu = time.perf_counter() - wall_start, time.process_time() - cpu_start
    if len(results) != items:
        raise SystemExit(f"gather returned {len(results)} of {items} results")
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--limit", type=int, default=1_000)
    args = parser.parse_args()
    wall, cpu = asyncio.run(fan_out(args.items, args.limit))
    print(f"asyncio_gather_items_per_s {args.items / wall:.0f} items/s")
    print(f"asyncio_gather_items_per_cpu_s {args.items / cpu:.0f} items/s")
    print(f"asyncio_gather_seconds {wall:.3f} s")
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"asyncio_gather_peak_rss {peak_kib / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
