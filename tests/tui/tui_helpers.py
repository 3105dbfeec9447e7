"""Helpers for Pilot tests: open the explorer on a server and wait for conditions."""

from __future__ import annotations

import time
from collections.abc import Callable

from textual.pilot import Pilot

from redistui.app import RedisTUI
from redistui.client import ConnectionSpec
from redistui.widgets.collection_viewer import CollectionViewer
from redistui.widgets.key_list import KeyList
from redistui.widgets.string_viewer import StringViewer

SIZE = (120, 40)


def make_app(port: int, db: int = 0, embedded: bool = False) -> RedisTUI:
    return RedisTUI(ConnectionSpec(port=port, db=db), embedded=embedded)


async def wait_for(
    pilot: Pilot, condition: Callable[[], object], timeout: float = 10.0, what: str = ""
) -> None:
    """Let the app run until ``condition()`` is truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await pilot.pause(0.02)


def screen_text(app: RedisTUI) -> str:
    """Everything drawn on screen, as plain text lines."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def key_rows(app: RedisTUI) -> list[str]:
    """The labels of all rows of the key list (leaf keys and namespace labels), as text."""
    index = app.query_one(KeyList).index
    return [index.row(i).label.decode(errors="replace") for i in range(index.row_count)]


async def wait_rows(pilot: Pilot, app: RedisTUI, expected: list[str], timeout: float = 5.0) -> None:
    await wait_for(
        pilot, lambda: key_rows(app) == expected, timeout, f"rows == {expected} (have {key_rows(app)})"
    )


def record_notifications(app: RedisTUI) -> list[tuple[str, str]]:
    """Keep every ``(message, severity)`` the app notifies, even in headless tests."""
    seen: list[tuple[str, str]] = []
    original = app.notify

    def notify(message: str, *args: object, **kwargs: object) -> None:
        seen.append((str(message), str(kwargs.get("severity", "information"))))
        original(message, *args, **kwargs)  # type: ignore[arg-type]

    app.notify = notify  # type: ignore[method-assign]
    return seen


def notified(seen: list[tuple[str, str]], text: str, severity: str | None = None) -> bool:
    return any(text in message and (severity is None or severity == level) for message, level in seen)


async def open_key(pilot, app, key: bytes) -> None:
    await wait_for(pilot, lambda: key in app.browser.index, what=f"{key!r} loaded")
    assert app.browser.select_key(key)
    await wait_for(
        pilot, lambda: app.value_view.key == key and getattr(app.value_view.viewer, "key", None) == key
    )


def string_viewer(app) -> StringViewer:
    viewer = app.value_view.viewer
    assert isinstance(viewer, StringViewer)
    return viewer


def collection(app) -> CollectionViewer:
    viewer = app.value_view.viewer
    assert isinstance(viewer, CollectionViewer)
    return viewer
