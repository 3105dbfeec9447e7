"""Replication in ``make bench`` (issue 18): ours against redis-server, same run, same machine.

1. Full sync: a master holding ``--keys`` small keys (default 1,000,000, loaded with
   redis-cli --pipe) gets a fresh replica; the time from REPLICAOF until the replica
   reports ``master_link_status:up`` with the master's DBSIZE. Measured for ours→ours,
   ours→redis-server and redis-server→ours, against redis-server→redis-server.
   Target: ours→ours within 3x redis-server→redis-server.
2. Lag: ``redis-benchmark -t set -P 16`` on our master with our replica attached; a probe
   writes a new value on the master every 50 ms and times how long until the replica shows
   it. Target: under 1 s.
3. Throughput: the same benchmark on our master with one replica attached against the
   same master without one. Target: at least 0.8x.

Usage: ``python benchmarks/replication.py [--quick] [--keys N] [--requests N]``
(``--quick``: 100,000 keys and fewer requests). Results go to benchmarks/results/replication-*.json.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.run import load_keys, run_benchmark, save_results  # noqa: E402
from tests.servers import OurServer, RealServer, ServerProcess  # noqa: E402

EXTRA = ["--repl-diskless-sync-delay", "0"]


def server(kind: str, work: Path, name: str) -> ServerProcess:
    cls = OurServer if kind == "ours" else RealServer
    node = cls(work / name, extra=list(EXTRA))
    node.start(timeout=60)
    return node


def repl_info(node: ServerProcess) -> dict:
    with node.client() as conn:
        return conn.info("replication")


def full_sync(master_kind: str, replica_kind: str, keys: int, work: Path) -> float:
    """Seconds from REPLICAOF until the replica's link is up with every key."""
    master = server(master_kind, work, f"{master_kind}-master")
    replica = server(replica_kind, work, f"{replica_kind}-replica")
    try:
        load_keys(master.port, keys)
        with master.client() as conn:
            assert conn.dbsize() == keys
        start = time.perf_counter()
        with replica.client() as conn:
            conn.execute_command("REPLICAOF", "127.0.0.1", master.port)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            try:
                with replica.client(socket_timeout=5) as conn:
                    up = conn.info("replication").get("master_link_status") == "up"
                    if up and conn.dbsize() == keys:
                        return time.perf_counter() - start
            except Exception:  # the replica answers -LOADING or is busy loading
                pass
            time.sleep(0.02)
        raise RuntimeError(f"{master_kind}->{replica_kind}: no full sync in 600 s")
    finally:
        replica.stop()
        master.stop()


def lag_under_load(requests: int, work: Path) -> dict:
    """The replica's lag (seconds) while redis-benchmark -t set -P 16 writes on the master.

    Measured end to end, as a client sees it: a probe writes a fresh value on the master and
    reads the replica until the value shows; the time that takes is the lag at that moment
    (it includes the time a busy replica takes to answer, which an INFO offset would hide).
    """
    master = server("ours", work, "lag-master")
    replica = server("ours", work, "lag-replica")
    try:
        with replica.client() as conn:
            conn.execute_command("REPLICAOF", "127.0.0.1", master.port)
        wait_caught_up(master, replica)
        lags: list[float] = []
        done = threading.Event()

        def probe() -> None:
            with master.client() as m, replica.client(socket_timeout=60) as r:
                n = 0
                while not done.is_set():
                    n += 1
                    start = time.perf_counter()
                    m.set("lag-probe", n)
                    while r.get("lag-probe") != b"%d" % n:
                        time.sleep(0.005)
                    lags.append(time.perf_counter() - start)
                    time.sleep(0.05)

        prober = threading.Thread(target=probe)
        prober.start()
        rps = run_benchmark(master.port, "set", requests, 16)
        done.set()
        start = time.perf_counter()
        wait_caught_up(master, replica)
        catch_up = time.perf_counter() - start
        prober.join()
        return {"rps": rps, "max_lag_s": max(lags) if lags else 0.0, "samples": len(lags),
                "median_lag_s": statistics.median(lags) if lags else 0.0, "catch_up_after_run_s": catch_up}
    finally:
        replica.stop()
        master.stop()


def wait_caught_up(master: ServerProcess, replica: ServerProcess, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = repl_info(replica)
        if r.get("master_link_status") == "up" and r["slave_repl_offset"] == repl_info(master)["master_repl_offset"]:
            return
        time.sleep(0.02)
    raise RuntimeError("the replica never caught up")


def throughput(requests: int, rounds: int, work: Path, replica_kind: str = "ours") -> dict:
    """SET -P 16 on our master without, then with, a replica attached (alternating rounds).

    With redis-server as the replica the figure is the master's own cost of replicating; with
    ours, the replica's CPU also competes for the machine's cores."""
    master = server("ours", work, f"tp-master-{replica_kind}")
    replica = server(replica_kind, work, f"tp-replica-{replica_kind}")
    alone: list[float] = []
    attached: list[float] = []
    try:
        for _ in range(rounds):
            with replica.client() as conn:
                conn.execute_command("REPLICAOF", "NO", "ONE")
            time.sleep(0.2)
            alone.append(run_benchmark(master.port, "set", requests, 16))
            with replica.client() as conn:
                conn.execute_command("REPLICAOF", "127.0.0.1", master.port)
            wait_caught_up(master, replica)
            attached.append(run_benchmark(master.port, "set", requests, 16))
            wait_caught_up(master, replica)
    finally:
        replica.stop()
        master.stop()
    a, b = statistics.median(alone), statistics.median(attached)
    return {"without_replica_rps": a, "with_replica_rps": b, "ratio": b / a}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100,000 keys, fewer requests")
    parser.add_argument("--keys", type=int, default=0)
    parser.add_argument("--requests", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    keys = args.keys or (100_000 if args.quick else 1_000_000)
    requests = args.requests or (100_000 if args.quick else 500_000)
    if subprocess.run(["redis-server", "--version"], capture_output=True).returncode != 0:
        print("redis-server is needed")
        return 1
    results: dict = {"keys": keys, "requests": requests}
    with tempfile.TemporaryDirectory(prefix="bench-repl-") as tmp:
        work = Path(tmp)
        sync = {}
        for master_kind, replica_kind in (("redis", "redis"), ("ours", "ours"), ("ours", "redis"), ("redis", "ours")):
            seconds = full_sync(master_kind, replica_kind, keys, work)
            sync[f"{master_kind}->{replica_kind}"] = seconds
            print(f"full sync of {keys} keys, {master_kind} -> {replica_kind}: {seconds:.2f} s", flush=True)
        sync["ours/redis ratio"] = sync["ours->ours"] / sync["redis->redis"]
        print(f"ours->ours / redis->redis: {sync['ours/redis ratio']:.2f}x (target: within 3x)")
        results["full_sync_s"] = sync
        lag = lag_under_load(requests, work)
        print(f"lag under redis-benchmark -t set -P 16 ({lag['rps']:.0f} SET/s): max {lag['max_lag_s']:.3f} s, "
              f"median {lag['median_lag_s']:.3f} s, caught up {lag['catch_up_after_run_s']:.3f} s after the run "
              f"(target: under 1 s)")
        results["lag"] = lag
        for kind in ("ours", "redis"):
            tp = throughput(requests, args.rounds, work, kind)
            print(f"our master, SET -P 16: {tp['without_replica_rps']:.0f}/s alone, {tp['with_replica_rps']:.0f}/s "
                  f"with a {kind} replica: {tp['ratio']:.2f}x (target: at least 0.8x)")
            results[f"throughput_with_{kind}_replica"] = tp
    save_results("replication", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
