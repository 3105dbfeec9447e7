"""Live updates through keyspace notifications, and the TTL panel's countdowns and pins."""

from __future__ import annotations

import time

import pytest
from tui_helpers import (
    SIZE,
    key_rows,
    make_app,
    notified,
    open_key,
    record_notifications,
    screen_text,
    wait_for,
)

from redistui.widgets.ttl_panel import TTLPanel, format_countdown

pytestmark = pytest.mark.commands(
    "SET", "DEL", "RENAME", "PEXPIRE", "RPUSH", "HSET", "STRLEN", "GETRANGE", "LLEN", "LRANGE"
)


def test_countdown_format() -> None:
    assert format_countdown(3_723_004) == "01:02:03.004"
    assert format_countdown(90_061_000) == "1d 01:01:01.000"


async def test_offers_to_enable_notifications_then_follows_changes(server) -> None:
    with server.connect() as conn:
        conn.set("a", "1")
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        seen = record_notifications(app)
        await wait_for(pilot, lambda: notified(seen, "Keyspace notifications are off"), what="the offer")
        await wait_for(pilot, lambda: "live off" in screen_text(app))
        await pilot.press("ctrl+e")
        await wait_for(pilot, lambda: app.browser.live and "● live" in screen_text(app))
        with server.connect() as conn:
            assert "K" in conn.config_get("notify-keyspace-events")["notify-keyspace-events"]
        await pilot.pause(0.2)  # the listener subscribes

        with server.connect() as conn:
            start = time.monotonic()
            conn.set("b", "2")
            conn.rpush("c", "x")
            await wait_for(pilot, lambda: key_rows(app) == ["a", "b", "c"], timeout=2, what="new keys")
            assert time.monotonic() - start < 1.0, "new keys appear within a second"
            conn.delete("a")
            conn.rename("b", "renamed")
            await wait_for(pilot, lambda: key_rows(app) == ["c", "renamed"], timeout=2, what="del + rename")
            conn.set("short", "x", px=800)
            await wait_for(pilot, lambda: "short" in key_rows(app), timeout=2)
            await wait_for(pilot, lambda: "short" not in key_rows(app), timeout=3, what="expired key removed")


async def test_bundled_launch_enables_live_updates_itself(server) -> None:
    app = make_app(server.port, embedded=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.browser.live)
        await pilot.pause(0.2)
        with server.connect() as conn:
            conn.set("fresh", "1")
        await wait_for(pilot, lambda: key_rows(app) == ["fresh"], timeout=2)


async def test_live_updates_respect_the_pattern_and_type_filters(server) -> None:
    with server.connect() as conn:
        conn.config_set("notify-keyspace-events", "KA")
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.browser.live)
        app.browser.set_view(False)
        app.browser.set_pattern("user:*")
        app.browser.set_type_filter("hash")
        await pilot.pause(0.3)
        with server.connect() as conn:
            conn.hset("user:1", "f", "v")
            conn.set("user:2", "string, filtered out")
            conn.hset("order:1", "f", "v")
        await wait_for(pilot, lambda: key_rows(app) == ["user:1"], timeout=2)
        await pilot.pause(0.4)
        assert key_rows(app) == ["user:1"]


async def test_selected_key_counts_down_and_expires(server) -> None:
    with server.connect() as conn:
        conn.config_set("notify-keyspace-events", "KA")
        conn.set("soon", "x", px=4000)
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        panel = app.query_one(TTLPanel)
        await open_key(pilot, app, b"soon")
        await wait_for(pilot, lambda: panel.meta is not None and panel.meta.pttl > 0)
        first = panel.meta.remaining_ms()
        await wait_for(pilot, lambda: "expires in 00:00:0" in screen_text(app), what="a countdown under 10 s")
        shown = screen_text(app).split("expires in ")[1][:12]
        await wait_for(
            pilot, lambda: screen_text(app).split("expires in ")[1][:12] != shown, what="the next tick"
        )
        await pilot.pause(0.3)
        assert panel.meta is None or panel.meta.remaining_ms() < first, "it ticks down"
        assert " at 20" in screen_text(app), "absolute expiry time is shown"
        await wait_for(pilot, lambda: panel.expired, timeout=10, what="expired")
        await wait_for(pilot, lambda: "expired" in screen_text(app))


async def test_pinned_keys_sort_by_soonest_expiry_and_drop_when_expired(server) -> None:
    with server.connect() as conn:
        conn.config_set("notify-keyspace-events", "KA")
        conn.set("late", "x", ex=600)
        conn.set("early", "x", ex=300)
        conn.set("forever", "x")
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        panel = app.query_one(TTLPanel)
        for key in (b"forever", b"late", b"early"):
            await open_key(pilot, app, key)
            await pilot.press("p")
        await wait_for(pilot, lambda: all(meta is not None for meta in panel.pinned.values()))

        def pinned_order() -> list[str]:
            lines = screen_text(app).splitlines()
            return [name for line in lines for name in ("early", "late", "forever") if f"│ {name} " in line]

        await wait_for(pilot, lambda: pinned_order()[-3:] == ["early", "late", "forever"], what="sorted pins")
        with server.connect() as conn:
            conn.pexpire("early", 1500)  # another client shortens it: the event resyncs the countdown
        # Seen resynced, unless a loaded machine let the 1.5 s run out before this looked.
        await wait_for(pilot, lambda: b"early" not in panel.pinned or panel.pinned[b"early"].pttl <= 1500)
        await wait_for(pilot, lambda: b"early" not in panel.pinned, timeout=8, what="expired pin dropped")
        assert set(panel.pinned) == {b"late", b"forever"}
        await pilot.press("p")  # "early" is selected but gone: p does nothing harmful
        panel.toggle_pin(b"late")
        assert set(panel.pinned) >= {b"forever"} and b"late" not in panel.pinned


@pytest.mark.commands("FLUSHDB", "DBSIZE")
async def test_a_flush_from_another_client_empties_the_view(server) -> None:
    """FLUSHDB sends no keyspace events: the DBSIZE poll notices and the view is cleared."""
    with server.connect() as conn:
        conn.config_set("notify-keyspace-events", "KA")
        conn.mset({"a": "1", "b": "2", "c": "3"})
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.browser.live and app.browser.scan_done and len(app.browser.index) == 3)
        with server.connect() as conn:
            conn.flushdb()
        await wait_for(pilot, lambda: len(app.browser.index) == 0 and app.browser.scan_done, timeout=8)
        await wait_for(pilot, lambda: "no keys here yet" in screen_text(app))


@pytest.mark.commands("CLIENT")
async def test_a_gap_in_the_event_stream_rescans(server) -> None:
    """When the notification connection is cut (as for an output-buffer overflow), missed keys still appear."""
    with server.connect() as conn:
        conn.config_set("notify-keyspace-events", "KA")
        conn.set("before", "1")
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.browser.live and app.browser.scan_done and len(app.browser.index) == 1)
        await pilot.pause(0.3)
        with server.connect() as conn:
            assert conn.client_kill_filter(_type="pubsub") >= 1
            conn.set("missed:while:cut", "1")  # its event goes nowhere
        await wait_for(pilot, lambda: b"missed:while:cut" in app.browser.index, timeout=10)
        with server.connect() as conn:
            conn.set("after", "1")  # and the stream works again
        await wait_for(pilot, lambda: b"after" in app.browser.index, timeout=5)


@pytest.mark.commands("DBSIZE")
async def test_a_view_that_disagrees_with_dbsize_says_it_is_stale(server) -> None:
    with server.connect() as conn:
        conn.config_set("notify-keyspace-events", "KA")
        conn.mset({"a": "1", "b": "2"})
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.browser.live and app.browser.scan_done and len(app.browser.index) == 2)
        with server.connect() as conn:
            conn.config_set("notify-keyspace-events", "")  # writes the view cannot see
            conn.set("unseen", "1")
        await wait_for(pilot, lambda: app.browser.stale_note == "stale: the server has 3 keys, F5 rescans", timeout=10)
        assert "stale" in screen_text(app)
        with server.connect() as conn:
            conn.config_set("notify-keyspace-events", "KA")
        await pilot.press("f5")
        await wait_for(pilot, lambda: len(app.browser.index) == 3 and not app.browser.stale_note, timeout=8)
        assert "stale" not in screen_text(app)


def test_ttl_dialog_accepts_durations_and_dates() -> None:
    from datetime import datetime, timezone

    from redistui.widgets.ttl_panel import parse_ttl

    assert parse_ttl("") == parse_ttl("-1") == -1
    assert parse_ttl("90") == 90
    assert parse_ttl("90s") == 90
    assert parse_ttl("1h30m") == parse_ttl("1h 30m") == 5400
    assert parse_ttl("2d") == 172800 and parse_ttl("1w") == 604800 and parse_ttl("1.5h") == 5400
    now = datetime(2030, 1, 1, 12, 0).astimezone()
    assert parse_ttl("2030-01-01 13:00", now=now.timestamp()) == 3600
    assert parse_ttl("2030-01-02", now=now.timestamp()) == 12 * 3600
    utc_noon = datetime(2030, 1, 1, 12, 0, tzinfo=timezone.utc).timestamp()
    assert parse_ttl("2030-01-01T12:00:10+00:00", now=utc_noon) == 10
    for bad in ("soon", "1x", "0s", "2020-01-01"):
        with pytest.raises(ValueError):
            parse_ttl(bad)
