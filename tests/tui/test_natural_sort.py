"""Natural key order (issue 17 item 9): digit runs compare as numbers, for leaves and namespace folders."""

from __future__ import annotations

import random

import pytest
from tui_helpers import SIZE, key_rows, make_app, screen_text, wait_for, wait_rows

from redistui.key_index import KeyIndex, natural_key, natural_name

pytestmark = pytest.mark.commands("SET")


def test_natural_key_orders_numbers_by_value_and_round_trips_any_bytes() -> None:
    names = [b"user:1000", b"user:2", b"user:10", b"user:1", b"user:02", b"user:", b"user:a", b"user:\xff\x00",
             b"user:0", b"user:00", b"9", b"a", b"", b"user:10:x", b"user:9:x", b"\x80\x81", b"-", b"x0y0"]
    assert sorted(names, key=natural_key) == [
        b"", b"-", b"9", b"a", b"user:", b"user:0", b"user:00", b"user:1", b"user:2", b"user:02",
        b"user:9:x", b"user:10", b"user:10:x", b"user:1000", b"user:a", b"user:\xff\x00", b"x0y0", b"\x80\x81",
    ]
    rng = random.Random(17)
    alphabet = b"0123456789:ab\x00\xff0"
    for _ in range(2000):
        name = bytes(rng.choice(alphabet) for _ in range(rng.randrange(12)))
        assert natural_name(natural_key(name)) == name
        # a namespace (prefix ending in a non-digit) stays a prefix: folders are still byte ranges
        cut = name.rfind(b":")
        if cut >= 0:
            assert natural_key(name).startswith(natural_key(name[: cut + 1]))


def test_index_switches_order_once_and_keeps_folders_whole() -> None:
    index = KeyIndex()
    index.add([b"user:1000", b"user:2", b"user:10", b"user:1", b"ns10:a", b"ns2:b", b"ns2:c"])
    assert [row.label for row in index.rows()] == [b"ns10", b"ns2", b"user"]
    index.set_natural(True)
    assert [row.label for row in index.rows()] == [b"ns2", b"ns10", b"user"]
    index.toggle(b"user:")
    index.toggle(b"ns2:")
    assert [row.key for row in index.rows()] == [
        b"ns2:", b"ns2:b", b"ns2:c", b"ns10:", b"user:", b"user:1", b"user:2", b"user:10", b"user:1000"
    ]
    index.add([b"user:3"])  # incremental insert in natural order
    assert index.row_of(b"user:3") == 7 and b"user:3" in index and index.count_prefix(b"user:") == 5
    index.set_natural(False)  # the expanded folders survive the switch back
    assert [row.key for row in index.rows()][4:] == [b"user:", b"user:1", b"user:10", b"user:1000", b"user:2",
                                                   b"user:3"]
    index.set_natural(True)
    index.set_mode(True, b"1")  # a digit delimiter would split digit runs: plain byte order then
    assert [row.label for row in index.rows()][:3] == [b"ns", b"ns2:b", b"ns2:c"]
    assert list(index.keys)[:3] == [b"ns10:a", b"ns2:b", b"ns2:c"]


async def test_natural_sort_action_orders_keys_as_numbers(server) -> None:
    with server.connect() as conn:
        for name in ("user:1", "user:2", "user:10", "user:1000"):
            conn.set(name, "x")
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: key_rows(app) == ["user"])
        app.browser.set_view(False)
        await wait_rows(pilot, app, ["user:1", "user:10", "user:1000", "user:2"])
        assert "Natural sort order" in [c.title for c in app.get_system_commands(app.screen)]
        await pilot.press("ctrl+p")
        await pilot.press(*"Natural sort")
        await wait_for(pilot, lambda: "digit runs" in screen_text(app), what="the palette's match")
        await pilot.press("enter")
        await wait_rows(pilot, app, ["user:1", "user:2", "user:10", "user:1000"])
        app.browser.set_view(True)
        app.browser.select_key(b"user:10")
        await wait_rows(pilot, app, ["user", "1", "2", "10", "1000"])
        app.action_toggle_natural()
        await wait_rows(pilot, app, ["user", "1", "10", "1000", "2"])
