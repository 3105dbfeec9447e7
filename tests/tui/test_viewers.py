"""Value viewers: string formats and partial loading, and each collection type paging lazily."""

from __future__ import annotations

import json

import pytest
from tui_helpers import SIZE, collection, make_app, open_key, screen_text, string_viewer, wait_for

from redistui.widgets.collection_viewer import PAGE
from redistui.widgets.string_viewer import CHUNK, detect_format, hex_dump

pytestmark = pytest.mark.commands("SET", "STRLEN", "GETRANGE", "RPUSH", "LLEN", "LRANGE", "HSET", "HLEN", "HSCAN",
                                  "SADD", "SCARD", "SSCAN", "ZADD", "ZCARD", "ZRANGE")  # fmt: skip


def test_format_detection_and_hex_dump() -> None:
    assert detect_format(b'{"a": [1, 2]}', complete=True) == "json"
    assert detect_format(b"hello world", complete=True) == "text"
    assert detect_format(b"\x00\x01\xff", complete=True) == "hex"
    assert detect_format("caf\u00e9".encode()[:4], complete=False) == "text"  # a character cut by the chunk
    assert hex_dump(b"AB\x00") == "00000000  41 42 00" + " " * 39 + "  AB."
    assert hex_dump(bytes(range(65, 75)), per_line=8).splitlines()[1] == "00000008  49 4a" + " " * 18 + "  IJ"


async def test_string_text_json_and_hex(server) -> None:
    with server.connect() as conn:
        conn.set("plain", "hello world")
        conn.set("doc", json.dumps({"name": "alice", "tags": ["a", "b"]}))
        conn.set("blob", bytes(range(256)))
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        await open_key(pilot, app, b"plain")
        await wait_for(pilot, lambda: "hello world" in screen_text(app))
        assert "format: text (auto)" in screen_text(app)

        await open_key(pilot, app, b"doc")
        await wait_for(pilot, lambda: '"name": "alice"' in screen_text(app), what="pretty JSON")
        assert "format: json (auto)" in screen_text(app)
        await pilot.press("f")  # auto → text: the raw one-line JSON
        await wait_for(pilot, lambda: '{"name": "alice", "tags"' in screen_text(app))

        await open_key(pilot, app, b"blob")
        await wait_for(
            pilot, lambda: "00000000  00 01 02 03 04 05 06 07  ........" in screen_text(app), what="hex dump"
        )
        assert "format: hex (auto)" in screen_text(app) and "256 B" in screen_text(app)


async def test_big_string_is_fetched_in_getrange_chunks(server) -> None:
    size = CHUNK * 2 + 100
    with server.connect() as conn:
        conn.set("big", b"x" * size)
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        await open_key(pilot, app, b"big")
        viewer = string_viewer(app)
        await wait_for(pilot, lambda: viewer.loaded)
        assert len(viewer.data) == CHUNK and viewer.total == size and not viewer.complete
        await wait_for(pilot, lambda: "m loads more" in screen_text(app))
        await pilot.press("m")
        await wait_for(pilot, lambda: len(viewer.data) == 2 * CHUNK)
        await pilot.press("m")
        await wait_for(pilot, lambda: viewer.complete and viewer.data == b"x" * size)


async def test_list_pages_with_indexes(server) -> None:
    with server.connect() as conn:
        conn.rpush("biglist", *[f"item-{i}" for i in range(PAGE * 3 + 7)])
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        await open_key(pilot, app, b"biglist")
        viewer = collection(app)
        await wait_for(pilot, lambda: viewer.pager is not None and len(viewer.pager.items) == PAGE)
        assert viewer.pager.items[5] == (5, b"item-5")
        await wait_for(pilot, lambda: f"{PAGE * 3 + 7:,} elements" in screen_text(app))
        viewer.table.focus()
        for _ in range(4):
            await pilot.press("end")
            await pilot.pause(0.1)
        await wait_for(pilot, lambda: viewer.pager.done and len(viewer.pager.items) == PAGE * 3 + 7)
        assert viewer.pager.items[-1] == (PAGE * 3 + 6, f"item-{PAGE * 3 + 6}".encode())


async def test_hash_set_and_zset_viewers(server) -> None:
    with server.connect() as conn:
        conn.hset("h", mapping={f"f{i}": f"v{i}" for i in range(1000)})  # above listpack size: HSCAN pages
        conn.sadd("s", *[f"m{i}" for i in range(300)])
        conn.zadd("z", {f"p{i}": i * 1.5 for i in range(250)})
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        await open_key(pilot, app, b"h")
        viewer = collection(app)
        await wait_for(pilot, lambda: viewer.pager and viewer.pager.items)
        assert 0 < len(viewer.pager.items) < 1000, "HSCAN loads one page first"
        assert all(value == b"v" + field[1:] for field, value in viewer.pager.items)
        viewer.load_page()
        await wait_for(pilot, lambda: len(viewer.pager.items) > PAGE - 50)

        await open_key(pilot, app, b"s")
        viewer = collection(app)
        await wait_for(pilot, lambda: viewer.pager and viewer.pager.items)
        await wait_for(pilot, lambda: "300 elements" in screen_text(app))

        await open_key(pilot, app, b"z")
        viewer = collection(app)
        await wait_for(pilot, lambda: viewer.pager and len(viewer.pager.items) == PAGE)
        assert viewer.pager.items[3] == (3, b"p3", 4.5)
        await wait_for(pilot, lambda: "rank" in screen_text(app) and "4.5" in screen_text(app))


@pytest.mark.commands("XADD", "XLEN", "XRANGE")
async def test_stream_viewer(server) -> None:
    with server.connect() as conn:
        for i in range(3):
            conn.xadd("st", {"n": str(i)})
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        await open_key(pilot, app, b"st")
        viewer = collection(app)
        await wait_for(pilot, lambda: viewer.pager and len(viewer.pager.items) == 3)
        assert viewer.pager.done
        await wait_for(pilot, lambda: "n=2" in screen_text(app))


async def test_a_key_deleted_under_the_viewer_says_so(server) -> None:
    with server.connect() as conn:
        conn.set("gone", "x")
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        await open_key(pilot, app, b"gone")
        with server.connect() as conn:
            conn.delete("gone")
        app.value_view.reload()
        await wait_for(pilot, lambda: "does not exist" in screen_text(app))
