"""Per-operation cost of set and sorted-set commands at 10,000 vs 1,000,000 members.

Each command runs in-process through ``dispatch.execute`` (no sockets, so the
numbers are our code alone and steady on a busy machine). For every operation
the script prints the time per call at both sizes and their ratio: an O(1) or
O(log n) operation stays near 1×, whereas a linear one would show ~100×.

    .venv/bin/python benchmarks/scale_sets_zsets.py [--quick]
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


def build(size: int):
    """A server holding a set and a sorted set of ``size`` members, and a client to query it."""
    server = build_server(["--port", "0"])
    client = server.new_client()
    for base in range(0, size, 10_000):
        members = [b"member:%d" % i for i in range(base, min(base + 10_000, size))]
        execute(client, [b"SADD", b"s", *members])
        args: list[bytes] = []
        for i in range(base, min(base + 10_000, size)):
            args += [b"%d" % ((i * 7919) % size), b"member:%d" % i]
        execute(client, [b"ZADD", b"z", *args])
    return client


def operations(size: int) -> dict[str, Callable[[int], list[bytes]]]:
    """Name → a function from an iteration number to the command to run."""
    rnd = random.Random(1)
    pick = [rnd.randrange(size) for _ in range(4096)]

    def member(i: int) -> bytes:
        return b"member:%d" % pick[i % 4096]

    return {
        "SISMEMBER": lambda i: [b"SISMEMBER", b"s", member(i)],
        "SADD new": lambda i: [b"SADD", b"s", b"new:%d" % i],
        "SREM": lambda i: [b"SREM", b"s", b"new:%d" % i],
        "SRANDMEMBER": lambda i: [b"SRANDMEMBER", b"s"],
        "SPOP": lambda i: [b"SPOP", b"s"],
        "SSCAN page": lambda i: [b"SSCAN", b"s", b"%d" % (size // 2), b"COUNT", b"10"],
        "ZSCORE": lambda i: [b"ZSCORE", b"z", member(i)],
        "ZADD new": lambda i: [b"ZADD", b"z", b"%d" % pick[i % 4096], b"new:%d" % i],
        "ZINCRBY": lambda i: [b"ZINCRBY", b"z", b"1", member(i)],
        "ZREM": lambda i: [b"ZREM", b"z", b"new:%d" % i],
        "ZRANK": lambda i: [b"ZRANK", b"z", member(i)],
        "ZRANGE near end": lambda i: [b"ZRANGE", b"z", b"-10", b"-1"],
        "ZRANGEBYSCORE x10": lambda i: [b"ZRANGEBYSCORE", b"z", b"%d" % pick[i % 4096], b"+inf",
                                        b"LIMIT", b"0", b"10"],
        "ZCOUNT": lambda i: [b"ZCOUNT", b"z", b"%d" % pick[i % 4096], b"+inf"],
        "ZRANDMEMBER": lambda i: [b"ZRANDMEMBER", b"z"],
        "ZSCAN page": lambda i: [b"ZSCAN", b"z", b"%d" % (size // 2), b"COUNT", b"10"],
        "ZPOPMIN": lambda i: [b"ZPOPMIN", b"z"],
    }


def measure(client, make: Callable[[int], list[bytes]], calls: int) -> float:
    """Microseconds per call (process time, best of three rounds)."""
    best = float("inf")
    counter = 0
    for _ in range(3):
        commands = [make(counter + i) for i in range(calls)]
        counter += calls
        start = time.process_time()
        for argv in commands:
            execute(client, argv)
        best = min(best, (time.process_time() - start) / calls)
    return best * 1e6


def main() -> None:
    quick = "--quick" in sys.argv
    large = 200_000 if quick else LARGE
    calls = 2000
    results: dict[int, dict[str, float]] = {}
    for size in (SMALL, large):
        start = time.perf_counter()
        client = build(size)
        print(f"built {size:,} members in {time.perf_counter() - start:.1f}s", flush=True)
        results[size] = {name: measure(client, make, calls) for name, make in operations(size).items()}
    print(f"\n{'operation':<20}{SMALL:>12,}{large:>12,}   ratio")
    for name in results[SMALL]:
        small, big = results[SMALL][name], results[large][name]
        print(f"{name:<20}{small:>10.2f}µs{big:>10.2f}µs   {big / small:5.2f}×")


if __name__ == "__main__":
    main()
