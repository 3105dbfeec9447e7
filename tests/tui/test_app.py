"""The app shell: header from INFO, database selector, command palette, themes, bottom container."""

from __future__ import annotations

import pytest
from textual.widgets import Footer
from tui_helpers import SIZE, key_rows, make_app, screen_text, wait_for

from redistui.app import ACTIONS, RedisTUI
from redistui.widgets.db_selector import DbSelector
from redistui.widgets.header import ServerHeader, keyspace_counts

pytestmark = pytest.mark.commands("SET", "SELECT")


def test_keyspace_counts_from_info() -> None:
    info = {"db0": {"keys": 3, "expires": 1}, "db12": {"keys": 7}, "redis_version": "7.0.15"}
    assert keyspace_counts(info) == {0: 3, 12: 7}


async def test_header_shows_server_address_db_and_counts(server) -> None:
    with server.connect() as conn:
        conn.set("a", "1")
        conn.set("b", "2")
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        header = app.query_one(ServerHeader)
        await wait_for(pilot, lambda: "keys 2" in str(header.summary()), what="INFO in the header")
        text = str(header.summary())
        assert f"127.0.0.1:{server.port}" in text and "db0" in text and "redis 7." in text
        assert "ops/s" in text and "mem " in text
        with server.connect() as conn:
            conn.set("c", "3")
        await wait_for(
            pilot, lambda: "keys 3" in str(header.summary()), timeout=3, what="refreshed every second"
        )


async def test_database_selector_switches_db_with_key_counts(server) -> None:
    with server.connect() as conn:
        conn.set("in-db0", "x")
    with server.connect(db=3) as conn:
        conn.set("in-db3", "x")
        conn.set("also-db3", "x")
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        selector = app.query_one(DbSelector)
        await wait_for(pilot, lambda: selector.counts.get(3) == 2, what="counts from INFO keyspace")
        await wait_for(pilot, lambda: "db0 (1 keys)" in screen_text(app))
        selector.value = 3
        await wait_for(pilot, lambda: key_rows(app) == ["also-db3", "in-db3"], what="db3 keys")
        assert app.client.db == 3
        await wait_for(pilot, lambda: "db3" in str(app.query_one(ServerHeader).summary()))


async def test_command_palette_lists_and_runs_explorer_actions(server) -> None:
    with server.connect() as conn:
        conn.set("ns:a", "1")
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: key_rows(app) == ["ns"])
        titles = [command.title for command in app.get_system_commands(app.screen)]
        for title in (
            "New key",
            "Delete key",
            "Set or remove TTL",
            "Toggle tree / flat list",
            "Enable live updates",
        ):
            assert title in titles
        await pilot.press("ctrl+p")
        await pilot.press(*"Toggle tree")
        await wait_for(pilot, lambda: "Group keys by delimiter" in screen_text(app), what="the palette's match")
        await pilot.press("enter")
        await wait_for(pilot, lambda: key_rows(app) == ["ns:a"], what="flat list via the palette")


def test_footer_bindings_come_from_the_one_action_table() -> None:
    bindings = [(b.key, b.action, b.description, b.show) for b in RedisTUI.BINDINGS]
    assert bindings == [(a.key, a.action, a.label, a.footer) for a in ACTIONS if a.key is not None]
    assert len({a.action for a in ACTIONS}) == len(ACTIONS), "an action is listed once"
    from redistui.screens.opening import DumpFileApp  # the explorer on a dump file adds the file actions

    for entry in ACTIONS:
        handler = DumpFileApp if entry.files_only else RedisTUI
        assert callable(getattr(handler, f"action_{entry.action}", None)), entry.action


async def test_palette_lists_every_titled_action_with_its_key(server) -> None:
    app = make_app(server.port)
    async with app.run_test(size=SIZE):
        ours = {c.title: c.help for c in app.get_system_commands(app.screen) if c.title in
                {a.title for a in ACTIONS}}
        assert set(ours) == {a.title for a in ACTIONS if a.title is not None and not a.files_only}
        assert ours["Delete key"] == "UNLINK the selected key (asks first) (del)"
        assert ours["Server dashboard"].endswith("(f2)") and ours["Command line"].endswith("(:)")
        assert ours["Set tree delimiter"] == "The separator namespaces are split on"


async def test_dark_and_light_themes(server) -> None:
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        assert app.current_theme.dark
        await pilot.press("ctrl+t")
        assert not app.current_theme.dark
        await pilot.press("ctrl+t")
        assert app.current_theme.dark


async def test_one_bottom_container_holds_the_command_area_and_the_footer(server) -> None:
    app = make_app(server.port)
    async with app.run_test(size=SIZE):
        bottom = app.query_one("#bottom")
        assert [child.id for child in bottom.children][0] == "command-area"
        assert isinstance(bottom.children[-1], Footer)
        assert bottom.region.bottom == SIZE[1]
