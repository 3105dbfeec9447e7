"""Cluster mode in ``make bench``: ``redis-benchmark --cluster`` on three masters of ours against three
redis-server masters, same run, same machine.

Each cluster is formed with ``redis-cli --cluster create`` (slots split evenly). redis-benchmark's
cluster mode reads CLUSTER NODES and sends each request to the master of its key's slot, so
every request is routed and checked against the slot map on the server side. SET and GET run
unpipelined (``-c 50``) and at ``-P 16``; the two clusters alternate over ``--rounds`` and the
median is kept, with the CPU time per request of the three servers together (from /proc).
Target (issue 19): at least 0.35x redis-server at ``-P 16``. Results go to
``benchmarks/results/cluster-*.json``. Usage: ``python benchmarks/cluster.py [--quick] [--rounds N]``.
"""

from __future__ import annotations

import argparse
import csv
import io
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.run import compare, cpu_seconds, save_results  # noqa: E402
from tests.servers import OurServer, RealServer, ServerProcess, free_port  # noqa: E402

TESTS = ("set", "get")


def start_cluster(kind: str, work: Path) -> list[ServerProcess]:
    nodes: list[ServerProcess] = []
    for i in range(3):
        extra = ["--cluster-enabled", "yes", "--cluster-port", str(free_port()), "--cluster-node-timeout", "5000"]
        cls = OurServer if kind == "ours" else RealServer
        node = cls(work / f"{kind}{i}", extra=extra)
        node.start(timeout=60)
        nodes.append(node)
    out = subprocess.run(["redis-cli", "--cluster", "create", *[f"127.0.0.1:{n.port}" for n in nodes],
                          "--cluster-yes"], capture_output=True, text=True, timeout=120).stdout
    if "[OK] All 16384 slots covered." not in out:
        raise RuntimeError(f"cluster create failed for {kind}:\n{out}")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        infos = [n.client().execute_command("CLUSTER", "INFO") for n in nodes]
        if all(b"cluster_state:ok" in info for info in infos):
            return nodes
        time.sleep(0.2)
    raise RuntimeError(f"{kind} cluster never reached cluster_state:ok")


class Cluster:
    """Three nodes measured as one server (``alternate`` passes it to ``run``)."""

    def __init__(self, nodes: list[ServerProcess]) -> None:
        self.nodes = nodes

    def cpu(self) -> float:
        return sum(cpu_seconds(node.proc.pid) for node in self.nodes if node.proc is not None)

    def bench(self, test: str, requests: int, pipeline: int) -> tuple[float, float]:
        cmd = ["redis-benchmark", "--cluster", "-p", str(self.nodes[0].port), "-t", test, "-n", str(requests),
               "-c", "50", "-P", str(pipeline), "-r", "100000", "--csv"]
        before = self.cpu()
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=900).stdout
        rows = [row for row in csv.reader(io.StringIO(out)) if row and row[0] != "test"]
        if not rows:
            raise RuntimeError(f"no result from {' '.join(cmd)}:\n{out}")
        return float(rows[-1][1]), (self.cpu() - before) * 1e6 / requests


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=0)
    args = parser.parse_args()
    if not shutil.which("redis-benchmark") or not shutil.which("redis-server") or not shutil.which("redis-cli"):
        print("redis-benchmark, redis-cli and redis-server are needed (Debian's redis-server and redis-tools)")
        return 1
    rounds = args.rounds or (1 if args.quick else 3)
    n = 30_000 if args.quick else 100_000
    work = Path(tempfile.mkdtemp(prefix="redistui-cluster-bench-"))
    ours_nodes: list[ServerProcess] = []
    real_nodes: list[ServerProcess] = []
    results: dict = {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "rounds": rounds, "cases": {}}
    try:
        ours_nodes = start_cluster("ours", work)
        real_nodes = start_cluster("real", work)
        ours, real = Cluster(ours_nodes), Cluster(real_nodes)
        cases = {
            f"{test}_P{pipeline}": lambda c, t=test, p=pipeline: c.bench(t, n * (4 if p > 1 else 1), p)
            for pipeline in (1, 16)
            for test in TESTS
        }
        compare(cases, rounds, ours, real, results, 12)
    finally:
        for node in ours_nodes + real_nodes:
            node.stop()
        shutil.rmtree(work, ignore_errors=True)
    save_results("cluster", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
