"""Dump-file benchmark (issue 20): analysing an RDB file against redis-server loading it, and
``redistui open`` showing the file's first keys while its progress bars run.

redis-server makes the file: ``DEBUG POPULATE`` under three prefixes (``user``,
``session``, ``cache:page``) with 20-, 40- and 60-byte values, then SAVE. Then:

- **redis-server load**: redis-server restarted on the file; its own "DB loaded from
  disk" line (wall) and the CPU time its process spent until it answered (from /proc),
  median of rounds;
- **analysis**: ``redistui.analysis.analyse_file`` over the same file, wall and CPU
  (``time.process_time``), median of rounds; every key is counted;
- **open**: the explorer (headless) on the file: when the loading screen listed the first
  keys, and when the private server had loaded the file (the progress bars run until then).

Target: the analysis within 3x redis-server's load. On a shared, loaded machine wall
times swing with the neighbours; the CPU ratio is the steadier figure. Usage::

    python benchmarks/dumpfile.py [--quick] [--keys 1000000] [--rounds 3] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.run import save_results  # noqa: E402
from redistui.analysis import analyse_file  # noqa: E402
from tests.servers import RealServer  # noqa: E402

LOADED = re.compile(r"DB loaded from disk: ([0-9.]+) seconds")
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def make_file(keys: int, workdir: Path) -> Path:
    server = RealServer(workdir)
    server.start()
    try:
        with server.client(socket_timeout=600) as conn:
            shares = (("user", 20, keys * 4 // 10), ("session", 40, keys * 3 // 10))
            rest = keys - sum(n for _, _, n in shares)
            for prefix, size, count in (*shares, ("cache:page", 60, rest)):
                # DEBUG POPULATE names keys prefix:N from 0: give each prefix its own numbers
                conn.execute_command("DEBUG", "POPULATE", count, prefix, size)
            assert conn.dbsize() == keys
            conn.save()
    finally:
        server.stop()
    return workdir / "dump.rdb"


def redis_load(path: Path, rounds: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(rounds):
        workdir = Path(tempfile.mkdtemp(prefix="bench-load-"))
        shutil.copyfile(path, workdir / "dump.rdb")
        server = RealServer(workdir)
        server.start(timeout=600)
        try:
            assert server.proc is not None
            cpus.append(cpu_seconds(server.proc.pid))
            match = LOADED.search(server.log_path.read_text())
            assert match, server.log_tail()
            walls.append(float(match.group(1)))
        finally:
            server.stop()
            shutil.rmtree(workdir, ignore_errors=True)
    return statistics.median(walls), statistics.median(cpus)


def analysis(path: Path, rounds: int, keys: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(rounds):
        cpu, wall = time.process_time(), time.perf_counter()
        report = analyse_file(path)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        assert report.complete and report.keys == keys, (report.keys, report.damage)
    return statistics.median(walls), statistics.median(cpus)


async def open_in_explorer(path: Path) -> dict[str, float | None]:
    from redistui.dumpfile import PrivateServer
    from redistui.screens.opening import DumpFileApp

    private = PrivateServer(path)
    private.start()
    app = DumpFileApp(private)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            deadline = time.monotonic() + 900
            while not app.connected and time.monotonic() < deadline:
                await pilot.pause(0.1)
            while app.file_report is None and time.monotonic() < deadline:
                await pilot.pause(0.1)
            return {"first_keys_s": app.first_keys_at, "server_loaded_s": app.loading_seconds,
                    "analysis_done": app.file_report is not None}
    finally:
        private.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=None, help="default 1,000,000 (--quick: 100,000)")
    parser.add_argument("--rounds", type=int, default=None, help="default 3 (--quick: 1)")
    parser.add_argument("--quick", action="store_true", help="fewer keys and one round")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    args.keys = args.keys or (100_000 if args.quick else 1_000_000)
    args.rounds = args.rounds or (1 if args.quick else 3)
    workdir = Path(tempfile.mkdtemp(prefix="bench-dumpfile-"))
    try:
        path = make_file(args.keys, workdir)
        size = path.stat().st_size
        redis_wall, redis_cpu = redis_load(path, args.rounds)
        our_wall, our_cpu = analysis(path, args.rounds, args.keys)
        opened = asyncio.run(open_in_explorer(path))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result = {
        "keys": args.keys,
        "file_bytes": size,
        "redis_load_wall_s": redis_wall,
        "redis_load_cpu_s": redis_cpu,
        "analysis_wall_s": round(our_wall, 3),
        "analysis_cpu_s": round(our_cpu, 3),
        "ratio_wall": round(our_wall / redis_wall, 2) if redis_wall else None,
        "ratio_cpu": round(our_cpu / redis_cpu, 2) if redis_cpu else None,
        **opened,
    }
    if args.json:
        print(json.dumps(result))
        return
    save_results("dumpfile", result)
    print(f"dump file: {args.keys} keys, {size / 1e6:.1f} MB")
    print(f"  redis-server load      wall {redis_wall:7.3f} s   cpu {redis_cpu:7.3f} s")
    print(f"  analysis (every key)   wall {our_wall:7.3f} s   cpu {our_cpu:7.3f} s")
    print(f"  ratio (target <= 3x)   wall {result['ratio_wall']}x   cpu {result['ratio_cpu']}x")
    first, loaded = opened["first_keys_s"], opened["server_loaded_s"]
    print(f"  redistui open: first keys on the loading screen after {first:.2f} s, "
          f"the private server loaded after {loaded:.2f} s"
          if first is not None and loaded is not None else f"  redistui open: {opened}")


if __name__ == "__main__":
    main()
