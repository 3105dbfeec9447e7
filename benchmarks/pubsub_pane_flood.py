"""How the pub/sub pane copes with a flood of 10,000 messages a second.

A headless Textual app hosts `PubSubPane`; a publisher thread sends `--rate` messages a
second for `--seconds` seconds (paced in 10 ms slices, pipelined) to a channel the pane
subscribes to. Measured:

* delivery: messages received and the delay until the last one arrived;
* responsiveness: the event loop's worst stall, from a 10 ms heartbeat timer (a stall
  longer than 100 ms would be a visibly frozen UI);
* renders: how many times the message view was redrawn (batched, not per message);
* memory: RSS of this process before and after (the buffer is capped).

Usage: ``python benchmarks/pubsub_pane_flood.py [--rate 10000] [--seconds 5] [--server redis|bundled]``;
the result is printed and saved to ``benchmarks/results/pubsub-pane-flood-<server>-<time>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
from textual.app import App, ComposeResult  # noqa: E402

from redistui.client import ConnectionSpec  # noqa: E402
from redistui.widgets.pubsub_pane import PubSubPane  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def start_server(kind: str, port: int, workdir: str) -> subprocess.Popen[bytes]:
    if kind == "redis":
        binary = shutil.which("redis-server")
        if binary is None:
            sys.exit("redis-server is not installed")
        argv = [binary, "--port", str(port), "--save", "", "--bind", "127.0.0.1", "--dir", workdir]
    else:
        argv = [sys.executable, "-m", "server", "--port", str(port), "--save", "", "--dir", workdir]
    process = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            if redis.Redis(port=port, socket_timeout=0.5).ping():
                return process
        except redis.RedisError:
            time.sleep(0.05)
    process.kill()
    sys.exit(f"the {kind} server did not start")


def publish(port: int, rate: int, seconds: float, sent: list[int]) -> None:
    """Publish `rate` messages a second, in 10 ms slices."""
    client = redis.Redis(port=port)
    per_slice = max(1, rate // 100)
    start = time.monotonic()
    count = 0
    for tick in range(int(seconds * 100)):
        pipe = client.pipeline(transaction=False)
        for _ in range(per_slice):
            pipe.publish("flood", f'{{"n": {count}, "payload": "{"x" * 40}"}}')
            count += 1
        pipe.execute()
        delay = start + (tick + 1) / 100 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    sent.append(count)
    client.close()


class FloodApp(App[None]):
    def __init__(self, port: int) -> None:
        super().__init__()
        self.port = port
        self.renders = 0
        self.worst_stall = 0.0
        self._last_beat = 0.0

    def compose(self) -> ComposeResult:
        yield PubSubPane(ConnectionSpec(port=self.port), capacity=5000)

    def on_mount(self) -> None:
        view = self.query_one(PubSubPane).view
        original = view.show

        def counting(rows):  # type: ignore[no-untyped-def]
            self.renders += 1
            original(rows)

        view.show = counting  # type: ignore[method-assign]
        self._last_beat = time.monotonic()
        self.set_interval(0.01, self._beat)

    def _beat(self) -> None:
        now = time.monotonic()
        self.worst_stall = max(self.worst_stall, now - self._last_beat - 0.01)
        self._last_beat = now


async def measure(port: int, rate: int, seconds: float) -> dict[str, float]:
    app = FloodApp(port)
    rss_before = rss_mb()
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(PubSubPane)
        await pane.subscribe(channels=["flood"])
        await pilot.pause(0.3)
        app.worst_stall = 0.0
        sent: list[int] = []
        thread = threading.Thread(target=publish, args=(port, rate, seconds, sent))
        started = time.monotonic()
        thread.start()
        while thread.is_alive() or (sent and pane.total < sent[0]):
            await pilot.pause(0.05)
            if time.monotonic() - started > seconds * 4 + 10:
                break
        elapsed = time.monotonic() - started
        thread.join()
        if not sent:
            raise SystemExit("the publisher failed (see the error above)")
        return {
            "rate_target": rate,
            "seconds": seconds,
            "sent": sent[0] if sent else 0,
            "received": pane.total,
            "last_message_after_s": round(elapsed, 3),
            "lag_after_publisher_s": round(elapsed - seconds, 3),
            "renders": app.renders,
            "renders_per_s": round(app.renders / elapsed, 1),
            "worst_loop_stall_ms": round(app.worst_stall * 1000, 1),
            "buffer": len(pane.buffer),
            "dropped_from_view": pane.dropped,
            "rss_growth_mb": round(rss_mb() - rss_before, 1),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--server", choices=["redis", "bundled"], default="redis")
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as workdir:
        server = start_server(args.server, port, workdir)
        try:
            result = asyncio.run(measure(port, args.rate, args.seconds))
        finally:
            server.terminate()
            server.wait(10)
    result["server"] = args.server
    text = json.dumps(result, indent=2)
    print(text)
    out = ROOT / "benchmarks" / "results" / f"pubsub-pane-flood-{args.server}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(text + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
