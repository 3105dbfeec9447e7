"""Screenshots of the command line, the pub/sub pane and the dashboard.

``python -m tests.tui.screenshots_cmdline`` writes ``screenshots/09-…`` to ``12-…`` from the
same seeded dataset as ``tests/tui/screenshots.py`` (whose helpers it reuses), driving the
explorer headless at 120×40. ``steps()`` lists the shots so ``screenshots.py`` can run them.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Awaitable, Callable

import redis
from textual.pilot import Pilot

from redistui.app import RedisTUI
from redistui.widgets.command_line import CommandLine
from redistui.widgets.dashboard import Dashboard, DashboardScreen
from redistui.widgets.pubsub_pane import PubSubPane
from tests.tui.screenshots import run, shoot, wait


async def widgets(app: RedisTUI) -> tuple[CommandLine, PubSubPane]:
    """The app's command line and pub/sub pane (mounted here if the app has none yet)."""
    if not app.query(CommandLine):
        await app.query_one("#command-area").mount(
            PubSubPane(app.spec, id="pubsub", classes="-hidden"), CommandLine(app.spec, id="command-line")
        )
    return app.query_one(CommandLine), app.query_one(PubSubPane)


async def run_line(pilot: Pilot, line: CommandLine, text: str) -> None:
    line.input.value = text
    line.input.cursor_position = len(text)
    await pilot.press("enter")
    await wait(pilot, lambda: not line.input.value)
    await pilot.pause(0.3)


async def command_line_completion(pilot: Pilot, app: RedisTUI) -> None:
    line, _ = await widgets(app)
    line.input.focus()
    await run_line(pilot, line, "HGETALL user:3")
    await run_line(pilot, line, "ZRANGE leaderboard 0 2 WITHSCORES")
    await pilot.press(*"zadd leaderboard ")
    await wait(pilot, lambda: line.dropdown_open)
    await pilot.pause(0.3)
    await shoot(app, "09-command-line-completion")
    await pilot.press("ctrl+u")
    await pilot.press(*"hget user:3 ")
    await wait(pilot, lambda: line.dropdown_open and any(s.text == "email" for s in line.suggestions))
    await pilot.pause(0.3)
    await shoot(app, "10-command-line-fields")


def publish_some(port: int) -> None:
    client = redis.Redis(port=port)
    for i in range(18):
        if i % 3 == 0:
            client.publish("news.sport", f"match {i // 3}: 2-{i % 4}")
        elif i % 3 == 1:
            client.publish(f"orders.{1000 + i}", json.dumps({"order": 1000 + i, "total": round(9.5 * i, 2)}))
        else:
            client.publish("chat", f"user{i % 5}: hello #{i}")
        time.sleep(0.02)
    client.close()


async def pubsub_pane(pilot: Pilot, app: RedisTUI) -> None:
    _, pane = await widgets(app)
    pane.remove_class("-hidden")
    await pane.subscribe(channels=["chat"], patterns=["news.*", "orders.*"])
    await wait(pilot, lambda: {b"chat", b"news.*", b"orders.*"} <= pane.confirmed)
    thread = threading.Thread(target=publish_some, args=(app.spec.port,))
    thread.start()
    await wait(pilot, lambda: len(pane.buffer) >= 18)
    thread.join()
    await pilot.pause(1.2)
    await shoot(app, "11-pubsub-pane")


def load(port: int, stop: threading.Event) -> None:
    client = redis.Redis(port=port)
    i = 0
    while not stop.is_set():
        client.set(f"bench:{i % 200}", "x" * (i % 50))
        client.get(f"bench:{(i * 7) % 200}")
        i += 1
        if i % 200 == 0:
            time.sleep(0.05)
    client.close()


async def dashboard(pilot: Pilot, app: RedisTUI) -> None:
    stop = threading.Event()
    thread = threading.Thread(target=load, args=(app.spec.port, stop))
    thread.start()
    try:
        app.push_screen(DashboardScreen(app.spec))
        await wait(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.query(Dashboard))
        board = app.screen.query_one(Dashboard)
        await wait(pilot, lambda: len(board.ops) >= 8, timeout=20)
        await shoot(app, "12-dashboard")
    finally:
        stop.set()
        thread.join()


def steps() -> list[Callable[[Pilot, RedisTUI], Awaitable[None]]]:
    return [command_line_completion, pubsub_pane, dashboard]


def main() -> None:
    run(steps())


if __name__ == "__main__":
    main()
