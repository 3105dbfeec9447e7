"""Per-operation cost of list and hash commands with 10,000 vs 1,000,000 elements.

The commands run in-process through ``dispatch.execute``: no sockets, so the
figures measure our data structures and command code alone and stay steady
on a shared machine. For each operation the script prints microseconds per
call at both sizes and the ratio; an operation whose cost does not depend on
the size stays near 1×, a linear one would show about 100×.

    .venv/bin/python benchmarks/scale_lists_hashes.py [--quick]

``--quick`` uses 200,000 elements for the large size.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server.dispatch import execute  # noqa: E402
from server.main import build_server  # noqa: E402

SMALL, LARGE = 10_000, 1_000_000
CHUNK = 10_000


def populate(size: int):
    """A fresh server holding list ``l`` and hash ``h`` of ``size`` elements; returns a client."""
    server = build_server(["--port", "0"])
    client = server.new_client()
    for base in range(0, size, CHUNK):
        top = min(base + CHUNK, size)
        execute(client, [b"RPUSH", b"l", *[b"item:%d" % i for i in range(base, top)]])
        pairs: list[bytes] = []
        for i in range(base, top):
            pairs += [b"field:%d" % i, b"value:%d" % i]
        execute(client, [b"HSET", b"h", *pairs])
    return client


def workload(client, size: int) -> dict[str, Callable[[int], object]]:
    """Operation name → a function running that operation once (``i`` is the iteration)."""
    rng = random.Random(7)
    fields = [b"field:%d" % rng.randrange(size) for _ in range(4096)]

    def run(make: Callable[[int], list[bytes]]) -> Callable[[int], object]:
        return lambda i: execute(client, make(i))

    cursor = [b"0"]

    def hscan_page(i: int) -> object:
        """One page of a scan that follows its cursor, as a client paging through the hash."""
        reply = execute(client, [b"HSCAN", b"h", cursor[0], b"COUNT", b"10"])
        cursor[0] = reply[0]  # type: ignore[index]
        return reply

    return {
        "LPUSH+LPOP": run(lambda i: [b"LPUSH", b"l", b"x"] if i % 2 == 0 else [b"LPOP", b"l"]),
        "RPUSH+RPOP": run(lambda i: [b"RPUSH", b"l", b"x"] if i % 2 == 0 else [b"RPOP", b"l"]),
        "LLEN": run(lambda i: [b"LLEN", b"l"]),
        "LRANGE 0 9": run(lambda i: [b"LRANGE", b"l", b"0", b"9"]),
        "LRANGE -10 -1": run(lambda i: [b"LRANGE", b"l", b"-10", b"-1"]),
        "LINDEX -5": run(lambda i: [b"LINDEX", b"l", b"-5"]),
        "LSET 3": run(lambda i: [b"LSET", b"l", b"3", b"y"]),
        "LMOVE tail→head": run(lambda i: [b"LMOVE", b"l", b"l", b"RIGHT", b"LEFT"]),
        "HGET": run(lambda i: [b"HGET", b"h", fields[i % 4096]]),
        "HSET existing": run(lambda i: [b"HSET", b"h", fields[i % 4096], b"v"]),
        "HSET+HDEL new": run(lambda i: [b"HSET", b"h", b"new:%d" % (i // 2), b"v"] if i % 2 == 0
                             else [b"HDEL", b"h", b"new:%d" % (i // 2)]),
        "HINCRBY": run(lambda i: [b"HINCRBY", b"h", b"counter", b"1"]),
        "HEXISTS": run(lambda i: [b"HEXISTS", b"h", fields[i % 4096]]),
        "HRANDFIELD": run(lambda i: [b"HRANDFIELD", b"h"]),
        "HRANDFIELD 5": run(lambda i: [b"HRANDFIELD", b"h", b"5", b"WITHVALUES"]),
        "HSCAN page": hscan_page,
    }


def per_call(operation: Callable[[int], object], calls: int) -> float:
    """Microseconds per call: process time, best of three rounds."""
    best = float("inf")
    i = 0
    for _ in range(3):
        start = time.process_time()
        for k in range(i, i + calls):
            operation(k)
        i += calls
        best = min(best, (time.process_time() - start) / calls)
    return best * 1e6


def main() -> None:
    large = 200_000 if "--quick" in sys.argv else LARGE
    calls = 2000
    results: dict[int, dict[str, float]] = {}
    for size in (SMALL, large):
        start = time.perf_counter()
        client = populate(size)
        print(f"built a {size:,}-element list and hash in {time.perf_counter() - start:.1f}s", flush=True)
        results[size] = {name: per_call(op, calls) for name, op in workload(client, size).items()}
    print(f"\n{'operation':<18}{SMALL:>12,}{large:>12,}   ratio")
    for name in results[SMALL]:
        small, big = results[SMALL][name], results[large][name]
        print(f"{name:<18}{small:>10.2f}µs{big:>10.2f}µs   {big / small:5.2f}×")


if __name__ == "__main__":
    main()
