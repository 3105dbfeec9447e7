"""Persistence benchmark: SAVE and startup load of 1,000,000 small keys, ours against redis-server.

Both servers hold the same dataset: redis-server makes it (``DEBUG POPULATE``,
keys ``key:N`` with values ``value:N``) and saves it; our server starts from
that file. Then, for each server:

- **save**: wall time of a ``SAVE`` as the client sees it (median of rounds);
- **load**: the server's own "DB loaded from disk: X seconds" log line after a
  restart on the file it just saved (median of rounds);
- **BGSAVE latency**: a client sends GETs one at a time while a BGSAVE of the
  whole dataset runs, and the p50/p99/max of those round trips are reported.

- **BGSAVE child memory**: the peak of the private dirty pages of the server's
  child processes during the BGSAVE (what copy-on-write and the child's own
  allocations cost), against the dataset (the server's RSS minus its RSS empty).

Targets (issue 12, item 20): SAVE, BGSAVE and load within 2.5x of redis-server,
the child's extra memory under 30% of the dataset; p99 GET latency during
BGSAVE under 20 ms (issue 5). Usage::

    python benchmarks/persistence.py [--keys 1000000] [--rounds 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server.memory import private_dirty_bytes  # noqa: E402
from tests.servers import OurServer, RealServer, descendants, process_rss  # noqa: E402

LOADED = re.compile(r"DB loaded from disk: ([0-9.]+) seconds")


def time_save(server, rounds: int) -> float:
    client = server.client(socket_timeout=600)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        client.save()
        times.append(time.perf_counter() - start)
    client.close()
    return statistics.median(times)


def time_load(server, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        server.stop()
        before = server.log_path.read_text(errors="replace") if server.log_path.exists() else ""
        server.start(timeout=600)
        text = server.log_path.read_text(errors="replace")[len(before):]
        found = LOADED.findall(text)
        if not found:
            raise RuntimeError(f"no load time in the log of {type(server).__name__}:\n{text[-2000:]}")
        times.append(float(found[-1]))
    return statistics.median(times)


def bgsave_latency(server, keys: int, startup_rss: int) -> dict:
    """GET round trips (ms) measured while a BGSAVE runs, and the memory its processes copied.

    ``child_extra_bytes``: the peak of the children's private dirty pages (pages the
    child, or the parent, wrote after the fork, plus what the child allocated);
    ``dataset_bytes``: the server's RSS minus its RSS when empty.
    """
    client = server.client(socket_timeout=60)
    probe = server.client(socket_timeout=60)
    pid = server.proc.pid
    dataset = process_rss(pid) - startup_rss
    samples: list[float] = []
    peak = 0
    client.bgsave()
    start = time.perf_counter()
    index = 0
    while True:
        index = (index + 7919) % keys
        t0 = time.perf_counter()
        probe.get(f"key:{index}")
        samples.append((time.perf_counter() - t0) * 1000)
        if len(samples) % 20 == 0:
            peak = max(peak, sum(private_dirty_bytes(child) for child in descendants(pid)))
        if len(samples) % 200 == 0 and not client.info("persistence")["rdb_bgsave_in_progress"]:
            break
        if time.perf_counter() - start > 300:
            break
    duration = time.perf_counter() - start
    samples.sort()
    client.close()
    probe.close()
    return {
        "bgsave_seconds": round(duration, 3),
        "gets": len(samples),
        "p50_ms": round(samples[len(samples) // 2], 3),
        "p99_ms": round(samples[int(len(samples) * 0.99)], 3),
        "max_ms": round(samples[-1], 3),
        "child_extra_bytes": peak,
        "dataset_bytes": dataset,
        "child_extra_perc": round(100 * peak / max(dataset, 1), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="persistence-bench-"))
    results: dict = {"keys": args.keys}
    try:
        real = RealServer(work / "real")
        real.start()
        real_startup = process_rss(real.proc.pid)
        client = real.client(socket_timeout=600)
        client.execute_command("DEBUG", "POPULATE", args.keys)
        client.close()
        results["redis"] = {"save_seconds": time_save(real, args.rounds)}
        size = (real.workdir / "dump.rdb").stat().st_size
        results["rdb_bytes"] = size
        results["redis"]["load_seconds"] = time_load(real, args.rounds)
        results["redis"]["bgsave"] = bgsave_latency(real, args.keys, real_startup)
        real.stop()

        (work / "ours").mkdir()
        shutil.copy(real.workdir / "dump.rdb", work / "ours" / "dump.rdb")
        ours = OurServer(work / "ours")
        ours.start(timeout=600)
        results["ours"] = {"save_seconds": time_save(ours, args.rounds)}
        results["ours"]["load_seconds"] = time_load(ours, args.rounds)
        ours_startup = int(ours.client().info("memory")["used_memory_startup"])  # RSS before loading
        results["ours"]["bgsave"] = bgsave_latency(ours, args.keys, ours_startup)
        ours.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for kind in ("save_seconds", "load_seconds"):
        results[f"{kind.split('_')[0]}_ratio"] = round(results["ours"][kind] / results["redis"][kind], 2)
    results["bgsave_ratio"] = round(results["ours"]["bgsave"]["bgsave_seconds"]
                                    / results["redis"]["bgsave"]["bgsave_seconds"], 2)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(f"{args.keys:,} keys, RDB file {results['rdb_bytes'] / 1e6:.1f} MB")
        print(f"{'':24}{'ours':>10}{'redis':>10}{'ratio':>8}")
        for kind, label in (("save_seconds", "SAVE (s)"), ("load_seconds", "load at startup (s)")):
            ratio = results[f"{kind.split('_')[0]}_ratio"]
            print(f"{label:24}{results['ours'][kind]:>10.3f}{results['redis'][kind]:>10.3f}{ratio:>8.2f}")
        ob, rb = results["ours"]["bgsave"], results["redis"]["bgsave"]
        print(f"{'BGSAVE (s)':24}{ob['bgsave_seconds']:>10.3f}{rb['bgsave_seconds']:>10.3f}"
              f"{results['bgsave_ratio']:>8.2f}")
        for name in ("ours", "redis"):
            b = results[name]["bgsave"]
            print(f"BGSAVE child, {name:5}: extra memory {b['child_extra_bytes'] / 1e6:.1f} MB = "
                  f"{b['child_extra_perc']}% of the dataset ({b['dataset_bytes'] / 1e6:.1f} MB)")
            print(f"GET during BGSAVE, {name:5}: p50 {b['p50_ms']} ms, p99 {b['p99_ms']} ms, max {b['max_ms']} ms "
                  f"({b['gets']} GETs over {b['bgsave_seconds']} s)")
        ok = (results["save_ratio"] <= 2.5 and results["load_ratio"] <= 2.5 and results["bgsave_ratio"] <= 2.5
              and ob["child_extra_perc"] < 30)
        print(f"issue 12 targets (within 2.5x, child under 30%): {'met' if ok else 'NOT met'}")
        print(f"issue 5 target (p99 GET during BGSAVE under 20 ms): {'met' if ob['p99_ms'] < 20 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
