"""Pub/sub fan-out: one publisher, many subscribers, our server against redis-server.

Each round starts 50 subscribers on one channel and a publisher that sends a
fixed number of PUBLISH commands, pipelined in batches. Every subscriber must
receive every message, in order: the bytes a subscriber should see are known
in advance (the payloads are numbered), so each read is compared with the
expected stream, which catches a lost, duplicated or reordered message at once
and costs the reader almost nothing (the servers, not the reader, are measured).

Reported: messages delivered per second (messages x subscribers / time from the
first PUBLISH sent to the last message received), for each server, median of
the rounds (servers alternate so background noise hits both), and the ratio
ours / redis-server. Target: at least 0.5. The readers are Python, so when the
servers outrun them both rates are partly the readers'; the servers' own CPU
time per thousand deliveries (from /proc) is reported too, as a second view.

Usage: ``python benchmarks/pubsub_fanout.py [--messages 20000] [--subscribers 50]
[--rounds 5] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import OurServer, RealServer  # noqa: E402

CHANNEL = b"bench"
BATCH = 100  # PUBLISH commands per pipelined write


def _command(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in args)


def _frame(payload: bytes) -> bytes:
    return b"*3\r\n$7\r\nmessage\r\n$%d\r\n%b\r\n$%d\r\n%b\r\n" % (len(CHANNEL), CHANNEL, len(payload), payload)


def _payload(i: int) -> bytes:
    return b"msg:%010d" % i


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("server closed the connection")
        data += chunk
    return data


CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def one_round(port: int, messages: int, subscribers: int, timeout: float = 120.0) -> dict:
    """Run one fan-out; returns delivered messages/s and whether every stream was intact."""
    subs = []
    confirm = b"*3\r\n$9\r\nsubscribe\r\n$%d\r\n%b\r\n:1\r\n" % (len(CHANNEL), CHANNEL)
    for _ in range(subscribers):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(_command(b"SUBSCRIBE", CHANNEL))
        if _read_exactly(sock, len(confirm)) != confirm:
            raise RuntimeError("unexpected SUBSCRIBE confirmation")
        sock.setblocking(False)
        subs.append(sock)
    expected = b"".join(_frame(_payload(i)) for i in range(messages))
    requests = [
        b"".join(_command(b"PUBLISH", CHANNEL, _payload(i)) for i in range(start, min(start + BATCH, messages)))
        for start in range(0, messages, BATCH)
    ]
    reply = b":%d\r\n" % subscribers
    publisher = socket.create_connection(("127.0.0.1", port))
    errors: list[str] = []

    def publish() -> None:
        try:
            for chunk in requests:
                publisher.sendall(chunk)
            replies = _read_exactly(publisher, len(reply) * messages)
            if replies != reply * messages:
                errors.append("a PUBLISH did not reach every subscriber")
        except OSError as exc:
            errors.append(f"publisher: {exc}")

    selector = selectors.DefaultSelector()
    position = {}
    for sock in subs:
        selector.register(sock, selectors.EVENT_READ)
        position[sock] = 0
    total = len(expected)
    done = 0
    start = time.perf_counter()
    thread = threading.Thread(target=publish)
    thread.start()
    deadline = start + timeout
    while done < len(subs) and time.perf_counter() < deadline and not errors:
        for key, _ in selector.select(timeout=1.0):
            sock = key.fileobj
            chunk = sock.recv(1 << 20)  # type: ignore[attr-defined]
            if not chunk:
                errors.append("a subscriber was disconnected")
                break
            pos = position[sock]
            if expected[pos : pos + len(chunk)] != chunk:
                errors.append("a subscriber saw a lost, duplicated or reordered message")
                break
            position[sock] = pos + len(chunk)
            if pos + len(chunk) == total:
                selector.unregister(sock)
                done += 1
    elapsed = time.perf_counter() - start
    thread.join(timeout=timeout)
    for sock in subs:
        sock.close()
    publisher.close()
    if done < len(subs) and not errors:
        errors.append(f"timed out: {done}/{len(subs)} subscribers complete")
    return {
        "seconds": elapsed,
        "delivered_per_sec": messages * subscribers / elapsed,
        "intact": not errors,
        "errors": errors,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--subscribers", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    args = parser.parse_args(argv)

    results: dict[str, list[dict]] = {"ours": [], "redis": []}
    with tempfile.TemporaryDirectory() as tmp:
        servers = {"ours": OurServer(Path(tmp) / "ours"), "redis": RealServer(Path(tmp) / "redis")}
        for server in servers.values():
            server.start()
        try:
            for _ in range(args.rounds):
                for name, server in servers.items():
                    before = cpu_seconds(server.proc.pid)
                    result = one_round(server.port, args.messages, args.subscribers)
                    used = cpu_seconds(server.proc.pid) - before
                    result["cpu_us_per_1000"] = used * 1e9 / (args.messages * args.subscribers)
                    results[name].append(result)
        finally:
            for server in servers.values():
                server.stop()

    summary = {
        name: statistics.median(r["delivered_per_sec"] for r in rounds) for name, rounds in results.items()
    }
    cpu = {name: statistics.median(r["cpu_us_per_1000"] for r in rounds) for name, rounds in results.items()}
    intact = all(r["intact"] for rounds in results.values() for r in rounds)
    report = {
        "benchmark": "pubsub_fanout",
        "messages": args.messages,
        "subscribers": args.subscribers,
        "rounds": args.rounds,
        "ours_delivered_per_sec": round(summary["ours"]),
        "redis_delivered_per_sec": round(summary["redis"]),
        "ratio": round(summary["ours"] / summary["redis"], 3),
        "ours_cpu_us_per_1000": round(cpu["ours"], 1),
        "redis_cpu_us_per_1000": round(cpu["redis"], 1),
        "cpu_ratio": round(cpu["ours"] / cpu["redis"], 2) if cpu["redis"] else None,
        "intact": intact,
        "errors": sorted({e for rounds in results.values() for r in rounds for e in r["errors"]}),
    }
    if args.json:
        print(json.dumps(report))
    else:
        print(f"pub/sub fan-out: {args.messages} messages x {args.subscribers} subscribers, "
              f"median of {args.rounds} rounds")
        print(f"  ours:         {report['ours_delivered_per_sec']:>12,} messages/s delivered")
        print(f"  redis-server: {report['redis_delivered_per_sec']:>12,} messages/s delivered")
        print(f"  ratio:        {report['ratio']:.3f} (target >= 0.5)")
        print(f"  server CPU per 1000 deliveries: ours {report['ours_cpu_us_per_1000']} us, "
              f"redis-server {report['redis_cpu_us_per_1000']} us (x{report['cpu_ratio']})")
        print(f"  every subscriber got every message in order: {'yes' if intact else 'NO'}")
        for error in report["errors"]:
            print(f"  error: {error}")
    return 0 if intact else 1


if __name__ == "__main__":
    sys.exit(main())
