"""Streams in ``make bench``: our server against redis-server, same run, same machine.

- XADD with generated IDs, unpipelined (``-c 50``) and at ``-P 16`` (redis-benchmark);
- XRANGE of 100 entries, unpipelined (redis-benchmark on a stream of 100 entries);
- a consumer loop: XREADGROUP ``>`` COUNT 10 then XACK of those 10 IDs, one client, no
  pipelining, over a stream of 50,000 entries (requests/s of the pair of commands);
- memory: RSS per entry after 1,000,000 ``XADD s * f <6 bytes>`` (redis-cli --pipe).

Each case alternates the two servers over ``--rounds`` and keeps the median; the server's
CPU time per request is reported too. Results go to ``benchmarks/results/streams-*.json``.
Usage: ``python benchmarks/streams.py [--quick] [--skip-memory]``.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import hiredis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.run import command_benchmark, compare, cpu_seconds, save_results  # noqa: E402
from tests.servers import OurServer, RealServer, process_rss  # noqa: E402


class Conn:
    """A bare RESP connection: the client costs as little as possible in the consumer loop."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = hiredis.Reader()

    def call(self, *args: bytes) -> object:
        parts = [b"*%d\r\n" % len(args)]
        for a in args:
            parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(parts))
        while True:
            reply = self.reader.gets()
            if reply is not False:
                return reply
            self.reader.feed(self.sock.recv(1 << 20))

    def close(self) -> None:
        self.sock.close()


def fill(port: int, key: bytes, count: int, value: bytes = b"value1") -> None:
    line = b"*5\r\n$4\r\nXADD\r\n$%d\r\n%s\r\n$1\r\n*\r\n$1\r\nf\r\n$%d\r\n%s\r\n" % (len(key), key, len(value), value)
    subprocess.run(["redis-cli", "-p", str(port), "--pipe"], input=line * count, capture_output=True, check=True,
                   timeout=900)


def consumer_loop(server, entries: int) -> tuple[float, float]:
    """(XREADGROUP+XACK pairs per second, server CPU us per pair)."""
    c = Conn(server.port)
    c.call(b"DEL", b"q")
    fill(server.port, b"q", entries)
    c.call(b"XGROUP", b"CREATE", b"q", b"g", b"0")
    pairs = 0
    cpu0 = cpu_seconds(server.proc.pid)
    start = time.perf_counter()
    while True:
        reply = c.call(b"XREADGROUP", b"GROUP", b"g", b"c1", b"COUNT", b"10", b"STREAMS", b"q", b">")
        if reply is None:
            break
        ids = [entry[0] for entry in reply[0][1]]  # type: ignore[index]
        c.call(b"XACK", b"q", b"g", *ids)
        pairs += 1
    elapsed = time.perf_counter() - start
    cpu = cpu_seconds(server.proc.pid) - cpu0
    c.close()
    return pairs / elapsed, cpu * 1e6 / pairs


def memory_per_entry(server, count: int) -> float:
    c = Conn(server.port)
    c.call(b"FLUSHALL")
    time.sleep(0.5)
    before = process_rss(server.proc.pid)
    fill(server.port, b"m", count)
    assert c.call(b"XLEN", b"m") == count
    time.sleep(0.5)
    used = process_rss(server.proc.pid) - before
    c.call(b"FLUSHALL")
    c.close()
    return used / count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=0)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--memory-entries", type=int, default=1_000_000)
    args = parser.parse_args()
    rounds = args.rounds or (1 if args.quick else 3)
    n = 20_000 if args.quick else 100_000
    work = Path(tempfile.mkdtemp(prefix="redistui-streams-bench-"))
    ours, real = OurServer(work / "ours"), RealServer(work / "real")
    ours.start()
    real.start()
    results: dict = {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "rounds": rounds, "cases": {}}
    try:
        for server in (ours, real):
            fill(server.port, b"r", 100)
        cases = {
            "xadd_P1": lambda s: command_benchmark(s, n, 1, "XADD", "bench", "*", "f", "value1"),
            "xadd_P16": lambda s: command_benchmark(s, n * 4, 16, "XADD", "bench", "*", "f", "value1"),
            "xrange_100_P1": lambda s: command_benchmark(s, n // 4, 1, "XRANGE", "r", "-", "+", "COUNT", "100"),
            "xreadgroup_xack_loop": lambda s: consumer_loop(s, 10_000 if args.quick else 50_000),
        }
        compare(cases, rounds, ours, real, results, 22)
        if not args.skip_memory:
            # Fresh servers: memory freed by the cases above stays in the process (RSS would not grow).
            ours.stop()
            real.stop()
            ours, real = OurServer(work / "ours-mem"), RealServer(work / "real-mem")
            ours.start()
            real.start()
            mine = memory_per_entry(ours, args.memory_entries)
            theirs = memory_per_entry(real, args.memory_entries)
            results["memory"] = {"ours_bytes_per_entry": mine, "redis_bytes_per_entry": theirs,
                                 "ratio": mine / theirs}
            print(f"{'memory bytes/entry':<22} {mine:>10.1f} {theirs:>10.1f} {mine / theirs:>6.2f}")
    finally:
        ours.stop()
        real.stop()
        shutil.rmtree(work, ignore_errors=True)
    save_results("streams", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
