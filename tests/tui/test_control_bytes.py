"""No stored byte reaches the terminal: server data is shown with its controls escaped.

Keys, values, messages and errors holding every C0 control, DEL and every C1 control
(as raw bytes and as UTF-8 code points) are put on every view; what is drawn, and the
SVG screenshot, must hold no control character, and show them as redis-cli quotes them.
"""

from __future__ import annotations

import re

import pytest
from textual.widgets import DataTable, TabbedContent, TextArea
from tui_helpers import SIZE, make_app, open_key, screen_text, string_viewer, wait_for

from redistui.formatting import ErrorReply, Status, Verbatim, format_tty, printable
from redistui.screens.hex_editor import HexEditor, hex_text
from redistui.widgets.collection_viewer import PagedTable
from redistui.widgets.command_line import CommandLine
from redistui.widgets.dashboard import DashboardScreen
from redistui.widgets.pubsub_pane import PubSubPane

pytestmark = pytest.mark.commands(
    "SET", "GET", "STRLEN", "GETRANGE", "HSET", "HLEN", "HSCAN", "RPUSH", "LLEN", "LRANGE", "PUBLISH",
    "SUBSCRIBE", "SLOWLOG", "CLIENT", "EXPIRE",
)  # fmt: skip

C0_DEL_C1 = bytes(range(0x20)) + bytes(range(0x7F, 0xA0))
C1_AS_UTF8 = "".join(chr(c) for c in range(0x80, 0xA0)).encode()
EVERY_CONTROL = C0_DEL_C1 + C1_AS_UTF8

TITLE_KEY = b"esc:\x1b]0;PWNED\x07k"
ALL_KEY = b"all" + EVERY_CONTROL
CLEAR = b"\x1b[2J\x1b[H"
OSC52 = b"\x1b]52;c;cHduZWQ=\x07"

# What the terminal must never get: C0 (except the line ends and tabs of a layout), DEL, C1.
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def test_printable_escapes_every_control_as_redis_cli_quotes_it() -> None:
    shown = printable(EVERY_CONTROL)
    assert RAW.search(shown) is None and "\n" not in shown and "\t" not in shown
    assert shown.startswith("\\x00\\x01\\x02\\x03\\x04\\x05\\x06\\a\\b\\t\\n\\x0b\\x0c\\r\\x0e")
    assert "\\x1b" in shown and "\\x7f\\x80\\x81" in shown and shown.endswith("\\xc2\\x9e\\xc2\\x9f")
    assert printable(b"\x00\x01\x02val") == "\\x00\\x01\\x02val"  # nothing vanishes
    assert printable("caf\u00e9 \u2603 user:1") == "caf\u00e9 \u2603 user:1"  # text is left alone
    assert printable(b"a\nb\tc\r", newlines=True) == "a\nb\tc\\r"
    # replies the command line and the shell print: statuses and errors are escaped too
    assert RAW.search(format_tty([EVERY_CONTROL, b"ok"])) is None
    assert format_tty(Status(b"OK\x1b]0;T\x07")) == "OK\\x1b]0;T\\a\n"
    assert format_tty(ErrorReply(b"ERR bad '\x1b[2J'")) == "(error) ERR bad '\\x1b[2J'\n"
    assert format_tty(Verbatim(b"# Server\r\nline\n")) == "# Server\nline\n\n"


def on_screen_raw(app) -> list[str]:
    """Every drawn line holding a control character."""
    return [strip.text for strip in app.screen._compositor.render_strips() if RAW.search(strip.text)]


def toasts(app) -> str:
    """The text of the notifications being shown."""
    return "\n".join(notification.message for notification in app._notifications)


async def assert_clean(pilot, app, *expected: str) -> None:
    """Once ``expected`` is on screen: no control character is drawn, or in the SVG screenshot."""
    await wait_for(
        pilot,
        lambda: all(part in screen_text(app) for part in expected),
        timeout=30,
        what=f"{expected} in\n{screen_text(app)}",
    )
    assert on_screen_raw(app) == [], "a control character was drawn"
    svg = app.export_screenshot()
    assert RAW.search(svg) is None, "a control character reached the SVG screenshot"


async def as_text(pilot, app) -> None:
    """Show the opened string as text (f cycles the format)."""
    viewer = string_viewer(app)
    await wait_for(pilot, lambda: viewer.loaded, what="the viewer")
    viewer.format = "text"
    await wait_for(pilot, lambda: "format: text" in screen_text(app), what="the text format")


def table_rows(app) -> int:
    """Rows in the open collection's table; 0 while the viewer has not composed it yet."""
    found = app.value_view.viewer.query(PagedTable)
    return found.first().row_count if found else 0


async def test_keys_values_toasts_and_ttl_are_escaped(server) -> None:
    with server.connect() as conn:
        conn.set(TITLE_KEY, b"v" + CLEAR + b"wiped")
        conn.set(ALL_KEY, b"text " + EVERY_CONTROL)
        conn.hset(b"h\x1b[31m", mapping={b"f" + CLEAR: b"\x00\x01\x02val" + OSC52})
        conn.rpush(b"l", b"\x9b2J", "\u009b2J".encode())
        conn.expire(ALL_KEY, 1000)
    app = make_app(server.port)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_key(pilot, app, TITLE_KEY)
        await as_text(pilot, app)
        await wait_for(pilot, lambda: "Hwiped" in screen_text(app), what="the value")
        await assert_clean(pilot, app, "]0;PWNED\\ak", "v\\x1b[2J\\x1b[Hwiped")

        await open_key(pilot, app, ALL_KEY)
        await as_text(pilot, app)
        await wait_for(pilot, lambda: "\\x1b" in screen_text(app).split("format:")[-1], what="escaped text")
        await assert_clean(pilot, app, "all\\x00\\x01", "text \\x00\\x01")
        await pilot.press("p")  # pin it: a toast and the TTL panel's table name the key
        await wait_for(pilot, lambda: "Pinned all\\x00\\x01\\x02" in toasts(app), what="the toast")
        assert RAW.search(toasts(app)) is None
        app.clear_notifications()
        await assert_clean(pilot, app, "pinned", "all\\x00\\x01\\x02\\x03\\x04\\x05\\x0")

        await open_key(pilot, app, b"h\x1b[31m")
        await wait_for(pilot, lambda: table_rows(app) == 1, what="the hash")
        table = app.value_view.viewer.table
        assert [str(cell) for cell in table.get_row_at(0)] == [
            "f\\x1b[2J\\x1b[H",
            "\\x00\\x01\\x02val\\x1b]52;c;cHduZWQ=\\a",
        ]
        await assert_clean(pilot, app, "h\\x1b[31m", "f\\x1b")

        await open_key(pilot, app, b"l")
        await wait_for(pilot, lambda: table_rows(app) == 2, what="the list")
        table = app.value_view.viewer.table
        assert [str(table.get_row_at(i)[1]) for i in range(2)] == ["\\x9b2J", "\\xc2\\x9b2J"]
        await assert_clean(pilot, app, "\\x9b2J")

        # no text editor is fed control bytes: such a value opens in the hex editor, as hex
        await open_key(pilot, app, TITLE_KEY)
        await wait_for(pilot, lambda: string_viewer(app).complete, what="the viewer")
        value = string_viewer(app).data
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, HexEditor), what=f"the hex editor: {toasts(app)}")
        assert app.screen.query_one("#hex-input", TextArea).text == hex_text(value)
        await assert_clean(pilot, app, "1b 5b 32 4a")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, HexEditor))


@pytest.mark.commands("ECHO")
async def test_command_line_and_pubsub_pane_are_escaped(server) -> None:
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        command_line = app.query_one(CommandLine)
        await pilot.press("colon")
        for line in (r'ECHO "\x1b[2J\x1b[Hechoed\x1b]52;c;cHduZWQ=\x07"', r'"\x1b]0;PWNED\x07"'):
            command_line.input.value = line  # redis-cli's escapes: the server gets the raw bytes
            command_line.submit()
            await pilot.pause(0.2)
        await assert_clean(
            pilot, app, "\\x1b[2J\\x1b[Hechoed", "(error) ERR unknown command '\\x1b]0;PWNED\\a'"
        )

        await pilot.press("f3")
        pane = app.query_one(PubSubPane)
        await pane.subscribe(channels=["chan\x1b[31m"])
        await wait_for(pilot, lambda: b"chan\x1b[31m" in pane.confirmed, what="subscribed")
        with server.connect() as conn:
            conn.publish(b"chan\x1b[31m", CLEAR + b"published" + bytes(range(0x80, 0xA0)))
        await wait_for(pilot, lambda: "published" in screen_text(app), what="the message")
        await assert_clean(pilot, app, "chan\\x1b[31m", "\\x1b[2J\\x1b[Hpublished\\x80\\x81")


@pytest.mark.commands("CONFIG")
async def test_dashboard_slowlog_is_escaped(server) -> None:
    with server.connect() as conn:
        conn.config_set("slowlog-log-slower-than", 0)
        conn.slowlog_reset()
        conn.set(b"slow\x1b]0;PWNED\x07", CLEAR)
        conn.config_set("slowlog-log-slower-than", 10000)
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), what="the dashboard")
        app.screen.query_one(TabbedContent).active = "tab-slowlog"
        table = app.screen.query_one("#slowlog", DataTable)
        await wait_for(
            pilot, lambda: any("PWNED" in str(table.get_row_at(i)[3]) for i in range(table.row_count))
        )
        await pilot.pause(0.2)
        await assert_clean(pilot, app, "slow\\x1b]0;PWNED\\a")
