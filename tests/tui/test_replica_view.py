"""The explorer on a replication pair (issue 18's explorer part): the header marks a replica read-only,
editing there is refused with a message that names the master, and the dashboard shows role, replicas,
offsets and lag. Run against a pair of redis-servers and a pair of bundled servers."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from conftest import SERVER_KINDS
from textual.widgets import Static
from tui_helpers import SIZE, make_app, notified, open_key, record_notifications, screen_text, wait_for

from redistui.screens.dialogs import FormDialog
from redistui.widgets.dashboard import DashboardScreen, replication_card
from tests.servers import ServerProcess, require_tool, server_process


def poll(condition, timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what or condition}"
        time.sleep(0.05)


@pytest.fixture(params=SERVER_KINDS)
def pair(request: pytest.FixtureRequest) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """A master and its replica, both of one kind, the replica in sync with one key copied."""
    if request.param == "redis-server":
        require_tool("redis-server")
    master, replica = server_process(request.param), server_process(request.param)
    master.start()
    try:
        replica.start()
        try:
            with master.client() as m, replica.client() as r:
                m.set("greeting", "hello")
                r.execute_command("REPLICAOF", "127.0.0.1", master.port)
                poll(lambda: r.info("replication").get("master_link_status") == "up", what="link up")
                poll(lambda: r.get("greeting") == b"hello", what="the key replicated")
            yield master, replica
        finally:
            replica.stop()
    finally:
        master.stop()


async def test_replica_is_marked_read_only_and_edits_are_refused(pair) -> None:
    master, replica = pair
    app = make_app(replica.port)
    async with app.run_test(size=SIZE) as pilot:
        seen = record_notifications(app)
        marker = f"replica of 127.0.0.1:{master.port} · read-only"
        await wait_for(pilot, lambda: marker in screen_text(app).splitlines()[0], what="the header's replica mark")
        await open_key(pilot, app, b"greeting")
        await pilot.press("n")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, FormDialog)  # no New-key dialog on a read-only replica
        assert notified(seen, f"read-only replica of 127.0.0.1:{master.port}", "warning")
        await pilot.press("e")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, FormDialog)
        with replica.client() as r:
            assert r.get("greeting") == b"hello"  # nothing was written


async def test_dashboard_shows_role_replicas_offsets_and_lag(pair) -> None:
    master, replica = pair
    app = make_app(master.port)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "master · 1 replica" in screen_text(app).splitlines()[0], what="master mark")
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        card = app.screen.query_one("#card-replication", Static)
        await wait_for(
            pilot,
            lambda: f"127.0.0.1:{replica.port}" in screen_text(app) and "online" in screen_text(app),
            what="the replica's row on the dashboard",
        )
        text = screen_text(app)
        assert "B behind" in text and "lag" in text
        assert card.border_title == "Replication"

    # The replica's side of the card, from its INFO as redis-py parses it.
    with replica.client() as r:
        info = r.info("all")
    rows = card_rows(replication_card(info))
    assert rows["role"] == "replica (read-only)"
    assert rows["master"] == f"127.0.0.1:{master.port}"
    assert rows["link"] == "up"
    assert rows["offset"] == str(info["slave_repl_offset"])


def card_rows(table) -> dict[str, str]:
    labels, values = (list(column.cells) for column in table.columns)
    return {str(label): str(value) for label, value in zip(labels, values, strict=True)}
