"""Kill -9 trials: acknowledged writes against a server that is killed mid-burst, then restarted.

Used by ``tests/server/test_crash_safety.py`` (a bounded number of trials in CI)
and ``benchmarks/crash_trials.py`` (a longer run). One trial:

1. connect, read the counter the restarted server loaded, compare it with the
   last value the server acknowledged before it was killed;
2. INCR the counter in a loop (each reply is an acknowledged value) while a
   timer sends SIGKILL to the server's own PID after a short random delay;
3. restart the server on the same directory.

A loaded value below the last acknowledged one is a lost write. One above it by
one is the INCR in flight when the kill landed: written, never acknowledged.
"""

from __future__ import annotations

import random
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.servers import OurServer


class QuickServer(OurServer):
    """Our server, restarted many times: readiness is polled with a raw PING, without client retries."""

    poll_interval = 0.01

    def answers(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self, timeout: float = 30.0) -> None:
        super().start(timeout)


@dataclass
class TrialReport:
    trials: int = 0
    writes: int = 0
    lost: list[int] = field(default_factory=list)  # acknowledged writes missing after each restart
    rates: list[float] = field(default_factory=list)  # acknowledged writes per second in each burst
    restart_seconds: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def run_trials(workdir: Path, trials: int, fsync: str, burst: tuple[float, float] = (0.05, 0.25),
               seed: int = 0) -> TrialReport:
    """Run ``trials`` kill -9 trials with ``appendfsync fsync``; the server is left stopped."""
    rng = random.Random(seed)
    server = QuickServer(workdir, extra=["--appendonly", "yes", "--appendfsync", fsync])
    server.start()
    report = TrialReport()
    acknowledged = 0
    try:
        for _ in range(trials + 1):
            client = server.client(socket_timeout=10, retry=Retry(NoBackoff(), 0))
            loaded = int(client.get("counter") or 0)
            report.lost.append(max(0, acknowledged - loaded))
            if loaded > acknowledged + 1:
                report.failures.append(f"loaded {loaded}, but only {acknowledged} were acknowledged (+1 in flight)")
            if report.trials == trials:
                client.close()
                break
            acknowledged = loaded
            proc = server.proc
            assert proc is not None
            killer = threading.Timer(rng.uniform(*burst), proc.kill)
            start = time.monotonic()
            count = 0
            killer.start()
            try:
                while True:
                    acknowledged = client.incr("counter")
                    count += 1
            except (redis.ConnectionError, redis.TimeoutError):
                pass
            finally:
                killer.join()
                client.close()
            report.rates.append(count / max(time.monotonic() - start, 1e-6))
            report.writes += count
            report.trials += 1
            proc.wait(timeout=10)
            server.proc = None
            restart = time.monotonic()
            server.start(timeout=30)
            report.restart_seconds.append(time.monotonic() - restart)
    finally:
        server.stop()
    return report
