"""Losing the server: a banner, reconnection with backoff, and everything reloaded after."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conftest import require_commands
from textual.widgets import Static
from tui_helpers import SIZE, key_rows, make_app, notified, record_notifications, screen_text, wait_for

from redistui.widgets.header import ConnectionBanner
from tests.servers import ServerProcess, server_process


@pytest.fixture(params=["redis-server", "bundled"])
def own_server(request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    """A server of our own: this test kills it and starts it again on the same port."""
    request.getfixturevalue("redis_server" if request.param == "redis-server" else "bundled_server")
    process = server_process(request.param)
    process.start()
    try:
        require_commands(process, request)
        yield process
    finally:
        process.stop()


async def test_connection_loss_shows_a_banner_and_reconnects(own_server: ServerProcess) -> None:
    with own_server.connect() as conn:
        conn.set("before", "1")
    app = make_app(own_server.port)
    async with app.run_test(size=SIZE) as pilot:
        seen = record_notifications(app)
        await wait_for(pilot, lambda: key_rows(app) == ["before"])
        banner = app.query_one(ConnectionBanner)
        assert not banner.display or not banner.has_class("-visible")

        own_server.stop()
        await wait_for(pilot, lambda: banner.has_class("-visible"), timeout=8, what="banner")
        await wait_for(pilot, lambda: "Connection lost" in screen_text(app))
        assert app.is_running

        own_server.start()
        with own_server.connect() as conn:
            conn.set("after", "2")
        await wait_for(pilot, lambda: not banner.has_class("-visible"), timeout=15, what="reconnected")
        await wait_for(pilot, lambda: key_rows(app) == ["after"], timeout=5, what="rescan after reconnect")
        assert notified(seen, "Reconnected")
        assert "keys 1" in str(app.query_one("#header", Static).render())
