"""Pilot tests of the pub/sub pane: live messages from another client, patterns, pause,
filter, publish, keyspace events, the server's channel list and a flood."""

from __future__ import annotations

import threading
import time

import pytest
from conftest_cmdline import *  # noqa: F403
from conftest_cmdline import ServerHandle, needs
from textual.app import App, ComposeResult
from textual.pilot import Pilot

from redistui.client import ConnectionSpec
from redistui.widgets.pubsub_pane import PubSubPane, channel_colour, classify_targets

pytestmark = needs("SUBSCRIBE", "PSUBSCRIBE", "PUBLISH", "PUBSUB", "CONFIG", "UNSUBSCRIBE")


class Host(App[None]):
    def __init__(self, port: int, capacity: int = 5000) -> None:
        super().__init__()
        self.spec = ConnectionSpec(port=port)
        self.capacity = capacity

    def compose(self) -> ComposeResult:
        yield PubSubPane(self.spec, capacity=self.capacity, channels_interval=0.3, id="pubsub")

    @property
    def pane(self) -> PubSubPane:
        return self.query_one(PubSubPane)


async def wait_for(pilot: Pilot, condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await pilot.pause(0.05)


async def subscribed(pilot: Pilot, pane: PubSubPane, *names: str) -> None:
    """Wait until the server has acknowledged these subscriptions."""
    await wait_for(pilot, lambda: {n.encode() for n in names} <= pane.confirmed)


def test_subscribe_box_syntax() -> None:
    assert classify_targets("news orders.* s:shard1 -old @keyspace:2") == {
        "channels": ["news"],
        "patterns": ["orders.*"],
        "shard": ["shard1"],
        "remove": ["old"],
        "keyspace": ["2"],
    }
    assert channel_colour(b"news") == channel_colour(b"news")


async def test_messages_from_another_client_appear(cmdline_server: ServerHandle) -> None:
    app = Host(cmdline_server.port)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.pane
        await pilot.click("#ps-subscribe")
        await pilot.press(*"news orders.*", "enter")
        await subscribed(pilot, pane, "news", "orders.*")
        publisher = cmdline_server.client()
        publisher.publish("news", "hello")
        publisher.publish("orders.42", '{"id": 42}')
        publisher.publish("ignored", "nope")
        await wait_for(pilot, lambda: len(pane.view.rows) == 2)
        first, second = pane.view.rows
        assert (first.channel, first.data, first.pattern) == (b"news", b"hello", None)
        assert (second.channel, second.pattern) == (b"orders.42", b"orders.*")
        assert "hello" in "".join(seg.text for seg in pane.view.render_line(0))
        # the server's channel list shows our subscription with its subscriber count
        await wait_for(pilot, lambda: (b"news", 1) in pane.server_channels)
        # clicking a JSON message shows it pretty-printed
        await pilot.click("#ps-view", offset=(5, 1))
        await pilot.pause()
        assert '"id": 42' in str(app.query_one("#ps-detail").render())
        # unsubscribe with -name
        await pilot.click("#ps-subscribe")
        await pilot.press(*"-news", "enter")
        await pilot.pause(0.1)
        assert pane.channels == set()
        publisher.close()


async def test_pause_resume_filter_and_clear(cmdline_server: ServerHandle) -> None:
    app = Host(cmdline_server.port)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.pane
        await pane.subscribe(channels=["a.sport", "a.tech"])
        await subscribed(pilot, pane, "a.sport", "a.tech")
        publisher = cmdline_server.client()
        publisher.publish("a.sport", "goal")
        await wait_for(pilot, lambda: len(pane.view.rows) == 1)
        pane.action_toggle_pause()
        for i in range(3):
            publisher.publish("a.tech", f"chip {i}")
        await wait_for(pilot, lambda: len(pane.held) == 3)
        assert len(pane.view.rows) == 1
        assert "paused" in str(app.query_one("#ps-status").render())
        pane.action_toggle_pause()
        await wait_for(pilot, lambda: len(pane.view.rows) == 4)
        await pilot.click("#ps-filter")
        await pilot.press(*"sport")
        await pilot.pause(0.1)
        assert [m.data for m in pane.view.rows] == [b"goal"]
        pane.action_toggle_order()
        pane.action_clear()
        assert pane.view.rows == []
        publisher.close()


async def test_publish_form(cmdline_server: ServerHandle) -> None:
    listener = cmdline_server.client().pubsub()
    listener.subscribe("inbox")
    listener.get_message(timeout=1)
    app = Host(cmdline_server.port)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.click("#ps-channel")
        await pilot.press(*"inbox", "enter", *"hi there", "enter")
        await pilot.pause(0.2)
        message = listener.get_message(timeout=2)
        assert message is not None and message["data"] == b"hi there"
        assert "1 receiver" in str(app.query_one("#ps-status").render())
    listener.close()


async def test_keyspace_events_can_be_watched(cmdline_server: ServerHandle) -> None:
    admin = cmdline_server.client()
    admin.config_set("notify-keyspace-events", "KEA")
    app = Host(cmdline_server.port)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            pane = app.pane
            await pilot.click("#ps-subscribe")
            await pilot.press(*"@keyspace:0", "enter")
            await subscribed(pilot, pane, "__keyspace@0__:*", "__keyevent@0__:*")
            admin.set("watched", "1")
            await wait_for(pilot, lambda: len(pane.view.rows) >= 2)
            seen = {(m.channel, m.data) for m in pane.view.rows}
            assert (b"__keyspace@0__:watched", b"set") in seen
            assert (b"__keyevent@0__:set", b"watched") in seen
    finally:
        admin.config_set("notify-keyspace-events", "")
        admin.close()


@pytest.mark.timeout(60)
async def test_flood_is_batched_and_capped(cmdline_server: ServerHandle) -> None:
    total = 20_000
    app = Host(cmdline_server.port, capacity=5000)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.pane
        renders = 0
        original = pane.view.show

        def counting_show(rows):  # type: ignore[no-untyped-def]
            nonlocal renders
            renders += 1
            original(rows)

        pane.view.show = counting_show  # type: ignore[method-assign]
        await pane.subscribe(channels=["flood"])
        await subscribed(pilot, pane, "flood")

        def publish() -> None:
            client = cmdline_server.client()
            pipe = client.pipeline(transaction=False)
            for i in range(total):
                pipe.publish("flood", f"message {i}")
            pipe.execute()
            client.close()

        started = time.monotonic()
        thread = threading.Thread(target=publish)
        thread.start()
        await wait_for(pilot, lambda: pane.total == total, timeout=40)
        elapsed = time.monotonic() - started
        thread.join()
        await pilot.pause(0.2)
        assert len(pane.buffer) == 5000
        assert pane.dropped == total - 5000
        assert pane.buffer[-1].data == f"message {total - 1}".encode()
        assert "dropped from view" in str(app.query_one("#ps-status").render())
        assert renders <= elapsed / pane.flush_interval + 5  # one render per batch, not per message


@needs("SSUBSCRIBE", "SPUBLISH")
async def test_shard_channels(cmdline_server: ServerHandle) -> None:
    app = Host(cmdline_server.port)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.pane
        await pilot.click("#ps-subscribe")
        await pilot.press(*"s:shardy", "enter")
        await subscribed(pilot, pane, "shardy")
        publisher = cmdline_server.client()
        publisher.execute_command("SPUBLISH", "shardy", "sharded hello")
        await wait_for(pilot, lambda: len(pane.view.rows) == 1)
        (message,) = pane.view.rows
        assert (message.channel, message.data, message.kind) == (b"shardy", b"sharded hello", "smessage")
        assert pane.shard == {b"shardy"}
        publisher.close()


async def test_message_log_is_drawn_in_the_theme_colours_in_light_mode(cmdline_server: ServerHandle) -> None:
    """Issue 17 item 9: every cell of the log (messages and empty rows) has the pane's background, so
    the log is not a dark block in the light theme."""
    app = Host(cmdline_server.port)
    async with app.run_test(size=(120, 40)) as pilot:
        app.theme = "textual-light"
        pane = app.pane
        await pilot.click("#ps-subscribe")
        await pilot.press(*"news", "enter")
        await subscribed(pilot, pane, "news")
        with cmdline_server.client() as publisher:
            publisher.publish("news", "hello")
        await wait_for(pilot, lambda: len(pane.view.rows) == 1)
        await pilot.pause(0.1)
        background = pane.view.rich_style.bgcolor
        assert background is not None and background.triplet is not None
        assert sum(background.triplet) > 3 * 200  # a light colour
        for y in (0, 5):  # a message row and an empty row
            segments = list(pane.view.render_line(y))
            assert segments and all(seg.style is not None and seg.style.bgcolor == background for seg in segments)
