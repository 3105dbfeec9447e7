"""The scripting screen (F4): the EVAL editor and the functions view, against both servers."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Input, TabbedContent, TextArea
from tui_helpers import SIZE, make_app, screen_text, wait_for

from redistui.widgets.scripting import ScriptingScreen, parse_function_list, split_words

pytestmark = pytest.mark.commands("EVAL", "FUNCTION", "SET")

LIBRARY = (
    "#!lua name=tuilib\n"
    "-- colour \x1b[31mred\x1b[0m in a comment\n"
    "redis.register_function{function_name='ro_get', callback=function(keys) return redis.call('get', keys[1]) end,"
    " flags={'no-writes', 'allow-stale'}}\n"
    "redis.register_function('plain', function() return 1 end)\n"
)


def test_split_words_keeps_quoted_spaces() -> None:
    assert split_words('a "b c" d') == ["a", "b c", "d"]
    assert split_words('unbalanced "quote') == ["unbalanced", '"quote']
    assert split_words("") == []


def test_parse_function_list_reads_resp2_libraries() -> None:
    reply = [[b"library_name", b"lib", b"engine", b"LUA", b"functions",
              [[b"name", b"f", b"description", None, b"flags", [b"no-writes"]]], b"library_code", b"code"]]
    (library,) = parse_function_list(reply)
    assert (library.name, library.engine, library.code) == (b"lib", b"LUA", b"code")
    assert library.functions == [(b"f", None, [b"no-writes"])]
    assert parse_function_list(b"not a list") == []


async def open_screen(pilot, app) -> ScriptingScreen:
    await wait_for(pilot, lambda: app.connected, what="the explorer connected")
    await pilot.press("f4")
    await wait_for(pilot, lambda: isinstance(app.screen, ScriptingScreen), what="the scripting screen")
    screen = app.screen
    assert isinstance(screen, ScriptingScreen)
    return screen


async def test_eval_editor_runs_scripts_and_prints_replies_like_redis_cli(server) -> None:
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(pilot, app)
        editor = screen.query_one("#script-editor", TextArea)
        editor.text = "return {KEYS[1], ARGV[1], redis.call('incr', KEYS[1]), {ok='FINE'}, ARGV[2]}"
        screen.query_one("#script-keys", Input).value = "counter:1"
        screen.query_one("#script-argv", Input).value = '"two words" 7'
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: screen.runs == 1, what="the EVAL reply")
        assert screen.reply_text == '1) "counter:1"\n2) "two words"\n3) (integer) 1\n4) FINE\n5) "7"'
        with server.connect() as conn:
            assert conn.get("counter:1") == b"1"
        # An error reply, as redis-cli shows it
        editor.text = "return redis.call('nosuch')"
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: screen.runs == 2, what="the error reply")
        assert screen.reply_text.startswith("(error) ERR Unknown Redis command called from script script: ")
        # Control bytes from the server are shown escaped, never sent to the terminal
        editor.text = "return {'\\27]0;TITLE\\7', {err='E \\27[2J'}}"
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: screen.runs == 3, what="the reply with control bytes")
        assert screen.reply_text == '1) "\\x1b]0;TITLE\\a"\n2) (error) E \\x1b[2J'
        assert "\x1b" not in screen_text(app) and "\\x1b]0;TITLE" in screen_text(app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, ScriptingScreen), what="back to the explorer")


async def test_functions_view_lists_libraries_flags_and_code(server) -> None:
    with server.connect() as conn:
        conn.function_flush()
        conn.function_load(LIBRARY)
    app = make_app(server.port)
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_screen(pilot, app)
            screen.query_one(TabbedContent).active = "tab-functions"
            await wait_for(pilot, lambda: screen.loads >= 1, what="FUNCTION LIST WITHCODE")
            table = screen.query_one("#functions-table", DataTable)
            rows = [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]
            assert sorted(rows, key=lambda row: row[2]) == [
                ["", "", "plain", "-", "-"],
                ["tuilib", "LUA", "ro_get", "no-writes,allow-stale", "-"],
            ] or sorted(rows, key=lambda row: row[2]) == [
                ["tuilib", "LUA", "plain", "-", "-"],
                ["", "", "ro_get", "no-writes,allow-stale", "-"],
            ]
            code = screen.query_one("#function-code", TextArea).text
            assert code.startswith("#!lua name=tuilib\n-- colour \\x1b[31mred\\x1b[0m in a comment\n")
            assert "\x1b" not in code
            # A library loaded meanwhile shows after a reload (Ctrl+R on this tab)
            with server.connect() as conn:
                conn.function_load("#!lua name=second\nredis.register_function('two', function() return 2 end)")
            await pilot.press("ctrl+r")
            await wait_for(pilot, lambda: screen.loads >= 2 and len(screen.libraries) == 2, what="the reload")
            assert {lib.name for lib in screen.libraries} == {b"tuilib", b"second"}
    finally:
        with server.connect() as conn:
            conn.function_flush()
