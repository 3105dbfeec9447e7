"""Pilot tests of the TUI command line hosted in a small app, against live servers."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest_cmdline import *  # noqa: F403
from conftest_cmdline import ServerHandle, needs
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import OptionList

from redistui.client import ConnectionSpec
from redistui.widgets.command_line import CommandLine

pytestmark = needs(
    "COMMAND",
    "INFO",
    "SCAN",
    "HSCAN",
    "HSET",
    "RPUSH",
    "FLUSHALL",
    "FLUSHDB",
    "LRANGE",
    "INCR",
    "SELECT",
    "DBSIZE",
    "AUTH",
)


class Host(App[None]):
    """Just the command line, as the explorer hosts it at the bottom."""

    def __init__(self, port: int, history: Path) -> None:
        super().__init__()
        self.spec = ConnectionSpec(port=port)
        self.history_path = history
        self.executed: list[CommandLine.Executed] = []

    def compose(self) -> ComposeResult:
        yield CommandLine(self.spec, history_path=str(self.history_path), debounce=0.01)

    def on_mount(self) -> None:
        self.query_one("#cmd-input").focus()

    def on_command_line_executed(self, message: CommandLine.Executed) -> None:
        self.executed.append(message)


async def settle(pilot: Pilot) -> None:
    for _ in range(4):
        await pilot.pause(0.03)
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def type_text(pilot: Pilot, text: str) -> None:
    await pilot.press(*["space" if c == " " else c for c in text])
    await settle(pilot)


async def enter_line(pilot: Pilot, line: str) -> None:
    """Put a whole line in the input (no per-key typing) and press Enter."""
    field = pilot.app.query_one("#cmd-input")
    field.value = line
    field.cursor_position = len(line)
    await pilot.press("enter")
    await settle(pilot)


def options(app: App) -> list[str]:
    dropdown = app.query_one("#cmd-dropdown", OptionList)
    if not dropdown.has_class("-open"):
        return []
    return [
        str(dropdown.get_option_at_index(i).prompt).split("  ")[0].strip()
        for i in range(dropdown.option_count)
    ]


def log_text(app: App) -> str:
    log = app.query_one("#cmd-output")
    return "\n".join("".join(segment.text for segment in line) for line in log.lines)


def hint(app: App) -> str:
    return str(app.query_one("#cmd-hint").render())


def value(app: App) -> str:
    return app.query_one("#cmd-input").value


@pytest.fixture
def host(cmdline_server: ServerHandle, tmp_path: Path) -> Host:
    client = cmdline_server.client()
    client.flushall()
    client.hset("user:1", mapping={"name": "ann", "email": "a@x"})
    client.set("greeting", "hello")
    client.rpush("list", "a", "b c")
    client.close()
    return Host(cmdline_server.port, tmp_path / "history")


async def test_dropdown_completes_command_names_with_tab(host: Host) -> None:
    async with host.run_test(size=(120, 40)) as pilot:
        await type_text(pilot, "GE")
        assert options(host)[0] == "GET"
        assert "GETEX" in options(host)
        await pilot.press("tab")
        await settle(pilot)
        assert value(host) == "GET "
        assert "key" in hint(host)


async def test_keywords_keys_and_fields_in_the_dropdown(host: Host) -> None:
    async with host.run_test(size=(120, 40)) as pilot:
        await type_text(pilot, "SET k v ")
        assert set(options(host)) == {"EX", "EXAT", "GET", "KEEPTTL", "NX", "PX", "PXAT", "XX"}
        assert "[NX|XX]" in hint(host)
        await pilot.press("down", "down", "enter")  # navigate, then Enter takes the entry
        await settle(pilot)
        assert value(host) == "SET k v GET "
        await pilot.press("ctrl+u")
        await type_text(pilot, "HGET ")
        assert options(host) == ["user:1"]
        await pilot.press("tab")
        await settle(pilot)
        assert value(host) == "HGET user:1 "
        assert sorted(options(host)) == ["email", "name"]
        await pilot.press("escape")
        assert options(host) == []


async def test_running_commands_prints_like_redis_cli(host: Host) -> None:
    async with host.run_test(size=(120, 40)) as pilot:
        for line in ["GET greeting", "LRANGE list 0 -1", "INCR greeting", "GET nokey", "SET n 1"]:
            await enter_line(pilot, line)
        text = log_text(host)
        assert '"hello"' in text
        assert '1) "a"\n2) "b c"' in text
        assert "(error) ERR value is not an integer or out of range" in text
        assert "(nil)" in text
        assert "OK" in text
        await enter_line(pilot, "help getex")
        assert "summary: " in log_text(host) and "GETEX key [EX seconds" in log_text(host)
        writes = {m.args[0].decode(): m.may_write for m in host.executed}
        assert writes == {"GET": False, "LRANGE": False, "INCR": True, "SET": True}


async def test_history_up_down_and_search(host: Host) -> None:
    async with host.run_test(size=(120, 40)) as pilot:
        for line in ["GET greeting", "AUTH secret", "DBSIZE"]:
            await enter_line(pilot, line)
        await pilot.press("up")
        assert value(host) == "DBSIZE"
        await pilot.press("up")
        assert value(host) == "GET greeting"  # AUTH never entered the history
        await pilot.press("down")
        assert value(host) == "DBSIZE"
        await pilot.press("down")
        assert value(host) == ""
        await type_text(pilot, "gre")
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert options(host) == ["GET greeting"]
        await pilot.press("enter")
        await settle(pilot)
        assert value(host) == "GET greeting"
    assert "secret" not in host.history_path.read_text()


async def test_dangerous_command_needs_a_second_enter(host: Host, cmdline_server: ServerHandle) -> None:
    async with host.run_test(size=(120, 40)) as pilot:
        await type_text(pilot, "FLUSHDB")
        await pilot.press("escape")  # close the dropdown
        await pilot.press("enter")
        await settle(pilot)
        assert "Enter runs it" in hint(host)
        assert cmdline_server.client().exists("greeting") == 1
        await pilot.press("enter")
        await settle(pilot)
        assert cmdline_server.client().exists("greeting") == 0
        assert "OK" in log_text(host)


async def test_select_moves_completion_to_the_new_db(host: Host, cmdline_server: ServerHandle) -> None:
    cmdline_server.client(db=4).set("only-in-4", "x")
    async with host.run_test(size=(120, 40)) as pilot:
        await enter_line(pilot, "SELECT 4")
        await type_text(pilot, "GET only")
        assert options(host) == ["only-in-4"]
