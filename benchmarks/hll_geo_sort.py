"""HyperLogLog, geo and SORT in ``make bench``: our server against redis-server, same run, same machine.

- PFADD of random elements into one HLL and PFCOUNT of it, unpipelined (redis-benchmark ``-c 50``);
- GEOSEARCH BYRADIUS over 10,000 members (points spread over 2 x 2 degrees, a 20 km radius);
- SORT of a 1,000-element list of integers (numeric sort, whole reply).

Each case alternates the two servers over ``--rounds`` and keeps the median, with the server's CPU
time per request. Results go to ``benchmarks/results/hll-geo-sort-*.json``.
Usage: ``python benchmarks/hll_geo_sort.py [--quick]``.
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.run import command_benchmark, compare, save_results  # noqa: E402
from tests.servers import OurServer, RealServer  # noqa: E402


def load(port: int, commands: list[list[str]]) -> None:
    """Send commands through ``redis-cli --pipe`` (RESP, so any byte is safe)."""
    data = bytearray()
    for args in commands:
        data += b"*%d\r\n" % len(args)
        for a in args:
            raw = a.encode()
            data += b"$%d\r\n%s\r\n" % (len(raw), raw)
    subprocess.run(["redis-cli", "-p", str(port), "--pipe"], input=bytes(data), capture_output=True, check=True,
                   timeout=600)


def seed(port: int) -> None:
    rng = random.Random(16)
    commands: list[list[str]] = [["FLUSHALL"]]
    points = []
    for i in range(10_000):
        points += [f"{14 + 2 * rng.random():.6f}", f"{36 + 2 * rng.random():.6f}", f"place-{i}"]
    for start in range(0, len(points), 3000):
        commands.append(["GEOADD", "places", *points[start : start + 3000]])
    commands.append(["RPUSH", "numbers", *(str(rng.randrange(1_000_000)) for _ in range(1000))])
    commands.append(["PFADD", "visitors", *(f"v{i}" for i in range(1000))])
    load(port, commands)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=0)
    args = parser.parse_args()
    rounds = args.rounds or (1 if args.quick else 3)
    n = 5_000 if args.quick else 20_000
    work = Path(tempfile.mkdtemp(prefix="redistui-hll-geo-sort-bench-"))
    ours, real = OurServer(work / "ours"), RealServer(work / "real")
    ours.start()
    real.start()
    results: dict = {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "rounds": rounds, "cases": {}}
    try:
        for server in (ours, real):
            seed(server.port)
        cases = {
            "pfadd_P1": lambda s: command_benchmark(s, n, 1, "PFADD", "visitors", "el:__rand_int__", keyspace=1_000_000),
            "pfcount_P1": lambda s: command_benchmark(s, n, 1, "PFCOUNT", "visitors"),
            "geosearch_10k_P1": lambda s: command_benchmark(s, n // 4, 1, "GEOSEARCH", "places", "FROMLONLAT", "15", "37",
                                                "BYRADIUS", "20", "km", "ASC"),
            "sort_1k_list_P1": lambda s: command_benchmark(s, n // 4, 1, "SORT", "numbers"),
        }
        compare(cases, rounds, ours, real, results, 20)
    finally:
        ours.stop()
        real.stop()
        shutil.rmtree(work, ignore_errors=True)
    save_results("hll-geo-sort", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
