"""Lua scripting in ``make bench``: EVALSHA on our server against redis-server, same run, same machine.

Two scripts, both loaded with SCRIPT LOAD and called by SHA1 the way client libraries do:

- ``incr``: ``return redis.call('incr', KEYS[1])`` on random keys (one redis.call per request);
- ``lock_release``: redis-py's ``Lock`` release script, text taken from the installed redis-py, on a
  held lock whose token does not match (the GET-and-compare path every failed release takes).

Each runs unpipelined (``-c 50``) and at ``-P 16``; the two servers alternate over ``--rounds`` and the
median is kept, with the server's CPU time per request (from /proc). Targets (issue 14): at least 0.7x
redis-server unpipelined and 0.25x at ``-P 16``. Results go to ``benchmarks/results/scripting-*.json``.
Usage: ``python benchmarks/scripting.py [--quick] [--rounds N]``.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
import time
from pathlib import Path

from redis.lock import Lock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.run import command_benchmark, compare, save_results  # noqa: E402
from tests.servers import OurServer, RealServer  # noqa: E402

INCR_SCRIPT = "return redis.call('incr', KEYS[1])"
RELEASE_SCRIPT = Lock.LUA_RELEASE_SCRIPT


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def prepare(server) -> None:
    """Load both scripts and hold the lock under a token the benchmark never presents."""
    client = server.client()
    assert client.script_load(INCR_SCRIPT) == sha1(INCR_SCRIPT)
    assert client.script_load(RELEASE_SCRIPT) == sha1(RELEASE_SCRIPT)
    client.set("bench:lock", "holder-token")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=0)
    args = parser.parse_args()
    if not shutil.which("redis-benchmark") or not shutil.which("redis-server"):
        print("redis-benchmark and redis-server are needed (Debian's redis-server and redis-tools)")
        return 1
    rounds = args.rounds or (1 if args.quick else 3)
    n = 20_000 if args.quick else 100_000
    work = Path(tempfile.mkdtemp(prefix="redistui-scripting-bench-"))
    ours, real = OurServer(work / "ours"), RealServer(work / "real")
    ours.start()
    real.start()
    results: dict = {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "rounds": rounds, "cases": {}}
    incr = ("EVALSHA", sha1(INCR_SCRIPT), "1", "counter:__rand_int__")
    release = ("EVALSHA", sha1(RELEASE_SCRIPT), "1", "bench:lock", "other-token")
    try:
        for server in (ours, real):
            prepare(server)
        cases = {
            f"{name}_P{pipeline}": lambda s, c=command, p=pipeline: command_benchmark(
                s, n * (4 if p > 1 else 1), p, *c, keyspace=100000)
            for pipeline in (1, 16)
            for name, command in (("evalsha_incr", incr), ("evalsha_lock_release", release))
        }
        compare(cases, rounds, ours, real, results, 22)
    finally:
        ours.stop()
        real.stop()
        shutil.rmtree(work, ignore_errors=True)
    save_results("scripting", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
