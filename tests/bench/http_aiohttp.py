"""The anchor for http_bench: the "seed-style" Python program fanout replaces.

N GETs of one URL with asyncio + aiohttp, as such scripts are usually written:
one ClientSession over a TCPConnector(limit=LIMIT), an asyncio.Semaphore(LIMIT)
around each request, and asyncio.gather over one coroutine per URL. Counts the
200 answers. Run with /usr/bin/python3 (Debian's python3-aiohttp); prints
`name value unit` lines like the C++ benches. Run by tests/bench/http_bench.sh:

    /usr/bin/python3 tests/bench/http_aiohttp.py URL [--requests N] [--limit N]

Exits 0 when every request got a 200, 1 otherwise (the first error on stderr).
"""

import argparse
import asyncio
import sys
import time

import aiohttp


async def fetch(session: aiohttp.ClientSession, sem: asyncio.Semaphore, url: str) -> int:
    async with sem:
        async with session.get(url) as response:
            await response.read()
            return response.status


async def fan_out(urls: list[str], limit: int) -> tuple[float, float, int, str]:
    """Returns the wall and CPU seconds, the count of 200s and the first error."""
    sem = asyncio.Semaphore(limit)
    connector = aiohttp.TCPConnector(limit=limit)
    async with aiohttp.ClientSession(connector=connector) as session:
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        results = await asyncio.gather(
            *[fetch(session, sem, url) for url in urls], return_exceptions=True
        )
        wall, cpu = time.perf_counter() - wall_start, time.process_time() - cpu_start
    ok = sum(1 for r in results if r == 200)
    first_error = next((repr(r) for r in results if r != 200), "")
    return wall, cpu, ok, first_error


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--limit", type=int, default=64)
    args = parser.parse_args()
    urls = [args.url] * args.requests
    wall, cpu, ok, first_error = asyncio.run(fan_out(urls, args.limit))
    print(f"aiohttp_requests_per_s {args.requests / wall:.0f} requests/s")
    print(f"aiohttp_ok {ok} requests")
    print(f"aiohttp_cpu_s {cpu:.3f} s")
    if ok != args.requests:
        print(f"http_aiohttp.py: {args.requests - ok} failed, first: {first_error}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
