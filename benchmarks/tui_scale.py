"""The explorer at scale: time to first keys, event-loop stalls and memory with 1,000,000 keys.

    python benchmarks/tui_scale.py               # starts redis-server, seeds 1,000,000 keys
    python benchmarks/tui_scale.py --keys 100000  # a quick run (make bench uses 1,000,000)
    python benchmarks/tui_scale.py --url redis://127.0.0.1:6379/0 --no-seed
    python benchmarks/tui_scale.py --tree-only   # the key tree alone (no server, no UI), in seconds

Runs the real app headless (120×40) in this process and reports:
- time from app start to the first keys drawn (target: < 0.5 s),
- the longest event-loop stall while scanning everything, scrolling, filtering and
  toggling the tree (target: < 100 ms; measured by a 10 ms heartbeat's lateness),
- this process's RSS after the first keys and after loading every key (target: < 200 MB),
- with the biggest namespace (``user:``, a fifth of the keys, half of them one-key sub-namespaces
  ``user:N:avatar``) expanded (issue 17): the
  frame times (p50/p99/max of the loop's lateness, target: max < 100 ms) while expanding
  it, scrolling through it, taking 1,000 live inserts per second into it for 10 s
  (keyspace notifications from another client's SETs), and loading every key again
  with it open; RSS after all that (target: < 300 MB).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import redis
from textual import events

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from redistui.app import RedisTUI  # noqa: E402
from redistui.client import ConnectionSpec  # noqa: E402

PREFIXES = ("user", "session", "order", "cache:page", "feature")


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_redis() -> tuple[subprocess.Popen[bytes], int]:
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not installed (or pass --url)")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="tui-scale-")
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if redis.Redis(port=port).ping():
                return process, port
        except redis.ConnectionError:
            time.sleep(0.05)
    process.kill()
    sys.exit("redis-server did not start")


def key_name(i: int) -> str:
    """Key ``i`` of the seeded data: namespaces mixing leaves and sub-namespaces (``user:15:avatar``)."""
    return f"{PREFIXES[i % len(PREFIXES)]}:{i}" + (":avatar" if i % 10 == 5 else "")


def seed(conn: redis.Redis, count: int, batch: int = 20_000) -> float:
    """``count`` string keys spread over a few namespaces, pipelined; returns seconds taken."""
    start = time.perf_counter()
    conn.flushdb()
    for base in range(0, count, batch):
        pipe = conn.pipeline(transaction=False)
        for i in range(base, min(count, base + batch)):
            pipe.set(key_name(i), i)
        pipe.execute()
    return time.perf_counter() - start


class StallMeter:
    """A 10 ms heartbeat on the app's loop; records every beat's lateness (a frame's cost) and the worst.

    Lateness is wall time, so on a loaded machine it includes the time the process waited for a core;
    the main thread's CPU time per beat (``cpu_percentiles``) is the work itself, whatever the load.
    """

    def __init__(self) -> None:
        self.worst = 0.0
        self.samples: list[float] = []
        self.cpu: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _beat(self) -> None:
        while True:
            before, cpu_before = time.perf_counter(), time.thread_time()
            await asyncio.sleep(0.01)
            late = time.perf_counter() - before - 0.01
            self.samples.append(late)
            self.cpu.append(time.thread_time() - cpu_before)
            self.worst = max(self.worst, late)

    @staticmethod
    def _pick(samples: list[float]) -> tuple[float, float, float]:
        ordered = sorted(samples) or [0.0]
        pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
        return pick(0.5), pick(0.99), ordered[-1] * 1000

    def percentiles(self) -> tuple[float, float, float]:
        """p50, p99 and max lateness in ms since the last reset."""
        return self._pick(self.samples)

    def cpu_percentiles(self) -> tuple[float, float, float]:
        """p50, p99 and max of the main thread's CPU time per beat, in ms, since the last reset."""
        return self._pick(self.cpu)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._beat())

    def reset(self) -> None:
        self.worst = 0.0
        self.samples = []
        self.cpu = []

    def stop(self) -> None:
        if self._task:
            self._task.cancel()


def step(name: str) -> None:
    """Say which step runs (a long one is then visibly slow, not silently stuck)."""
    print(f"  … {name}", file=sys.stderr, flush=True)


async def tap(app: RedisTUI, *keys: str, gap: float = 0.02) -> None:
    """Press keys as a user would, ``gap`` seconds apart. (Pilot's ``press`` waits after each key until
    the process looks idle, up to 2 s: with keys arriving live it never does, and 10 s of inserts would
    last minutes.)"""
    for key in keys:
        app.post_message(events.Key(key, None))
        await asyncio.sleep(gap)


async def wait_until(pilot, condition, timeout: float) -> None:  # noqa: ANN001
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError(condition)
        await pilot.pause(0.005)


async def measure(port: int, db: int, total: int) -> dict[str, float]:
    results: dict[str, float] = {}
    rss_before = rss_mb()
    started = time.perf_counter()
    app = RedisTUI(ConnectionSpec(port=port, db=db))
    async with app.run_test(size=(120, 40)) as pilot:
        browser = app.browser
        await wait_until(pilot, lambda: browser.index.row_count > 0, 10)
        await pilot.pause(0)  # one frame: the rows are drawn
        results["first_keys_s"] = time.perf_counter() - started
        results["rss_first_keys_mb"] = rss_mb()
        results["rss_app_baseline_mb"] = rss_before

        meter = StallMeter()
        meter.start()
        scan_start = time.perf_counter()
        step("scan all")
        browser.load_all()
        await wait_until(pilot, lambda: browser.scan_done, 600)
        results["scan_all_s"] = time.perf_counter() - scan_start
        results["keys_loaded"] = len(browser.index)
        results["stall_scan_ms"] = meter.worst * 1000
        results["rss_all_keys_mb"] = rss_mb()

        step("scroll flat")
        meter.reset()
        browser.set_view(False)  # flat list of every key
        browser.key_list.focus()
        for _ in range(30):
            await pilot.press("pagedown")
        await pilot.press("end")
        for _ in range(10):
            await pilot.press("pageup")
        await pilot.pause(0.2)
        results["stall_scroll_ms"] = meter.worst * 1000

        step("tree")
        meter.reset()
        browser.set_view(True)
        browser.key_list.move_to(0)
        await pilot.press("right")  # open the first namespace (~total/5 keys)
        await pilot.pause(0.2)
        for _ in range(10):
            await pilot.press("pagedown")
        results["stall_tree_ms"] = meter.worst * 1000

        step("filter")
        meter.reset()
        filter_start = time.perf_counter()
        browser.set_pattern("user:1*")
        await wait_until(pilot, lambda: browser.scan_done or not browser._scanning, 600)
        results["filter_s"] = time.perf_counter() - filter_start
        results["stall_filter_ms"] = meter.worst * 1000

        # -- issue 17: the biggest namespace expanded, at full size -----------------------------
        step("load all for user:")
        browser.set_pattern("")
        browser.load_all()
        await wait_until(pilot, lambda: browser.scan_done and len(browser.index) >= total, 600)
        index, key_list = browser.index, browser.key_list
        index.expanded.clear()
        index.set_mode(True)
        key_list.rows_changed()
        await pilot.pause(0.2)
        meter.reset()
        row = index.row_of(b"user:")
        assert row is not None
        key_list.move_to(row)
        await pilot.press("right")
        await pilot.pause(0.3)
        results["expand"] = meter.percentiles()
        results["expand_cpu"] = meter.cpu_percentiles()

        step("expanded scroll")
        meter.reset()
        for _ in range(40):
            await tap(app, "pagedown")
        end_start = time.perf_counter()
        await tap(app, "end")  # laid out over several frames: wait until the cursor lands on the last row
        await wait_until(pilot, lambda: key_list.cursor == index.row_count - 1 and not key_list.travelling, 120)
        results["end_s"] = time.perf_counter() - end_start
        for _ in range(10):
            await tap(app, "home", "end")
        await asyncio.sleep(0.2)
        results["expanded_scroll"] = meter.percentiles()
        results["expanded_scroll_cpu"] = meter.cpu_percentiles()

        step("live inserts")
        if not browser.live:
            await app.browser.check_live(enable=True)
        key_list.move_to(row + 1000)
        await pilot.pause(0.2)
        meter.reset()
        stop = threading.Event()
        writer = threading.Thread(target=insert_keys, args=(port, db, stop), daemon=True)
        writer.start()
        live_start = time.perf_counter()
        while time.perf_counter() - live_start < 10:  # 10 s, pressing a key now and then as a user would
            await asyncio.sleep(0.1)
            await tap(app, "down")
        stop.set()
        writer.join()
        await asyncio.sleep(0.5)
        results["live_inserts"] = meter.percentiles()
        results["live_inserts_cpu"] = meter.cpu_percentiles()
        results["live_inserted"] = index.count_prefix(b"user:live")

        step("load all, user: open")
        meter.reset()
        reload_start = time.perf_counter()
        browser.start()  # rescan from nothing with user: still open
        browser.load_all()
        await wait_until(pilot, lambda: browser.scan_done, 600)
        results["expanded_load_all_s"] = time.perf_counter() - reload_start
        results["expanded_load_all"] = meter.percentiles()
        results["expanded_load_all_cpu"] = meter.cpu_percentiles()
        results["rss_expanded_mb"] = rss_mb()
        meter.stop()
    return results


def process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] == "Z"


def measure_quit(port: int, db: int, total: int) -> tuple[float, float] | None:
    """A real ``redistui launch`` in a terminal (tmux) with every key loaded: seconds from the quit key
    (ctrl+q) to the end of its process, and its RSS before quitting (None without tmux)."""
    if shutil.which("tmux") is None:
        return None
    from tests.tui.tmux_term import Terminal

    command = f"cd {ROOT} && exec {sys.executable} -m redistui launch -u redis://127.0.0.1:{port}/{db}"
    with Terminal(command, env={"PYTHONPATH": str(ROOT), "TERM": "xterm-256color"}) as term:
        term.wait_for("Keys", timeout=60)
        pid = term.pane_pid()
        term.keys("C-l")  # load every key
        term.wait_for(lambda screen: f"scanned {total:,} of" in screen and "· complete" in screen, timeout=900)
        rss = float("nan")
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
        started = time.perf_counter()
        term.keys("C-q")
        while not process_gone(pid):
            if time.perf_counter() - started > 120:
                raise TimeoutError("the explorer did not end within 120 s of ctrl+q")
            time.sleep(0.01)
        return time.perf_counter() - started, rss


def insert_keys(port: int, db: int, stop: threading.Event, rate: int = 1000) -> None:
    """New ``user:live:N`` keys from another client, ``rate`` per second in 10 ms batches, until ``stop``."""
    conn = redis.Redis(port=port, db=db)
    n = 0
    started = time.perf_counter()
    while not stop.is_set():
        due = int((time.perf_counter() - started) * rate)
        if due > n:
            pipe = conn.pipeline(transaction=False)
            for i in range(n, due):
                pipe.set(f"user:live{i}", i)
            pipe.execute()
            n = due
        time.sleep(0.01)
    conn.close()


def tree_only(total: int) -> None:
    """The key tree's own costs at ``total`` keys with ``user:`` (a fifth of them) expanded.

    Two shapes: ``user:`` holding only leaves, and ``user:`` mixing leaves and 100,000
    sub-namespaces (``user:N:avatar``). Reports the expand, one frame's rows while
    scrolling, and a batch of 10 live inserts followed by a frame (1,000 inserts/s at
    10 frames/s), p50 and max over 100 batches.
    """
    from redistui.key_index import KeyIndex

    def frame(index: KeyIndex, top: int, height: int = 38) -> None:
        for i in range(top, min(index.row_count, top + height)):
            index.row(i)

    print(f"key tree at {total:,} keys, user: expanded")
    for mixed in (False, True):
        index = KeyIndex()
        index.add(key_name(i).encode() if mixed else f"{PREFIXES[i % 5]}:{i}".encode() for i in range(total))
        frame(index, 0)
        started = time.perf_counter()
        index.toggle(b"user:")
        frame(index, 0)
        expand = time.perf_counter() - started
        started = time.perf_counter()
        for top in range(0, total // 5, total // 200):
            frame(index, top)
        scroll = (time.perf_counter() - started) / 40
        cursor = index.row(1000).key
        costs = []
        for batch in range(100):
            started = time.perf_counter()
            index.add(f"user:live{batch}_{j}".encode() for j in range(10))
            index.row_of(cursor)
            frame(index, 1000)
            costs.append(time.perf_counter() - started)
        costs.sort()
        shape = "leaves and sub-namespaces" if mixed else "leaves only"
        print(
            f"  user: with {shape:<26} expand {expand * 1000:7.1f} ms · frame {scroll * 1000:5.2f} ms · "
            f"insert batch + frame p50 {costs[50] * 1000:6.2f} ms, max {costs[-1] * 1000:6.2f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--tree-only", action="store_true", help="measure the key tree alone")
    parser.add_argument("--url", help="use this server instead of starting redis-server")
    parser.add_argument("--no-seed", action="store_true", help="explore the data already there")
    args = parser.parse_args()
    if args.tree_only:
        tree_only(args.keys)
        return

    process = None
    if args.url:
        spec = ConnectionSpec.from_url(args.url)
        port, db = spec.port, spec.db
    else:
        process, port = start_redis()
        db = 0
    try:
        conn = redis.Redis(port=port, db=db)
        if not args.no_seed:
            print(f"seeding {args.keys:,} keys …", flush=True)
            print(f"  seeded in {seed(conn, args.keys):.1f}s", flush=True)
        total = conn.dbsize()
        results = asyncio.run(measure(port, db, total))
        report(total, results)
        step("quit")
        quit_result = measure_quit(port, db, conn.dbsize())  # the live inserts added keys
        if quit_result is None:
            print("  quit                 (not measured: tmux is not installed)")
        else:
            print(
                f"  quit, every key loaded {quit_result[0]:6.2f} s    (ctrl+q to the end of a real "
                f"'redistui launch' process, RSS {quit_result[1]:.0f} MB)"
            )
        print(f"  load average         {' / '.join(f'{n:.1f}' for n in os.getloadavg())}  (1/5/15 min, at the end)")
    finally:
        if process is not None:
            process.terminate()
            process.wait()


def report(total: int, results: dict[str, Any]) -> None:
    """The in-process figures (printed before the quit is measured, so a failure there keeps them)."""
    print(f"\nexplorer against {total:,} keys")
    print(f"  first keys drawn     {results['first_keys_s'] * 1000:8.0f} ms   (target < 500 ms)")
    print(
        f"  scan of every key    {results['scan_all_s']:8.1f} s    ({int(results['keys_loaded']):,} keys loaded)"
    )
    print(f"  filter user:1*       {results['filter_s']:8.1f} s")
    print("  worst loop stall while")
    for name in ("scan", "scroll", "tree", "filter"):
        print(f"    {name:<18} {results[f'stall_{name}_ms']:8.0f} ms   (target < 100 ms)")
    print(f"  RSS before the app   {results['rss_app_baseline_mb']:8.0f} MB")
    print(f"  RSS at first keys    {results['rss_first_keys_mb']:8.0f} MB")
    print(f"  RSS, all keys loaded {results['rss_all_keys_mb']:8.0f} MB   (target < 200 MB)")
    print("  with user: expanded — frame lateness p50 / p99 / max (target: max < 100 ms) · main-thread CPU per frame")
    for name, label in (
        ("expand", "expand user:"),
        ("expanded_scroll", "scroll"),
        ("live_inserts", "1,000 inserts/s, 10 s"),
        ("expanded_load_all", "load all again"),
    ):
        p50, p99, worst = results[name]
        cpu50, cpu99, cpu_max = results[f"{name}_cpu"]
        print(
            f"    {label:<22} {p50:6.1f} / {p99:6.1f} / {worst:6.1f} ms · CPU {cpu50:5.1f} / {cpu99:5.1f} / {cpu_max:5.1f} ms"
        )
    print(f"    End lands after      {results['end_s']:8.2f} s    (laid out over frames)")
    print(f"    live keys shown      {int(results['live_inserted']):8,}")
    print(f"    load all (open)      {results['expanded_load_all_s']:8.1f} s")
    print(f"  RSS after all that   {results['rss_expanded_mb']:8.0f} MB   (target < 300 MB)")
    print(f"  load average         {' / '.join(f'{n:.1f}' for n in os.getloadavg())}  (1/5/15 min)", flush=True)


if __name__ == "__main__":
    main()
