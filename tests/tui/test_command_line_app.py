"""The command line, pub/sub pane and dashboard inside the explorer app (Pilot, both servers)."""

from __future__ import annotations

import time

from conftest_cmdline import *  # noqa: F403
from conftest_cmdline import ServerHandle, needs
from textual.pilot import Pilot

from redistui.app import RedisTUI
from redistui.client import ConnectionSpec
from redistui.widgets.command_line import CommandLine
from redistui.widgets.dashboard import Dashboard, DashboardScreen
from redistui.widgets.pubsub_pane import PubSubPane

pytestmark = needs("COMMAND", "INFO", "SCAN", "TYPE", "PTTL", "CONFIG", "PSUBSCRIBE", "SUBSCRIBE", "PUBLISH")


async def wait_for(pilot: Pilot, condition, timeout: float = 8.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {condition}"
        await pilot.pause(0.05)


async def run_line(pilot: Pilot, line: CommandLine, text: str) -> None:
    line.input.value = text
    line.input.cursor_position = len(text)
    await pilot.press("enter")
    await wait_for(pilot, lambda: not line.input.value)


async def test_command_line_in_the_explorer(cmdline_server: ServerHandle, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("REDISTUI_HISTORY", str(tmp_path / "history"))
    admin = cmdline_server.client()
    admin.flushall()
    admin.set("seen", "1")
    app = RedisTUI(ConnectionSpec(port=cmdline_server.port))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: b"seen" in app.browser.index)
        line = app.query_one(CommandLine)
        await pilot.press("colon")
        assert app.focused is line.input
        await pilot.press(*"HGE")
        await wait_for(pilot, lambda: line.dropdown_open)
        assert line.suggestions[0].text == "HGET"
        await pilot.press("ctrl+u")
        await run_line(pilot, line, "SET made:by:cmdline 1")
        # the key list catches up (keyspace notifications, or a rescan after a write)
        await wait_for(pilot, lambda: b"made:by:cmdline" in app.browser.index)
        assert admin.get("made:by:cmdline") == b"1"
        assert '"1"' not in str(line.output.lines)  # SET answers OK
    admin.close()


async def test_subscribe_typed_on_the_command_line_opens_the_pane(
    cmdline_server: ServerHandle, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("REDISTUI_HISTORY", str(tmp_path / "history"))
    app = RedisTUI(ConnectionSpec(port=cmdline_server.port))
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(PubSubPane)
        assert not pane.display or pane.has_class("-hidden")
        line = app.query_one(CommandLine)
        await pilot.press("colon")
        await run_line(pilot, line, "SUBSCRIBE app-news")
        await wait_for(pilot, lambda: b"app-news" in pane.confirmed)
        assert not pane.has_class("-hidden")
        publisher = cmdline_server.client()
        publisher.publish("app-news", "from outside")
        await wait_for(pilot, lambda: [m.data for m in pane.view.rows] == [b"from outside"])
        publisher.close()
        await pilot.press("f3")
        assert pane.has_class("-hidden")


async def test_dashboard_key_and_monitor_command(cmdline_server: ServerHandle, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("REDISTUI_HISTORY", str(tmp_path / "history"))
    app = RedisTUI(ConnectionSpec(port=cmdline_server.port))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.query(Dashboard))
        board = app.screen.query_one(Dashboard)
        await wait_for(pilot, lambda: len(board.ops) >= 1)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, DashboardScreen))
        line = app.query_one(CommandLine)
        await pilot.press("colon")
        await run_line(pilot, line, "MONITOR")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.query(Dashboard))
        board = app.screen.query_one(Dashboard)
        await wait_for(pilot, lambda: board._monitor_client is not None)


async def test_command_line_follows_the_db_selector(
    cmdline_server: ServerHandle, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("REDISTUI_HISTORY", str(tmp_path / "history"))
    cmdline_server.client(db=5).set("in-five", "5")
    app = RedisTUI(ConnectionSpec(port=cmdline_server.port))
    async with app.run_test(size=(120, 40)) as pilot:
        line = app.query_one(CommandLine)
        app.switch_db(5)
        await wait_for(pilot, lambda: line.client.db == 5 and line.helper.db == 5)
        await pilot.press("colon")
        await run_line(pilot, line, "GET in-five")
        await wait_for(
            pilot, lambda: '"5"' in "\n".join("".join(seg.text for seg in row) for row in line.output.lines)
        )


@needs("INFO", "CLIENT", "SELECT", "SET", "FLUSHALL")
async def test_reports_print_as_lines_and_select_moves_the_explorer(
    cmdline_server: ServerHandle, tmp_path, monkeypatch
) -> None:
    """INFO and CLIENT LIST print line by line as in redis-cli; SELECT moves header, list and line together."""
    monkeypatch.setenv("REDISTUI_HISTORY", str(tmp_path / "history"))
    admin = cmdline_server.client()
    admin.flushall()
    admin.set("in:db0", "0")
    with cmdline_server.client(db=2) as db2:
        db2.set("in:db2", "2")
    app = RedisTUI(ConnectionSpec(port=cmdline_server.port))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: b"in:db0" in app.browser.index)
        line = app.query_one(CommandLine)
        await pilot.press("colon")

        def output() -> list[str]:
            return ["".join(seg.text for seg in row) for row in line.output.lines]

        await run_line(pilot, line, "INFO server")
        await wait_for(pilot, lambda: "# Server" in output())
        assert any(row.startswith("redis_version:") for row in output())
        assert not any("\\r\\n" in row for row in output())
        await run_line(pilot, line, "CLIENT LIST")
        await wait_for(pilot, lambda: sum(row.startswith("id=") for row in output()) >= 2)

        await run_line(pilot, line, "SELECT 2")
        await wait_for(pilot, lambda: app.client.db == 2 and b"in:db2" in app.browser.index, timeout=8)
        assert b"in:db0" not in app.browser.index
        await wait_for(pilot, lambda: "db2" in app._header.summary().plain)
        await run_line(pilot, line, "GET in:db2")
        await wait_for(pilot, lambda: '"2"' in output())
    admin.close()
