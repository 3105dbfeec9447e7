"""Acknowledged writes per second with ``appendfsync always``: ours against redis-server, same run.

Each server runs with ``appendonly yes`` and ``appendfsync always`` in its own
temp directory; ``redis-benchmark`` sends SETs from 50 clients, each waiting
for its reply before the next (no pipelining), so every request per second it
reports is a write on disk before it was acknowledged. Redis fsyncs once per
event-loop turn for all clients (group commit); so must we.

Target (issue 12, item 19): ours at least 0.3x redis-server. Usage::

    python benchmarks/fsync_always.py [--requests 20000] [--clients 50] [--json]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import OurServer, RealServer  # noqa: E402

ALWAYS = ["--appendonly", "yes", "--appendfsync", "always"]
TARGET = 0.3


def writes_per_second(server, requests: int, clients: int) -> float:
    out = subprocess.run(
        ["redis-benchmark", "-p", str(server.port), "-c", str(clients), "-n", str(requests), "-t", "set",
         "-r", "100000", "--csv"],
        capture_output=True, text=True, timeout=600, check=True).stdout
    rows = list(csv.reader(io.StringIO(out)))
    for row in rows:
        if row and row[0] == "SET":
            return float(row[1])
    raise RuntimeError(f"no SET line in redis-benchmark's output:\n{out}")


def measure(kind, workdir: Path, requests: int, clients: int) -> float:
    server = kind(workdir, extra=ALWAYS)
    server.start(timeout=60)
    try:
        writes_per_second(server, min(requests, 2000), clients)  # warm up, create the files
        return writes_per_second(server, requests, clients)
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fsync-always-bench-"))
    try:
        redis_rate = measure(RealServer, work / "real", args.requests, args.clients)
        ours_rate = measure(OurServer, work / "ours", args.requests, args.clients)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ratio = ours_rate / redis_rate
    results = {"clients": args.clients, "requests": args.requests, "ours_writes_per_s": round(ours_rate),
               "redis_writes_per_s": round(redis_rate), "ratio": round(ratio, 2), "target": TARGET}
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(f"appendfsync always, {args.clients} clients, SET without pipelining ({args.requests:,} requests)")
        print(f"  ours  {ours_rate:>12,.0f} acknowledged writes/s")
        print(f"  redis {redis_rate:>12,.0f} acknowledged writes/s")
        print(f"  ratio {ratio:.2f} (target >= {TARGET}): {'met' if ratio >= TARGET else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
