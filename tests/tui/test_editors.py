"""Editing through dialogs: new keys of every type, element edits, rename, delete, TTL, errors."""

from __future__ import annotations

import pytest
from textual.widgets import Input, Select, Static, TextArea
from tui_helpers import (
    SIZE,
    collection,
    make_app,
    notified,
    open_key,
    record_notifications,
    string_viewer,
    wait_for,
)

from redistui.app import add_command, creation_command
from redistui.screens.dialogs import ConfirmDialog, FormDialog
from redistui.screens.hex_editor import HexEditor, hex_text, parse_hex

pytestmark = pytest.mark.commands("EXISTS", "SET", "GET", "STRLEN", "GETRANGE", "EXPIRE", "PERSIST", "TTL", "RENAME",
                                  "UNLINK", "RPUSH", "LPUSH", "LSET", "LREM", "LLEN", "LRANGE", "HSET", "HDEL", "HGET",
                                  "HLEN", "HSCAN", "SADD", "SREM", "SCARD", "SSCAN", "SMEMBERS", "ZADD", "ZREM",
                                  "ZCARD", "ZRANGE", "ZSCORE", "MULTI", "EXEC")  # fmt: skip
STREAM = pytest.mark.commands("XADD", "XLEN", "XRANGE", "XDEL")


async def fill_form(pilot, app, **values: str) -> None:
    """Wait for the form, type the given field values, and submit with ctrl+s."""
    await wait_for(pilot, lambda: isinstance(app.screen, FormDialog), what="form dialog")
    for name, value in values.items():
        widget = app.screen.query_one(f"#field-{name}")
        if isinstance(widget, TextArea):
            widget.text = value
        elif isinstance(widget, Select):
            widget.value = value
        else:
            assert isinstance(widget, Input)
            widget.value = value
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: not isinstance(app.screen, FormDialog), what="form closed")


async def answer(pilot, app, yes: bool) -> None:
    await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="confirmation")
    await pilot.press("y" if yes else "n")
    await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmDialog))


def test_creation_commands_for_every_type() -> None:
    assert creation_command("string", b"k", "hi\nthere") == ["SET", b"k", b"hi\nthere"]
    assert creation_command("list", b"k", "a\nb\n") == ["RPUSH", b"k", b"a", b"b"]
    assert creation_command("set", b"k", "a") == ["SADD", b"k", b"a"]
    assert creation_command("hash", b"k", "f=v=w\ng=") == ["HSET", b"k", b"f", b"v=w", b"g", b""]
    assert creation_command("zset", b"k", "1.5 alice\n2 bob") == ["ZADD", b"k", "1.5", b"alice", "2", b"bob"]
    assert creation_command("stream", b"k", "a=1") == ["XADD", b"k", "*", b"a", b"1"]
    with pytest.raises(ValueError):
        creation_command("zset", b"k", "notanumber alice")
    with pytest.raises(ValueError):
        creation_command("hash", b"k", "no equals sign")
    with pytest.raises(ValueError):
        creation_command("list", b"k", "")
    assert add_command("list", b"k", {"value": "x", "end": "head"}) == ["LPUSH", b"k", b"x"]


@pytest.mark.parametrize(
    ("type_", "text", "check"),
    [
        ("string", "hello", lambda c: c.get("new") == b"hello"),
        ("list", "a\nb", lambda c: c.lrange("new", 0, -1) == [b"a", b"b"]),
        ("hash", "f=1\ng=2", lambda c: c.hgetall("new") == {b"f": b"1", b"g": b"2"}),
        ("set", "x\ny", lambda c: c.smembers("new") == {b"x", b"y"}),
        ("zset", "2 b\n1 a", lambda c: c.zrange("new", 0, -1, withscores=True) == [(b"a", 1.0), (b"b", 2.0)]),
        pytest.param("stream", "n=1", lambda c: c.xlen("new") == 1, marks=STREAM),
    ],
)
async def test_new_key_of_every_type(server, type_: str, text: str, check) -> None:
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        await pilot.press("n")
        await fill_form(pilot, app, type=type_, key="new", value=text, ttl="100")
        await wait_for(pilot, lambda: app.value_view.key == b"new" and b"new" in app.browser.index)
        with server.connect() as conn:
            assert check(conn)
            assert 95 <= conn.ttl("new") <= 100


async def test_new_key_refuses_an_existing_name(server) -> None:
    with server.connect() as conn:
        conn.set("taken", "old")
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        seen = record_notifications(app)
        await pilot.press("n")
        await fill_form(pilot, app, type="string", key="taken", value="new")
        await wait_for(pilot, lambda: notified(seen, "already exists", "error"))
        with server.connect() as conn:
            assert conn.get("taken") == b"old"


async def test_edit_a_string(server) -> None:
    with server.connect() as conn:
        conn.set("greeting", "hello", ex=500)
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        await open_key(pilot, app, b"greeting")
        await wait_for(pilot, lambda: app.value_view.viewer.loaded)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, FormDialog))
        assert app.screen.query_one("#field-value", TextArea).text == "hello"
        await fill_form(pilot, app, value="bonjour")
        with server.connect() as conn:
            await wait_for(pilot, lambda: conn.get("greeting") == b"bonjour")
            assert conn.ttl("greeting") > 0, "editing keeps the TTL"


async def test_add_update_and_remove_list_elements(server) -> None:
    with server.connect() as conn:
        conn.rpush("l", "a", "b", "a")
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        await open_key(pilot, app, b"l")
        viewer = collection(app)
        await wait_for(pilot, lambda: viewer.pager and len(viewer.pager.items) == 3)
        await pilot.press("a")
        await fill_form(pilot, app, value="z", end="head")
        await wait_for(pilot, lambda: server.connect().lrange("l", 0, -1) == [b"z", b"a", b"b", b"a"])

        viewer = collection(app)
        await wait_for(pilot, lambda: viewer.pager and len(viewer.pager.items) == 4)
        viewer.table.focus()
        await pilot.press("down", "down", "down")  # the second "a", at index 3
        await pilot.press("e")
        await fill_form(pilot, app, value="last")
        await wait_for(pilot, lambda: server.connect().lrange("l", 0, -1) == [b"z", b"a", b"b", b"last"])

        # the cursor stays on the edited element (issue 17 item 8)
        await wait_for(pilot, lambda: collection(app).selected() == (3, b"last"), what="cursor kept on index 3")
        viewer = collection(app)
        viewer.table.focus()
        await pilot.press("up", "up")  # index 1: the first "a"
        await pilot.press("x")
        await answer(pilot, app, yes=False)
        assert server.connect().llen("l") == 4, "cancelled: nothing removed"
        await pilot.press("x")
        await answer(pilot, app, yes=True)
        await wait_for(pilot, lambda: server.connect().lrange("l", 0, -1) == [b"z", b"b", b"last"])


async def test_hash_set_and_zset_element_edits(server) -> None:
    with server.connect() as conn:
        conn.hset("h", mapping={"f": "1"})
        conn.sadd("s", "old")
        conn.zadd("z", {"m": 1})
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        conn = server.connect()
        await open_key(pilot, app, b"h")
        await wait_for(pilot, lambda: collection(app).pager and collection(app).pager.items)
        await pilot.press("a")
        await fill_form(pilot, app, field="g", value="2")
        await wait_for(pilot, lambda: conn.hgetall("h") == {b"f": b"1", b"g": b"2"})
        await wait_for(pilot, lambda: collection(app).pager and len(collection(app).pager.items) == 2)
        await pilot.press("e")
        await fill_form(pilot, app, value="one")
        await wait_for(pilot, lambda: conn.hget("h", "f") == b"one")
        await wait_for(pilot, lambda: collection(app).pager and len(collection(app).pager.items) == 2)
        await pilot.press("x")
        await answer(pilot, app, yes=True)
        await wait_for(pilot, lambda: conn.hgetall("h") == {b"g": b"2"})

        await open_key(pilot, app, b"s")
        await wait_for(pilot, lambda: collection(app).pager and collection(app).pager.items)
        await pilot.press("e")
        await fill_form(pilot, app, member="new")
        await wait_for(pilot, lambda: conn.smembers("s") == {b"new"})

        await open_key(pilot, app, b"z")
        await wait_for(pilot, lambda: collection(app).pager and collection(app).pager.items)
        await pilot.press("e")
        await fill_form(pilot, app, score="7.5")
        await wait_for(pilot, lambda: conn.zscore("z", "m") == 7.5)
        await pilot.press("a")
        await fill_form(pilot, app, member="n", score="1")
        await wait_for(pilot, lambda: conn.zcard("z") == 2)


@STREAM
async def test_stream_add_and_remove_entry(server) -> None:
    with server.connect() as conn:
        conn.xadd("st", {"a": "1"})
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        conn = server.connect()
        await open_key(pilot, app, b"st")
        await wait_for(pilot, lambda: collection(app).pager and collection(app).pager.items)
        await pilot.press("a")
        await fill_form(pilot, app, fields="b=2")
        await wait_for(pilot, lambda: conn.xlen("st") == 2)
        await wait_for(pilot, lambda: collection(app).pager and len(collection(app).pager.items) == 2)
        await pilot.press("x")
        await answer(pilot, app, yes=True)
        await wait_for(pilot, lambda: conn.xlen("st") == 1)


async def test_rename_and_delete_with_confirmation(server) -> None:
    with server.connect() as conn:
        conn.set("old", "v")
        conn.set("other", "w")
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        conn = server.connect()
        await open_key(pilot, app, b"old")
        await pilot.press("r")
        await fill_form(pilot, app, name="other")
        await answer(pilot, app, yes=False)  # "other exists. Overwrite it?"
        assert conn.get("old") == b"v"
        await pilot.press("r")
        await fill_form(pilot, app, name="new")
        await wait_for(pilot, lambda: conn.get("new") == b"v" and not conn.exists("old"))
        await wait_for(pilot, lambda: app.value_view.key == b"new" and b"old" not in app.browser.index)

        await pilot.press("delete")
        await answer(pilot, app, yes=False)
        assert conn.exists("new")
        await pilot.press("delete")
        await answer(pilot, app, yes=True)
        await wait_for(pilot, lambda: not conn.exists("new") and b"new" not in app.browser.index)
        assert app.value_view.key is None


async def test_set_and_remove_ttl(server) -> None:
    with server.connect() as conn:
        conn.set("k", "v")
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        conn = server.connect()
        await open_key(pilot, app, b"k")
        await pilot.press("t")
        await fill_form(pilot, app, seconds="300")
        await wait_for(pilot, lambda: 295 <= conn.ttl("k") <= 300)
        await pilot.press("t")
        await fill_form(pilot, app, seconds="1h30m")  # durations, as the dialog says
        await wait_for(pilot, lambda: 5390 <= conn.ttl("k") <= 5400)
        await pilot.press("t")
        await fill_form(pilot, app, seconds="")
        await wait_for(pilot, lambda: conn.ttl("k") == -1)


async def test_server_errors_become_notifications(server) -> None:
    with server.connect() as conn:
        conn.rpush("l", "a")
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        seen = record_notifications(app)
        await open_key(pilot, app, b"l")
        await wait_for(pilot, lambda: collection(app).pager and collection(app).pager.items)
        with server.connect() as conn:  # the key changes type behind the explorer's back
            conn.delete("l")
            conn.set("l", "now a string")
        await pilot.press("a")
        await fill_form(pilot, app, value="x")
        await wait_for(pilot, lambda: notified(seen, "WRONGTYPE", "error"), what="error notification")
        assert app.is_running


async def test_background_updates_keep_running_under_a_dialog(server) -> None:
    with server.connect() as conn:
        conn.config_set("notify-keyspace-events", "KA")
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.browser.live)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, FormDialog))
        with server.connect() as conn:
            conn.set("while-open", "1")
        await wait_for(pilot, lambda: b"while-open" in app.browser.index, timeout=3)
        await pilot.pause(1.2)  # at least one INFO poll with the dialog on top
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, FormDialog))
        assert app.is_running


async def test_binary_elements_and_names_are_never_rewritten_from_escaped_text(server) -> None:
    binary = b"\xff\xfe\x00raw"
    with server.connect() as conn:
        conn.rpush("binlist", binary)
        conn.set(b"bin\xffkey", "v")
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        seen = record_notifications(app)
        await open_key(pilot, app, b"binlist")
        viewer = collection(app)
        await wait_for(pilot, lambda: viewer.pager and len(viewer.pager.items) == 1)
        viewer.table.focus()
        await pilot.press("e")
        await wait_for(pilot, lambda: notified(seen, "not UTF-8", "warning"), what="refusal")
        assert not isinstance(app.screen, FormDialog)
        assert server.connect().lrange("binlist", 0, -1) == [binary]
        await open_key(pilot, app, b"bin\xffkey")
        await pilot.press("r")
        await wait_for(pilot, lambda: notified(seen, "rename it from the command line", "warning"))
        assert server.connect().get(b"bin\xffkey") == b"v"


def test_hex_text_round_trips_and_parse_names_the_bad_word() -> None:
    data = bytes(range(256))
    text = hex_text(data)
    assert text.splitlines()[0] == " ".join(f"{b:02x}" for b in range(16))
    assert parse_hex(text) == data
    assert parse_hex("00ff  41\n\n 42") == b"\x00\xffAB"
    assert parse_hex("") == b""
    with pytest.raises(ValueError, match="word 2 .* odd number"):
        parse_hex("00 fff")
    with pytest.raises(ValueError, match="word 1 .* not hex"):
        parse_hex("zz")


async def test_binary_string_is_edited_as_hex_and_written_byte_for_byte(server) -> None:
    original = b"\x00\xffhead\x00\x01tail\xfe"
    with server.connect() as conn:
        conn.set(b"blob", original, ex=5000)
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        seen = record_notifications(app)
        await open_key(pilot, app, b"blob")
        viewer = string_viewer(app)
        await wait_for(pilot, lambda: viewer.complete, what="value loaded")
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, HexEditor), what="hex editor")
        editor = app.screen
        area = editor.query_one("#hex-input", TextArea)
        assert parse_hex(area.text) == original  # the exact bytes, as hex pairs
        assert "00000000  00 ff 68 65" in str(editor.query_one("#hex-preview", Static).render())
        # A new first line: NUL, 0xff, "A", then an odd digit (refused), then made whole.
        area.text = "00 ff 41\n" + area.text
        area.move_cursor(area.document.end)
        await pilot.press("space", "a")
        await wait_for(pilot, lambda: editor.value is None, what="odd digit noticed")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: notified(seen, "does not parse", "error"), what="refusal")
        assert isinstance(app.screen, HexEditor)
        await pilot.press("b")
        await wait_for(pilot, lambda: editor.value is not None)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, HexEditor), what="editor closed")
        expected = b"\x00\xffA" + original + b"\xab"
        with server.connect() as conn:
            await wait_for(pilot, lambda: conn.get(b"blob") == expected, what="bytes written")
            assert 4000 <= conn.ttl(b"blob") <= 5000  # SET KEEPTTL, as the other editors
        await wait_for(pilot, lambda: string_viewer(app).data == expected, what="viewer reloaded")


async def test_hex_editor_cancel_writes_nothing(server) -> None:
    with server.connect() as conn:
        conn.set(b"blob", b"\xff\x00")
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        await open_key(pilot, app, b"blob")
        await wait_for(pilot, lambda: string_viewer(app).complete)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, HexEditor))
        app.screen.query_one("#hex-input", TextArea).text = "01 02"
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, HexEditor))
        assert server.connect().get(b"blob") == b"\xff\x00"
