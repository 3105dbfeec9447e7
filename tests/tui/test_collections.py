"""Collections (issue 17 item 8): the cursor stays on the edited element, search inside a collection
(xSCAN MATCH, jump to a list index or a sorted-set score), Enter opens an element whole, and paging a
big string costs one page per press."""

from __future__ import annotations

import json

import pytest
from test_editors import fill_form
from textual.widgets import Static
from tui_helpers import SIZE, collection, make_app, open_key, screen_text, string_viewer, wait_for

from redistui.screens.detail import ElementDetail
from redistui.widgets.collection_viewer import PAGE
from redistui.widgets.string_viewer import CHUNK

pytestmark = pytest.mark.commands("SET", "STRLEN", "GETRANGE", "RPUSH", "LLEN", "LRANGE", "LSET", "HSET", "HLEN",
                                  "HSCAN", "SADD", "SCARD", "SSCAN", "ZADD", "ZCARD", "ZRANGE", "ZSCAN", "ZCOUNT",
                                  "EXISTS")  # fmt: skip


async def move_to_row(pilot, viewer, row: int) -> None:
    viewer.table.focus()
    viewer.table.move_cursor(row=row)
    await wait_for(pilot, lambda: viewer.table.cursor_row == row)


async def test_cursor_stays_on_the_edited_element(server) -> None:
    with server.connect() as conn:
        conn.hset("h", mapping={f"f{i:03d}": str(i) for i in range(50)})
        conn.zadd("z", {f"m{i:03d}": i for i in range(300)})
        conn.rpush("l", *[f"e{i}" for i in range(300)])
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        # a hash field: edited twice in a row, the second edit is of the same field
        await open_key(pilot, app, b"h")
        viewer = collection(app)
        await wait_for(pilot, lambda: viewer.pager is not None and len(viewer.pager.items) == 50)
        await move_to_row(pilot, viewer, 17)
        field = viewer.selected()[0]
        for value in ("one", "two"):
            await pilot.press("e")
            await fill_form(pilot, app, value=value)
            await wait_for(pilot, lambda value=value: collection(app).selected() == (field, value.encode()),
                           what=f"cursor on {field!r} = {value}")  # fmt: skip
        # a sorted-set member whose new score moves it to another rank, past the first page
        await open_key(pilot, app, b"z")
        viewer = collection(app)
        await wait_for(pilot, lambda: viewer.pager is not None and len(viewer.pager.items) == PAGE)
        await move_to_row(pilot, viewer, 3)
        await pilot.press("e")
        await fill_form(pilot, app, score="250.5")
        await wait_for(pilot, lambda: (collection(app).selected() or (0, b""))[1] == b"m003", what="m003 again")
        assert collection(app).selected() == (250, b"m003", 250.5)
        # a list element: same index
        await open_key(pilot, app, b"l")
        viewer = collection(app)
        await wait_for(pilot, lambda: viewer.pager is not None and len(viewer.pager.items) == PAGE)
        await move_to_row(pilot, viewer, 150)
        await pilot.press("e")
        await fill_form(pilot, app, value="changed")
        await wait_for(pilot, lambda: collection(app).selected() == (150, b"changed"))



def shown_from(app, start: int) -> bool:
    """The collection shows a page from ``start`` (its pager is replaced while a search reloads it)."""
    viewer = collection(app)
    return viewer.start == start and viewer.pager is not None and bool(viewer.pager.items)

async def test_find_inside_collections(server) -> None:
    with server.connect() as conn:
        conn.hset("h", mapping={**{f"user:{i}": str(i) for i in range(500)}, **{f"team:{i}": "t" for i in range(9)}})
        conn.sadd("s", *[f"a{i}" for i in range(300)], "needle")
        conn.zadd("z", {f"m{i}": i * 10 for i in range(1000)})
        conn.rpush("l", *[f"e{i}" for i in range(5000)])
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        await open_key(pilot, app, b"h")
        await wait_for(pilot, lambda: collection(app).pager is not None and collection(app).pager.items)
        await pilot.press("ctrl+f")
        await fill_form(pilot, app, query="team:*")
        await wait_for(pilot, lambda: collection(app).match == b"team:*" and collection(app).pager.done)
        assert sorted(item[0] for item in collection(app).pager.items) == [f"team:{i}".encode() for i in range(9)]
        assert "matching team:*" in screen_text(app)

        await open_key(pilot, app, b"s")
        await wait_for(pilot, lambda: collection(app).pager is not None and collection(app).pager.items)
        await pilot.press("ctrl+f")
        await fill_form(pilot, app, query="nee*")
        await wait_for(pilot, lambda: collection(app).match == b"nee*" and collection(app).pager.done)
        assert collection(app).pager.items == [(b"needle",)]

        await open_key(pilot, app, b"z")
        await wait_for(pilot, lambda: collection(app).pager is not None and collection(app).pager.items)
        await pilot.press("ctrl+f")
        await fill_form(pilot, app, query="7345")  # the first member scored 7345 or more: m735 (7350)
        await wait_for(pilot, lambda: shown_from(app, 735))
        assert collection(app).selected() == (735, b"m735", 7350.0)
        await pilot.press("ctrl+f")
        await fill_form(pilot, app, query="m99*")
        await wait_for(pilot, lambda: collection(app).match == b"m99*" and collection(app).pager.done)
        assert {item[1] for item in collection(app).pager.items} == {b"m99", *(f"m99{i}".encode() for i in range(10))}

        await open_key(pilot, app, b"l")
        await wait_for(pilot, lambda: collection(app).pager is not None and collection(app).pager.items)
        await pilot.press("ctrl+f")
        await fill_form(pilot, app, query="-10")
        await wait_for(pilot, lambda: shown_from(app, 4990))
        assert collection(app).pager.items[0] == (4990, b"e4990") and len(collection(app).pager.items) == 10
        await pilot.press("ctrl+f")
        await fill_form(pilot, app, query="")  # empty: back to the start
        await wait_for(pilot, lambda: shown_from(app, 0))
        assert collection(app).pager.items[0] == (0, b"e0")


async def test_enter_opens_the_whole_element_json_pretty_printed(server) -> None:
    document = {"name": "alice", "bio": "x" * 600, "tags": ["a", "b"]}
    with server.connect() as conn:
        conn.hset("h", mapping={"profile": json.dumps(document), "blob": b"\x00\x01\xff"})
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        await open_key(pilot, app, b"h")
        viewer = collection(app)
        await wait_for(pilot, lambda: viewer.pager is not None and len(viewer.pager.items) == 2)
        row = next(i for i, item in enumerate(viewer.pager.items) if item[0] == b"profile")
        await move_to_row(pilot, viewer, row)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ElementDetail), what="detail view")
        await pilot.pause(0.2)
        text = screen_text(app)
        assert '"name": "alice",' in text and '"tags": [' in text  # pretty-printed, one key per line
        assert text.count("x") >= 600  # the whole value (wrapped), not the table's cell cut at 200
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, ElementDetail))
        row = next(i for i, item in enumerate(viewer.pager.items) if item[0] == b"blob")
        await move_to_row(pilot, viewer, row)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ElementDetail))
        await pilot.pause(0.2)
        assert "00 01 ff" in screen_text(app)  # binary: a hex dump


async def test_paging_a_big_string_costs_one_page_per_press(server) -> None:
    pages = 12
    line = "0123456789abcdef" * 4 + "\n"
    value = (line * (CHUNK * pages // len(line) + 1)).encode()[: CHUNK * pages]
    with server.connect() as conn:
        conn.set("big", value)
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        await open_key(pilot, app, b"big")
        viewer = string_viewer(app)
        await wait_for(pilot, lambda: viewer.loaded)
        first = viewer.query_one("#string-body", Static)
        first_content = first.content
        shown: list[Static] = []
        for n in range(2, pages + 1):
            await pilot.press("m")
            await wait_for(pilot, lambda n=n: len(viewer.query(".string-page")) == n - 1, what=f"page {n}")
            now = list(viewer.query(".string-page"))
            assert now[:-1] == shown  # the pages shown before stay as they were: nothing is drawn again
            assert len(str(now[-1].content)) <= CHUNK  # the new widget holds one chunk of text
            shown = now
        assert first.content is first_content
        assert viewer.complete and viewer.data == value
        assert str(first.content) + "".join(str(page.content) for page in shown) == value.decode()
