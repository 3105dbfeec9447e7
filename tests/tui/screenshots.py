"""Regenerate the explorer's screenshots: ``python -m tests.tui.screenshots`` (``make screenshots``).

Starts a server on a free port (the bundled one when it has every command the
explorer uses, else Debian's redis-server), seeds a small, deterministic dataset
with keys of every type, drives the app headless at 120×40 and writes SVGs into
``screenshots/``.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import redis
from textual.pilot import Pilot

from redistui.app import RedisTUI
from redistui.client import ConnectionSpec
from redistui.screens.dialogs import FormDialog
from redistui.screens.hex_editor import HexEditor
from redistui.widgets.string_viewer import StringViewer
from tests.servers import ROOT, ServerProcess, bundled_available, server_process

OUT = ROOT / "screenshots"
SIZE = (120, 40)
NEEDED = [
    "SCAN",
    "TYPE",
    "PTTL",
    "OBJECT",
    "PSUBSCRIBE",
    "HSCAN",
    "SSCAN",
    "ZRANGE",
    "LRANGE",
    "XRANGE",
    "GETRANGE",
]


def pick_server() -> ServerProcess:
    if bundled_available():
        server = server_process("bundled")
        server.start()
        missing = server.missing_commands(NEEDED)
        if not missing:
            return server
        print(f"the bundled server lacks {' '.join(missing)}: using redis-server", file=sys.stderr)
        server.stop()
    if shutil.which("redis-server") is None:
        sys.exit("no server to take screenshots against (install redis-server)")
    server = server_process("redis-server")
    server.start()
    return server


def seed(conn: redis.Redis) -> None:
    conn.flushall()
    pipe = conn.pipeline(transaction=False)
    names = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]
    for i, name in enumerate(names, 1):
        pipe.hset(f"user:{i}", mapping={"name": name, "email": f"{name}@example.com", "visits": str(i * 7)})
        pipe.set(
            f"user:{i}:avatar",
            bytes([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) + bytes(range(i, i + 40)),
        )
    for i in range(1, 6):
        pipe.set(f"session:{i:04x}", f"user:{i}", ex=45 * i)
    for i in range(20):
        pipe.set(f"cache:page:/docs/{i}", f"<html>page {i}</html>", ex=3600 + i * 60)
    pipe.set(
        "config:app",
        json.dumps(
            {
                "name": "redistui demo",
                "features": {"tree": True, "live": True, "ttl_panel": True},
                "limits": {"scan_count": 1000, "preview_bytes": 32768},
                "servers": [{"host": "127.0.0.1", "port": 6379, "role": "primary"}],
            }
        ),
    )
    pipe.hset("stats:big", mapping={f"metric:{i:05d}": str(i * 13 % 997) for i in range(5000)})
    pipe.rpush("queue:jobs", *[json.dumps({"job": i, "kind": "resize"}) for i in range(300)])
    pipe.sadd("tags", "redis", "python", "textual", "tui", "explorer")
    pipe.zadd(
        "leaderboard",
        {
            name: score
            for name, score in zip(names, [9120, 8710, 7300, 6605, 5120, 4410, 3999, 1200], strict=True)
        },
    )
    for i in range(12):
        pipe.xadd(
            "events",
            {"type": "login" if i % 3 else "logout", "user": str(i % 8 + 1)},
            id=f"1700000000000-{i}",
        )
    # A hostile key and value: shown escaped, never sent to the terminal (issue 12, item 17)
    pipe.set(b"esc:\x1b]0;TITLE\x07k", b"\x00\x01\x02val \x1b[2J\x1b[H cleared? \xc2\x9b no\n")
    pipe.execute()
    conn.config_set("notify-keyspace-events", "KA")


async def wait(pilot: Pilot, condition: Callable[[], object], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise TimeoutError(f"screenshot setup timed out on {condition}")
        await pilot.pause(0.05)


async def open_key(pilot: Pilot, app: RedisTUI, key: bytes) -> None:
    await wait(pilot, lambda: key in app.browser.index)
    app.browser.select_key(key)
    await wait(
        pilot, lambda: app.value_view.key == key and getattr(app.value_view.viewer, "key", None) == key
    )
    await pilot.pause(0.4)


async def shoot(app: RedisTUI, name: str) -> None:
    path = app.save_screenshot(f"{name}.svg", path=str(OUT))
    print(f"wrote {Path(path).relative_to(ROOT)}")


async def take(port: int, steps: Callable[[Pilot, RedisTUI], Awaitable[None]]) -> None:
    app = RedisTUI(ConnectionSpec(port=port), embedded=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait(pilot, lambda: app.browser.scan_done and app.browser.live)
        await pilot.pause(0.3)
        await steps(pilot, app)


async def browser_and_hash(pilot: Pilot, app: RedisTUI) -> None:
    app.browser.index.toggle(b"user:")
    app.browser.key_list.rows_changed()
    await open_key(pilot, app, b"user:3")
    app.browser.key_list.focus()
    await shoot(app, "01-key-browser-hash")


async def json_string(pilot: Pilot, app: RedisTUI) -> None:
    await open_key(pilot, app, b"config:app")
    await shoot(app, "02-json-string")


async def big_hash(pilot: Pilot, app: RedisTUI) -> None:
    await open_key(pilot, app, b"stats:big")
    await shoot(app, "03-big-hash")


async def ttl_panel(pilot: Pilot, app: RedisTUI) -> None:
    for key in (b"session:0005", b"session:0002", b"cache:page:/docs/7"):
        await open_key(pilot, app, key)
        app.ttl_panel.toggle_pin(key)
    await open_key(pilot, app, b"session:0001")
    await wait(pilot, lambda: all(meta is not None for meta in app.ttl_panel.pinned.values()))
    await pilot.pause(0.5)
    await shoot(app, "04-ttl-panel")


async def flat_filtered_zset(pilot: Pilot, app: RedisTUI) -> None:
    app.browser.set_view(False)
    app.browser.set_pattern("[lq]*")
    await wait(pilot, lambda: app.browser.scan_done and len(app.browser.index) == 2)
    await open_key(pilot, app, b"leaderboard")
    await shoot(app, "05-flat-filter-zset")


async def binary_and_stream_light(pilot: Pilot, app: RedisTUI) -> None:
    app.theme = "textual-light"
    await open_key(pilot, app, b"events")
    await shoot(app, "06-stream-light-theme")
    app.browser.index.toggle(b"user:")
    app.browser.key_list.rows_changed()
    await open_key(pilot, app, b"user:2:avatar")
    await shoot(app, "07-binary-hex-light-theme")


async def hex_editor(pilot: Pilot, app: RedisTUI) -> None:
    app.browser.index.toggle(b"user:")
    app.browser.key_list.rows_changed()
    await open_key(pilot, app, b"user:2:avatar")
    viewer = app.value_view.viewer
    await wait(pilot, lambda: isinstance(viewer, StringViewer) and viewer.complete)
    await pilot.press("e")  # a binary value: the hex editor
    await wait(pilot, lambda: isinstance(app.screen, HexEditor))
    await pilot.pause(0.3)
    await shoot(app, "20-hex-editor")


async def new_key_dialog(pilot: Pilot, app: RedisTUI) -> None:
    await open_key(pilot, app, b"queue:jobs")
    await pilot.press("n")
    await wait(pilot, lambda: isinstance(app.screen, FormDialog))
    await pilot.pause(0.3)
    await shoot(app, "08-new-key-dialog")


async def control_bytes(pilot: Pilot, app: RedisTUI) -> None:
    key = b"esc:\x1b]0;TITLE\x07k"
    await open_key(pilot, app, key)
    viewer = app.value_view.viewer
    assert isinstance(viewer, StringViewer)
    viewer.format = "text"
    await pilot.pause(0.3)
    await shoot(app, "13-control-bytes-escaped")


def all_steps() -> list[Callable[[Pilot, RedisTUI], Awaitable[None]]]:
    """The explorer's shots, then those of the command line, pub/sub pane and dashboard (issue 8), then the
    scripting screen's (issue 14)."""
    from tests.tui import screenshots_cmdline  # imported late: it reuses this module's helpers

    mine = [browser_and_hash, json_string, big_hash, ttl_panel, flat_filtered_zset, binary_and_stream_light,
            hex_editor, new_key_dialog, control_bytes]  # fmt: skip
    from tests.tui import screenshots_scripting

    return mine + screenshots_cmdline.steps() + screenshots_scripting.steps()


def run(
    shots: list[Callable[[Pilot, RedisTUI], Awaitable[None]]],
    after: Callable[[ServerProcess], None] | None = None,
) -> None:
    """Seed a fresh server and take ``shots``, each in a new app; then ``after(server)``."""
    OUT.mkdir(exist_ok=True)
    server = pick_server()
    try:
        with server.connect() as conn:
            seed(conn)
        for steps in shots:
            asyncio.run(take(server.port, steps))
        if after is not None:
            after(server)
    finally:
        server.stop()


async def cluster_browser(pilot: Pilot, app: RedisTUI) -> None:
    app.browser.index.toggle(b"user:")
    app.browser.key_list.rows_changed()
    await open_key(pilot, app, b"user:3")
    app.browser.key_list.focus()
    await pilot.pause(1.2)  # an INFO poll of every master fills the header and the per-node counts
    await shoot(app, "19-cluster-browser")


def run_cluster() -> None:
    """The explorer on a three-master redis-server cluster, seeded with the same data."""
    from tests.redis_cluster import RedisClusterProcesses

    if shutil.which("redis-server") is None:
        sys.exit("no redis-server to build a cluster from")
    cluster = RedisClusterProcesses()
    cluster.start()
    try:
        with cluster.client() as conn:
            seed_cluster(conn)
        asyncio.run(take(cluster.port, cluster_browser))
    finally:
        cluster.stop()


def seed_cluster(conn: redis.RedisCluster) -> None:
    """`seed`'s data on a cluster: the same keys, spread over the masters by slot."""
    conn.flushall()
    conn.config_set("notify-keyspace-events", "KA", target_nodes=redis.RedisCluster.PRIMARIES)
    names = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]
    for i, name in enumerate(names, 1):
        conn.hset(f"user:{i}", mapping={"name": name, "email": f"{name}@example.com", "visits": str(i * 7)})
    for i in range(1, 6):
        conn.set(f"session:{i:04x}", f"user:{i}", ex=45 * i)
    for i in range(20):
        conn.set(f"cache:page:/docs/{i}", f"<html>page {i}</html>", ex=3600 + i * 60)
    conn.rpush("queue:jobs", *[json.dumps({"job": i, "kind": "resize"}) for i in range(300)])
    conn.sadd("tags", "redis", "python", "textual", "tui", "explorer")


def main() -> None:
    """Every shot; ``cluster`` as the only argument takes the cluster shot alone."""
    if sys.argv[1:] != ["cluster"]:
        from tests.tui import (
            screenshots_dumpfile,  # the seeded data saved and opened as a dump file (issue 20)
        )

        run(all_steps(), after=screenshots_dumpfile.shoot)
    run_cluster()


if __name__ == "__main__":
    main()
