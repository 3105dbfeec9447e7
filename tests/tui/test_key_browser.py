"""Browsing keys: tree and flat views, filters, SCAN paging and stopping, badges and TTLs."""

from __future__ import annotations

import pytest
from tui_helpers import SIZE, key_rows, make_app, screen_text, wait_for, wait_rows

from redistui.key_index import KeyIndex
from redistui.widgets.key_browser import PAGE_TARGET, KeyBrowser
from redistui.widgets.key_list import KeyList

pytestmark = pytest.mark.commands("SET", "RPUSH", "HSET", "SADD", "ZADD", "STRLEN", "GETRANGE")


def seed_mixed(conn) -> None:
    conn.set("user:1", "alice")
    conn.set("user:2", "bob")
    conn.set("user:3:name", "carol")
    conn.rpush("queue", "a", "b")
    conn.hset("cfg", mapping={"a": "1"})
    conn.sadd("tags", "x")
    conn.zadd("board", {"p": 1})


async def test_tree_view_groups_namespaces_and_expands(server) -> None:
    with server.connect() as conn:
        seed_mixed(conn)
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        await wait_rows(pilot, app, ["board", "cfg", "queue", "tags", "user"])
        text = screen_text(app)
        assert "▸ user: (3)" in text
        key_list = app.query_one(KeyList)
        key_list.focus()
        await pilot.press("end", "right")
        await wait_rows(pilot, app, ["board", "cfg", "queue", "tags", "user", "1", "2", "3"])
        await pilot.press("end", "enter")
        await wait_rows(pilot, app, ["board", "cfg", "queue", "tags", "user", "1", "2", "3", "name"])
        await pilot.press("left")  # from a namespace row: collapse it
        await wait_rows(pilot, app, ["board", "cfg", "queue", "tags", "user", "1", "2", "3"])
        await pilot.press("home")
        await pilot.click(KeyList, offset=(2, 4))  # the "user:" row: a click toggles it
        await wait_rows(pilot, app, ["board", "cfg", "queue", "tags", "user"])


async def test_flat_view_and_custom_delimiter(server) -> None:
    with server.connect() as conn:
        seed_mixed(conn)
        conn.set("a/b", "1")
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "user" in key_rows(app))
        await pilot.press("v")
        await wait_rows(
            pilot, app, ["a/b", "board", "cfg", "queue", "tags", "user:1", "user:2", "user:3:name"]
        )
        await pilot.press("v")
        app.browser.set_view(True, "/")
        await wait_for(pilot, lambda: key_rows(app)[0] == "a" and "user:1" in key_rows(app))


async def test_badges_and_ttls_are_fetched_for_visible_rows(server) -> None:
    with server.connect() as conn:
        seed_mixed(conn)
        conn.set("temp", "x", ex=3000)
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(
            pilot, lambda: "HASH" in screen_text(app) and " 49m " in screen_text(app), what="badges"
        )
        text = screen_text(app)
        for badge in ("LIST", "HASH", "SET", "ZSET", "STR"):
            assert badge in text
        meta = app.browser.meta
        assert meta[b"temp"].type == "string" and 2_990_000 < meta[b"temp"].pttl <= 3_000_000
        assert b"user:1" not in meta  # inside a collapsed namespace: not visible, not fetched


async def test_pattern_filter_uses_server_side_match(server) -> None:
    with server.connect() as conn:
        seed_mixed(conn)
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "user" in key_rows(app))
        await pilot.press("slash")
        await pilot.press(*"user:[12]", "enter")
        app.browser.set_view(False)
        await wait_rows(pilot, app, ["user:1", "user:2"])
        assert "2 matched" in screen_text(app)
        app.browser.set_pattern("")
        await wait_for(pilot, lambda: len(app.browser.index) == 7)


async def test_type_filter_uses_scan_type(server) -> None:
    with server.connect() as conn:
        seed_mixed(conn)
        conn.rpush("user:list", "x")
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "user" in key_rows(app))
        app.browser.set_type_filter("list")
        app.browser.set_view(False)
        await wait_rows(pilot, app, ["queue", "user:list"])
        app.browser.set_type_filter(None)
        await wait_for(pilot, lambda: len(app.browser.index) == 8)


async def test_scan_loads_pages_as_the_user_scrolls_and_can_stop(server) -> None:
    total = 5 * PAGE_TARGET + 500
    with server.connect() as conn:
        pipe = conn.pipeline(transaction=False)
        for i in range(total):
            pipe.set(f"k{i:05d}", i)
        pipe.execute()
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        browser = app.query_one(KeyBrowser)
        await wait_for(pilot, lambda: len(browser.index) >= PAGE_TARGET and not browser._scanning)
        loaded = len(browser.index)
        assert loaded < total, "only the first pages load until the user scrolls"
        assert f"scanned {loaded:,} of ~{total:,}" in screen_text(app)
        # the status says the scan waits (it used to read "scanning… esc stops" for ever)
        await wait_for(pilot, lambda: "more on scroll" in screen_text(app), what="an idle scan")
        assert "scanning" not in screen_text(app)
        app.query_one(KeyList).focus()
        await pilot.press("end")  # nearing the end asks for the next pages
        await wait_for(pilot, lambda: len(browser.index) > loaded and not browser._scanning, what="more keys")
        loaded = len(browser.index)
        assert loaded < total
        browser.load_all()
        browser.stop()
        assert browser.scan_stopped
        await wait_for(pilot, lambda: "stopped" in screen_text(app))
        await pilot.pause(0.2)
        assert len(browser.index) == loaded, "a stopped scan loads nothing more"
        browser.load_all()
        await wait_for(pilot, lambda: browser.scan_done, timeout=10)
        assert len(browser.index) == total
        await wait_for(pilot, lambda: "complete" in screen_text(app))
        with server.connect() as conn:
            assert "cmdstat_keys" not in conn.info("commandstats"), "the browser never sends KEYS"


async def test_opening_a_namespace_mid_scan_fetches_its_keys(server) -> None:
    with server.connect() as conn:
        pipe = conn.pipeline(transaction=False)
        for i in range(3 * PAGE_TARGET):
            pipe.set(f"bulk:{i:05d}", i)
        for i in range(30):
            pipe.set(f"zz:{i:02d}", i)
        pipe.execute()
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        browser = app.query_one(KeyBrowser)
        await wait_for(pilot, lambda: len(browser.index) >= PAGE_TARGET and not browser._scanning)
        browser.stop()
        if browser.index.count_prefix(b"zz:") == 30:
            browser.index.discard([f"zz:{i:02d}".encode() for i in range(1, 30)])
        browser.index.add([b"zz:00"])
        browser._apply_rows()
        await wait_for(pilot, lambda: "zz" in key_rows(app))
        app.query_one(KeyList).focus()
        await pilot.press("end", "right")
        await wait_for(pilot, lambda: browser.index.count_prefix(b"zz:") == 30, what="namespace scan")
        await wait_for(pilot, lambda: "▾ zz: (30 loaded)" in screen_text(app))  # the scan is not complete: said so


async def test_selecting_a_key_survives_new_keys_arriving_above_it(server) -> None:
    with server.connect() as conn:
        conn.set("m", "1")
        conn.set("z", "1")
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        await wait_rows(pilot, app, ["m", "z"])
        app.query_one(KeyList).focus()
        await pilot.press("down")
        await wait_for(pilot, lambda: app.value_view.key == b"z")
        app.browser.key_added(b"a")
        await wait_rows(pilot, app, ["a", "m", "z"])
        assert app.query_one(KeyList).current_row.key == b"z"


def test_key_index_is_what_the_list_draws() -> None:
    assert KeyList(KeyIndex(), {}).index.row_count == 0


async def test_an_empty_database_says_so(server) -> None:
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "no keys here yet" in screen_text(app))
        app.browser.set_pattern("nothing:*")
        await wait_for(pilot, lambda: "no keys match the filter" in screen_text(app))


async def test_expanding_a_big_mixed_namespace_lays_out_one_screen(redis_server) -> None:
    """Issue 17 item 1: ``user:`` with 60,000 keys, half of them one-key sub-namespaces, opens laying out
    a screenful (not its 60,000 children); End reaches its last row; a live key lands in place."""
    from redistui.key_index import LAYOUT_AHEAD, LAYOUT_CHUNK

    redis_server.reset()
    with redis_server.connect() as conn:
        pipe = conn.pipeline(transaction=False)
        for i in range(60_000):
            pipe.set(f"user:{i}:avatar" if i % 2 else f"user:{i}", 1)
        pipe.set("zz", 1)
        pipe.execute()
    app = make_app(redis_server.port)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(app.browser.index) > 0, what="first keys")
        app.browser.load_all()
        await wait_for(
            pilot, lambda: app.browser.scan_done and len(app.browser.index) == 60_001, timeout=30, what="loaded"
        )
        await wait_rows(pilot, app, ["user", "zz"])
        key_list = app.query_one(KeyList)
        key_list.focus()
        key_list.move_to(0)
        await pilot.press("right")
        await wait_for(pilot, lambda: getattr(app.browser.index.locate(1), "key", None) == b"user:0", what="open")
        node = app.browser.index._nodes[b"user:"]
        assert node.rest is not None and node.starts[-1] <= LAYOUT_AHEAD + LAYOUT_CHUNK
        await pilot.press("pagedown", "pagedown")
        assert node.starts[-1] <= LAYOUT_AHEAD + LAYOUT_CHUNK + 100
        await pilot.press("end")
        await wait_for(pilot, lambda: getattr(key_list.current_row, "key", None) == b"zz", what="end")
        assert key_list.cursor == app.browser.index.row_count - 1 == 60_000 + 1
        assert "zz" in screen_text(app)
