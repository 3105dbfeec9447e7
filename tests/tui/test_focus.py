"""Focus (issue 17 item 6): panes take the focus when opened, Esc comes back to the key list, the footer
shows only the keys that act where the focus is, the focused pane is marked, and the footer fits 120
columns."""

from __future__ import annotations

import pytest
from textual.color import Color
from textual.widgets import DataTable, Footer
from tui_helpers import SIZE, collection, make_app, open_key, screen_text, wait_for

from redistui.screens.dialogs import FormDialog
from redistui.widgets.dashboard import DashboardScreen
from redistui.widgets.pubsub_pane import PubSubPane

pytestmark = pytest.mark.commands("SET", "HSET", "HSCAN", "HLEN", "STRLEN", "GETRANGE", "SUBSCRIBE")


def footer_keys(app) -> set[str]:
    """The actions the footer offers right now."""
    return {binding.binding.action for binding in app.screen.active_bindings.values() if binding.binding.show}


def footer_line(app) -> str:
    return screen_text(app).splitlines()[-1]


async def test_pubsub_pane_takes_focus_and_typing_stays_in_it(server) -> None:
    with server.connect() as conn:
        conn.set("k", "v")
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        await open_key(pilot, app, b"k")
        app.browser.key_list.focus()
        await pilot.press("f3")
        pane = app.query_one(PubSubPane)
        await wait_for(pilot, lambda: app.focused is not None and pane in app.focused.ancestors)
        await pilot.press(*"bench.*", "n", "e")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, FormDialog)  # no New-key or Edit dialog
        assert app.focused.value == "bench.*ne"
        assert "new_key" not in footer_keys(app) and "edit" not in footer_keys(app)
        await pilot.press("escape")
        assert app.focused is app.browser.key_list
        assert "new_key" in footer_keys(app) and "edit" in footer_keys(app)


async def test_escape_leaves_the_command_line_and_slash_is_typed_there(server) -> None:
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.2)
        await pilot.press("colon")
        line_input = app.query_one("#cmd-input")
        assert app.focused is line_input
        assert "focus_filter" not in footer_keys(app)  # "/" is typed here, so the footer does not offer it
        await pilot.press("slash")
        assert line_input.value == "/"
        await pilot.press("escape")
        assert app.focused is app.browser.key_list
        assert "focus_filter" in footer_keys(app)


async def test_explorer_keys_do_not_act_on_the_dashboard(server) -> None:
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.2)
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        assert not {"new_key", "focus_filter", "dashboard", "toggle_tree"} & footer_keys(app)
        await pilot.press("n", "f2")
        await pilot.pause(0.2)
        assert isinstance(app.screen, DashboardScreen) and len(app.screen_stack) == 2
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main_screen)


async def test_editing_keys_show_only_when_they_act(server) -> None:
    with server.connect() as conn:
        conn.set("s", "text")
        conn.hset("h", mapping={"f": "1"})
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: b"h" in app.browser.index)
        assert not {"edit", "add_element", "delete_key"} & footer_keys(app)  # nothing selected yet
        await open_key(pilot, app, b"s")
        await wait_for(pilot, lambda: "edit" in footer_keys(app))
        assert "add_element" not in footer_keys(app)  # a string has no elements
        await open_key(pilot, app, b"h")
        await wait_for(pilot, lambda: "add_element" in footer_keys(app))


async def test_focused_pane_is_marked(server) -> None:
    with server.connect() as conn:
        conn.hset("h", mapping={"f": "1"})
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        await open_key(pilot, app, b"h")
        app.browser.key_list.focus()
        await pilot.pause(0.1)
        browser_colour = app.browser.styles.border_top[1]
        value_colour = app.value_view.styles.border_top[1]
        assert browser_colour != value_colour
        collection(app).query_one(DataTable).focus()
        await wait_for(pilot, lambda: app.focused is not None and app.value_view in app.focused.ancestors)
        await pilot.pause(0.1)
        assert app.value_view.styles.border_top[1] == browser_colour
        assert app.browser.styles.border_top[1] == value_colour
        # marked in the theme's accent colour, not a shade of the resting border's
        accent = Color.parse(app.get_css_variables()["accent"])
        assert browser_colour.rgb == accent.rgb


async def test_footer_fits_120_columns_with_a_collection_open(server) -> None:
    with server.connect() as conn:
        conn.hset("h", mapping={"f": "1"})
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        await open_key(pilot, app, b"h")
        app.browser.key_list.focus()
        await wait_for(pilot, lambda: "add_element" in footer_keys(app))
        await wait_for(pilot, lambda: "Add" in footer_line(app) and "palette" in footer_line(app), what="footer drawn")
        line = footer_line(app)
        footer = app.query_one(Footer)
        assert footer.size.width == 120
        for label in ("Filter", "New", "Edit", "Add", "Remove", "Rename", "Delete", "TTL", "Server", "Pub/Sub",
                      "Scripts", "Analyse"):
            assert label in line, f"{label!r} cut from the footer: {line!r}"
        assert line.rstrip().endswith("palette")


async def test_shift_tab_from_the_value_goes_back_to_the_key_list(server) -> None:
    """Issue 17 item 9: shift+tab from a collection's table lands on the key list, not the type filter."""
    with server.connect() as conn:
        conn.hset("h", mapping={"f": "1"})
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        await open_key(pilot, app, b"h")
        await wait_for(pilot, lambda: collection(app).pager is not None and collection(app).pager.items)
        collection(app).query_one(DataTable).focus()
        await pilot.press("shift+tab")
        assert app.focused is app.browser.key_list
        await pilot.press("tab")
        assert isinstance(app.focused, DataTable)
