"""Pilot tests of the dashboard: live INFO with sparklines, SLOWLOG, CLIENT LIST, MONITOR."""

from __future__ import annotations

import io
import time

from conftest_cmdline import *  # noqa: F403
from conftest_cmdline import ServerHandle, needs
from rich.console import Console
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import DataTable, RichLog, Sparkline, TabbedContent

from redistui.client import ConnectionSpec
from redistui.widgets.dashboard import Dashboard, DashboardScreen, info_cards

pytestmark = needs("INFO")


class Host(App[None]):
    def __init__(self, port: int) -> None:
        super().__init__()
        self.spec = ConnectionSpec(port=port)

    def compose(self) -> ComposeResult:
        yield Dashboard(self.spec, interval=0.2)


async def wait_for(pilot: Pilot, condition, timeout: float = 8.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await pilot.pause(0.05)


def plain(renderable: object) -> str:
    console = Console(width=100, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def log_text(log: RichLog) -> str:
    return "\n".join("".join(seg.text for seg in line) for line in log.lines)


def test_info_cards_cover_the_sections() -> None:
    cards = info_cards({"used_memory_human": "1M", "connected_clients": 3, "db0": {"keys": 5, "expires": 1}})
    assert set(cards) == {"Memory", "Clients", "Stats", "Persistence", "Server", "Replication", "Keyspace"}
    assert cards["Keyspace"].row_count == 1


@needs("SLOWLOG", "CLIENT", "CONFIG", "SET", "FLUSHALL")
async def test_overview_slowlog_and_clients(cmdline_server: ServerHandle) -> None:
    admin = cmdline_server.client()
    admin.flushall()
    admin.config_set("slowlog-log-slower-than", 0)
    admin.slowlog_reset()
    admin.set("slow:one", "1")
    admin.set("k:expiring", "1", ex=100)
    app = Host(cmdline_server.port)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            dashboard = app.query_one(Dashboard)
            await wait_for(pilot, lambda: len(dashboard.ops) >= 3)
            assert len(app.query_one("#ops-spark", Sparkline).data or []) >= 3
            assert "used" in plain(dashboard.cards["Memory"])
            assert "2 keys, 1 expiring" in plain(dashboard.cards["Keyspace"])
            app.query_one(TabbedContent).active = "tab-slowlog"
            table = app.query_one("#slowlog", DataTable)
            await wait_for(pilot, lambda: table.row_count > 0)
            commands = [table.get_row_at(i)[3] for i in range(table.row_count)]
            assert any("slow:one" in c for c in commands)
            app.query_one(TabbedContent).active = "tab-clients"
            clients = app.query_one("#clients", DataTable)
            await wait_for(pilot, lambda: clients.row_count >= 1)
    finally:
        admin.config_set("slowlog-log-slower-than", 10000)
        admin.close()


@needs("MONITOR", "SET", "GET")
async def test_monitor_with_filter(cmdline_server: ServerHandle) -> None:
    app = Host(cmdline_server.port)
    async with app.run_test(size=(120, 40)) as pilot:
        dashboard = app.query_one(Dashboard)
        app.query_one(TabbedContent).active = "tab-monitor"
        await pilot.pause()
        dashboard.start_monitor()
        log = app.query_one("#monitor-log", RichLog)
        client = cmdline_server.client()
        deadline = time.monotonic() + 8
        while '"monitored"' not in log_text(log):  # MONITOR may attach after the first SET
            assert time.monotonic() < deadline
            client.set("monitored", "1")
            client.get("other")
            await pilot.pause(0.15)
        await pilot.click("#monitor-filter")
        await pilot.press(*"monitored")
        await pilot.pause(0.1)
        text = log_text(log)
        assert '"monitored"' in text and '"other"' not in text
        dashboard.stop_monitor()
        await pilot.pause(0.1)
        client.close()


async def test_dashboard_screen_opens_and_closes(cmdline_server: ServerHandle) -> None:
    class Main(App[None]):
        pass

    app = Main()
    async with app.run_test(size=(120, 40)) as pilot:
        app.push_screen(DashboardScreen(ConnectionSpec(port=cmdline_server.port)))
        await pilot.pause(0.3)
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, DashboardScreen)
        app.push_screen(DashboardScreen(ConnectionSpec(port=cmdline_server.port), monitor=True))
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.query(Dashboard))
        board = app.screen.query_one(Dashboard)
        assert app.screen.query_one(TabbedContent).active == "tab-monitor"
        await wait_for(pilot, lambda: board._monitor_client is not None)
