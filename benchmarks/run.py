"""``make bench``: our server against a real redis-server, in the same run, on the same machine.

For each redis-benchmark test, both servers are measured alternately (ours,
redis, ours, redis ...) so that background noise hits both, and the median of
the rounds is kept. Reported per test: requests/s for both and the ratio
ours/redis, unpipelined (``-c 50``) and pipelined (``-P 16``), plus the
server's own CPU time per request (read from /proc before and after), which
shows the cost on our side even when the single-threaded benchmark client is
the bottleneck. Memory: bytes per key after loading 1,000,000 keys of 10-byte
values (RSS delta). Results go to ``benchmarks/results/`` as JSON.

Usage: ``python benchmarks/run.py [--quick] [--tests set,get,...] [--skip-memory]``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import OurServer, RealServer, process_rss  # noqa: E402

CORE_TESTS = ["set", "get", "incr", "mset"]
FAMILY_TESTS = ["lpush", "rpush", "lpop", "rpop", "sadd", "hset", "spop", "zadd", "zpopmin", "lrange_100"]
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def run_benchmark(port: int, test: str, requests: int, pipeline: int, clients: int = 50) -> float:
    """Requests per second that redis-benchmark reports for one test."""
    cmd = [
        "redis-benchmark", "-p", str(port), "-t", test, "-n", str(requests), "-c", str(clients),
        "-P", str(pipeline), "-r", "100000", "--csv",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600).stdout
    rows = list(csv.reader(io.StringIO(out)))
    for row in rows[1:]:
        if row and row[0].strip('"').lower().startswith(test.split("_")[0].lower()):
            return float(row[1])
    raise RuntimeError(f"no result for {test}: {out!r}")


def measure(server, test: str, requests: int, pipeline: int) -> tuple[float, float]:
    """(requests/s, server CPU microseconds per request)."""
    before = cpu_seconds(server.proc.pid)
    rps = run_benchmark(server.port, test, requests, pipeline)
    used = cpu_seconds(server.proc.pid) - before
    return rps, used * 1e6 / requests


def command_benchmark(server, requests: int, pipeline: int, *command: str,
                      keyspace: int = 0) -> tuple[float, float]:
    """(requests/s, server CPU us per request) of redis-benchmark running one arbitrary command;
    ``keyspace``: the range of ``__rand_int__`` (redis-benchmark's -r)."""
    cmd = ["redis-benchmark", "-p", str(server.port), "-n", str(requests), "-c", "50", "-P", str(pipeline), "--csv"]
    if keyspace:
        cmd += ["-r", str(keyspace)]
    before = cpu_seconds(server.proc.pid)
    out = subprocess.run([*cmd, *command], capture_output=True, text=True, timeout=900).stdout
    rows = [row for row in csv.reader(io.StringIO(out)) if row]
    return float(rows[-1][1]), (cpu_seconds(server.proc.pid) - before) * 1e6 / requests


def alternate(rounds: int, ours, real, run) -> dict:
    """``run(server)`` → (requests/s, CPU us) on both servers in turn; the medians and the ratio."""
    mine: list[tuple[float, float]] = []
    theirs: list[tuple[float, float]] = []
    for _ in range(rounds):
        mine.append(run(ours))
        theirs.append(run(real))
    o = statistics.median(x[0] for x in mine)
    r = statistics.median(x[0] for x in theirs)
    return {"ours": o, "redis": r, "ratio": o / r,
            "ours_cpu_us": statistics.median(x[1] for x in mine),
            "redis_cpu_us": statistics.median(x[1] for x in theirs)}


def compare(cases: dict, rounds: int, ours, real, results: dict, width: int) -> None:
    """Each case ``name: run`` through `alternate`, stored in ``results["cases"]`` and printed as a row."""
    print(f"{'case':<{width}} {'ours':>10} {'redis':>10} {'ratio':>6}   {'ours us':>8} {'redis us':>8}")
    for name, run in cases.items():
        row = results["cases"][name] = alternate(rounds, ours, real, run)
        print(f"{name:<{width}} {row['ours']:>10.0f} {row['redis']:>10.0f} {row['ratio']:>6.2f}   "
              f"{row['ours_cpu_us']:>8.1f} {row['redis_cpu_us']:>8.1f}", flush=True)


def save_results(prefix: str, results: dict) -> None:
    """Write ``results`` to benchmarks/results/<prefix>-<time>.json and say where."""
    out_dir = ROOT / "benchmarks" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"\nwritten to {out.relative_to(ROOT)}")


def load_keys(port: int, count: int) -> None:
    """Insert ``count`` keys of 10-byte values with redis-cli --pipe (raw protocol, fast)."""
    lines = []
    for i in range(count):
        key = b"key:%09d" % i
        lines.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$10\r\n0123456789\r\n" % (len(key), key))
    data = b"".join(lines)
    subprocess.run(["redis-cli", "-p", str(port), "--pipe"], input=data, capture_output=True, check=True, timeout=600)


def memory_per_key(server, count: int) -> float:
    server.client().flushall()
    time.sleep(0.5)
    before = process_rss(server.proc.pid)
    load_keys(server.port, count)
    assert server.client().dbsize() == count
    time.sleep(0.5)
    return (process_rss(server.proc.pid) - before) / count


def run_pubsub_fanout(quick: bool) -> dict:
    """The pub/sub fan-out case (``benchmarks/pubsub_fanout.py``, which starts its own servers)."""
    cmd = [sys.executable, str(ROOT / "benchmarks" / "pubsub_fanout.py"), "--json", "--rounds", "1" if quick else "3"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=900).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests and rounds")
    parser.add_argument("--tests", default=",".join(CORE_TESTS + FAMILY_TESTS))
    parser.add_argument("--rounds", type=int, default=0)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--memory-keys", type=int, default=0, help="keys for the memory test (default 1,000,000)")
    args = parser.parse_args()
    if not shutil.which("redis-benchmark") or not shutil.which("redis-server"):
        print("redis-benchmark and redis-server are needed (Debian's redis-server and redis-tools)")
        return 1
    rounds = args.rounds or (1 if args.quick else 3)
    base_requests = 50_000 if args.quick else 100_000
    tests = [t for t in args.tests.split(",") if t]
    work = Path(tempfile.mkdtemp(prefix="redistui-bench-"))
    ours = OurServer(work / "ours")
    real = RealServer(work / "real")
    ours.start()
    real.start()
    results: dict = {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "tests": {}, "rounds": rounds}
    try:
        print(f"{'test':<12} {'mode':<6} {'ours rps':>11} {'redis rps':>11} {'ratio':>6}   "
              f"{'ours us/req':>11} {'redis us/req':>12} {'cpu ratio':>9}")
        for pipeline in (1, 16):
            mode = "P1" if pipeline == 1 else f"P{pipeline}"
            for test in tests:
                requests = base_requests * (4 if pipeline > 1 else 1)
                if test == "lrange_100":
                    requests //= 4
                mine, theirs = [], []
                for _ in range(rounds):
                    mine.append(measure(ours, test, requests, pipeline))
                    theirs.append(measure(real, test, requests, pipeline))
                o_rps = statistics.median(m[0] for m in mine)
                r_rps = statistics.median(t[0] for t in theirs)
                o_cpu = statistics.median(m[1] for m in mine)
                r_cpu = statistics.median(t[1] for t in theirs)
                ratio = o_rps / r_rps
                cpu_ratio = o_cpu / r_cpu if r_cpu else float("nan")
                results["tests"].setdefault(test, {})[mode] = {
                    "ours_rps": o_rps, "redis_rps": r_rps, "ratio": ratio,
                    "ours_cpu_us": o_cpu, "redis_cpu_us": r_cpu, "cpu_ratio": cpu_ratio,
                }
                print(f"{test:<12} {mode:<6} {o_rps:>11.0f} {r_rps:>11.0f} {ratio:>6.2f}   "
                      f"{o_cpu:>11.2f} {r_cpu:>12.2f} {cpu_ratio:>9.2f}", flush=True)
        summary = {}
        for group, names in (("core", CORE_TESTS), ("families", FAMILY_TESTS)):
            for mode in ("P1", "P16"):
                ratios = [results["tests"][t][mode]["ratio"] for t in names if t in results["tests"]]
                cpus = [results["tests"][t][mode]["cpu_ratio"] for t in names if t in results["tests"]]
                if ratios:
                    summary[f"{group}_{mode}_median_ratio"] = statistics.median(ratios)
                    summary[f"{group}_{mode}_median_cpu_ratio"] = statistics.median(cpus)
        if not args.skip_memory:
            count = args.memory_keys or 1_000_000
            ours_mem = memory_per_key(ours, count)
            real_mem = memory_per_key(real, count)
            summary["memory_bytes_per_key_ours"] = ours_mem
            summary["memory_bytes_per_key_redis"] = real_mem
            summary["memory_ratio"] = ours_mem / real_mem
        fanout = run_pubsub_fanout(args.quick)
        results["pubsub_fanout"] = fanout
        summary["pubsub_fanout_ratio"] = fanout["ratio"]
        results["summary"] = summary
        print()
        for key, value in summary.items():
            print(f"{key:<36} {value:.2f}")
    finally:
        ours.stop()
        real.stop()
        shutil.rmtree(work, ignore_errors=True)
    save_results("bench", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
