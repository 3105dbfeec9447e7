"""The live pub/sub pane: subscribe to channels and patterns, watch messages, publish.

Built to keep up with floods. One async worker reads the subscription connection and
only appends to a plain list; a timer (every `flush_interval`, 0.1 s) moves that batch
into a capped buffer, updates the rate, and refreshes the view once. The view is a
Line-API `ScrollView` that draws just the visible rows, so 10,000 messages a second
cost a few renders a second. When the buffer is full the oldest rows leave it and a
"N dropped from view" counter says so.

Subscribe box syntax: words separated by spaces; a word with glob characters (`*?[`)
is a pattern (PSUBSCRIBE), `s:name` is a shard channel (SSUBSCRIBE), `-name` unsubscribes,
and `@keyspace` (or `@keyspace:3` for one database) watches keyspace events, which are
just the patterns `__keyspace@<db>__:*` and `__keyevent@<db>__:*`.
"""

from __future__ import annotations

import asyncio
import json
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Input, Static

from redistui.formatting import printable

__all__ = ["MessageView", "PubSubMessage", "PubSubPane", "channel_colour", "classify_targets"]

SLICE = 0.008  # longest stretch the listener reads before letting the UI run

PALETTE = [
    "#5fafff",
    "#87d787",
    "#ffaf5f",
    "#d787d7",
    "#5fd7d7",
    "#d7d75f",
    "#ff8787",
    "#afafff",
    "#87ffaf",
    "#ffd787",
]


def channel_colour(channel: bytes) -> str:
    """A stable colour per channel name."""
    return PALETTE[zlib.crc32(channel) % len(PALETTE)]


def classify_targets(text: str) -> dict[str, list[str]]:
    """Split the subscribe box into channels, patterns, shard channels and removals."""
    found: dict[str, list[str]] = {"channels": [], "patterns": [], "shard": [], "remove": [], "keyspace": []}
    for word in text.split():
        if word == "@keyspace" or word.startswith("@keyspace:"):
            found["keyspace"].append(word.partition(":")[2] or "*")
        elif word.startswith("-") and len(word) > 1:
            found["remove"].append(word[1:])
        elif word.startswith("s:") and len(word) > 2:
            found["shard"].append(word[2:])
        elif any(c in word for c in "*?["):
            found["patterns"].append(word)
        else:
            found["channels"].append(word)
    return found


def _text(value: Any) -> str:
    """A channel, pattern or message as safe text (control bytes escaped)."""
    return printable(value if isinstance(value, bytes) else str(value))


@dataclass(slots=True)
class PubSubMessage:
    """One received message."""

    at: float
    channel: bytes
    data: bytes
    pattern: bytes | None = None
    kind: str = "message"

    def line(self) -> str:
        """The searchable text of the row."""
        pattern = f" [{_text(self.pattern)}]" if self.pattern else ""
        return f"{_text(self.channel)}{pattern} {_text(self.data)}"


class MessageView(ScrollView, can_focus=True):
    """Draws only the visible messages (Line API)."""

    DEFAULT_CSS = """
    MessageView {
        height: 1fr;
        background: $surface;
        overflow-x: hidden;
        scrollbar-size-vertical: 1;
    }
    """

    class Picked(Message):
        def __init__(self, message: PubSubMessage) -> None:
            super().__init__()
            self.message = message

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: list[PubSubMessage] = []
        self.newest_first = False

    def show(self, rows: list[PubSubMessage]) -> None:
        follow = not self.newest_first and self.scroll_offset.y >= self.max_scroll_y - 1
        self.rows = rows
        size = Size(self.scrollable_content_region.width, len(rows))
        if size != self.virtual_size:  # only the scroll bar changes: no layout pass of the whole screen
            self.set_reactive(ScrollView.virtual_size, size)
            self._scroll_update(size)
        if follow:  # stay at the newest row once the new size is laid out
            self.call_after_refresh(self.scroll_end, animate=False, immediate=True)
        self.refresh()

    def row_at(self, y: int) -> PubSubMessage | None:
        index = self.scroll_offset.y + y
        if not 0 <= index < len(self.rows):
            return None
        return self.rows[len(self.rows) - 1 - index] if self.newest_first else self.rows[index]

    def render_line(self, y: int) -> Strip:
        message = self.row_at(y)
        width = self.scrollable_content_region.width
        base = self.rich_style  # the theme's text and background: readable in light mode as in dark
        if message is None:
            return Strip.blank(width, base)
        stamp = (
            time.strftime("%H:%M:%S", time.localtime(message.at)) + f".{int(message.at * 1000) % 1000:03d}"
        )
        colour = channel_colour(message.channel)
        segments = [
            Segment(stamp + " ", base + Style(color="grey50")),
            Segment(_text(message.channel) + " ", base + Style(color=colour, bold=True)),
        ]
        if message.pattern:  # separators end segments: SVG exports drop leading spaces
            segments.append(Segment(f"[{_text(message.pattern)}] ", base + Style(color=colour, dim=True)))
        segments.append(Segment(_text(message.data), base))
        return Strip(segments).crop(0, width).extend_cell_length(width, base)

    def on_click(self, event: Click) -> None:
        message = self.row_at(event.y)
        if message is not None:
            self.post_message(self.Picked(message))


class PubSubPane(Vertical):
    """Subscriptions, live messages, rate, filter, pause, publish, and the server's channels."""

    DEFAULT_CSS = """
    PubSubPane {
        height: 16;
        border-top: solid $primary 30%;
    }
    PubSubPane.-hidden {
        display: none;
    }
    PubSubPane #ps-bar, PubSubPane #ps-publish {
        height: 1;
    }
    PubSubPane Input {
        border: none;
        height: 1;
        padding: 0 1;
        width: 1fr;
    }
    PubSubPane #ps-status {
        height: 1;
        padding: 0 1;
        color: $text-muted;
    }
    PubSubPane #ps-body {
        height: 1fr;
    }
    PubSubPane #ps-side {
        width: 30;
        padding: 0 1;
        border-left: solid $primary 20%;
        overflow-y: auto;
    }
    PubSubPane #ps-detail {
        height: auto;
        max-height: 8;
        display: none;
        padding: 0 1;
        overflow-y: auto;
    }
    PubSubPane #ps-detail.-shown {
        display: block;
    }
    """

    BINDINGS = [
        Binding("ctrl+o", "toggle_pause", "Pause/resume"),
        Binding("ctrl+l", "clear", "Clear"),
        Binding("ctrl+n", "toggle_order", "Newest first/last"),
    ]

    class Subscribed(Message):
        """The set of subscriptions changed."""

        def __init__(self, channels: set[bytes], patterns: set[bytes], shard: set[bytes]) -> None:
            super().__init__()
            self.channels, self.patterns, self.shard = channels, patterns, shard

    def __init__(
        self,
        spec: Any,
        capacity: int = 5000,
        flush_interval: float = 0.1,
        channels_interval: float = 2.0,
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.spec = spec
        self.capacity = capacity
        self.flush_interval = flush_interval
        self.channels_interval = channels_interval
        self.incoming: list[PubSubMessage] = []
        self.buffer: list[PubSubMessage] = []
        self.held: list[PubSubMessage] = []  # arrived while paused
        self.dropped = 0
        self.total = 0
        self.paused = False
        self.filter_text = ""
        self.rate = 0.0
        self._rate_window: list[tuple[float, int]] = []
        self.channels: set[bytes] = set()
        self.patterns: set[bytes] = set()
        self.shard: set[bytes] = set()
        self.confirmed: set[bytes] = set()  # subscriptions the server has acknowledged
        self.server_channels: list[tuple[bytes, int]] = []
        self.notice = ""
        self._client: Any = None
        self._admin: Any = None
        self._pubsub: Any = None
        self._wake = asyncio.Event()
        # kept as attributes: workers may report while the pane is being torn down
        self._status = Static("", id="ps-status")
        self._status_text = ""
        self._side_text = ""
        self._side = Static("", id="ps-side")
        self._view = MessageView(id="ps-view")

    def compose(self) -> ComposeResult:
        with Horizontal(id="ps-bar"):
            yield Input(placeholder="subscribe: news orders.* s:shard @keyspace -unsub", id="ps-subscribe")
            yield Input(placeholder="filter messages", id="ps-filter")
        yield self._status
        with Horizontal(id="ps-body"):
            yield self._view
            yield self._side
        yield Static("", id="ps-detail")
        with Horizontal(id="ps-publish"):
            yield Input(placeholder="publish to channel", id="ps-channel")
            yield Input(placeholder="message (Enter publishes)", id="ps-payload")

    @property
    def view(self) -> MessageView:
        return self._view

    def on_mount(self) -> None:
        self.border_title = "Pub/Sub"
        self._client = self.spec.connect()
        self._admin = self.spec.connect()
        self._pubsub = self._client.pubsub()
        self.set_interval(self.flush_interval, self.flush)
        self.set_interval(self.channels_interval, self.refresh_channels)
        self.listen()
        self.refresh_channels()
        self._update_status()

    async def on_unmount(self) -> None:
        for closer in (getattr(self._pubsub, "aclose", None), getattr(self._client, "aclose", None)):
            if closer is not None:
                try:
                    await closer()
                except Exception:  # noqa: BLE001 - shutting down
                    pass
        if self._admin is not None:
            try:
                await self._admin.aclose()
            except Exception:  # noqa: BLE001
                pass

    # -- subscriptions -------------------------------------------------------------------

    async def subscribe(
        self, channels: Sequence[str] = (), patterns: Sequence[str] = (), shard: Sequence[str] = ()
    ) -> None:
        """Add subscriptions (any mix); the listener picks them up at once."""
        try:
            if channels:
                await self._pubsub.subscribe(*channels)
                self.channels.update(c.encode() for c in channels)
            if patterns:
                await self._pubsub.psubscribe(*patterns)
                self.patterns.update(p.encode() for p in patterns)
            if shard:
                await self._pubsub.ssubscribe(*shard)
                self.shard.update(s.encode() for s in shard)
        except Exception as exc:  # noqa: BLE001 - shown, never raised into the UI
            self.notice = f"subscribe failed: {exc}"
        self._wake.set()
        self._subscriptions_changed()

    async def unsubscribe(self, names: list[str]) -> None:
        for name in names:
            raw = name.encode()
            try:
                if raw in self.channels:
                    await self._pubsub.unsubscribe(name)
                    self.channels.discard(raw)
                elif raw in self.patterns:
                    await self._pubsub.punsubscribe(name)
                    self.patterns.discard(raw)
                elif raw in self.shard:
                    await self._pubsub.sunsubscribe(name)
                    self.shard.discard(raw)
            except Exception as exc:  # noqa: BLE001
                self.notice = f"unsubscribe failed: {exc}"
        self._subscriptions_changed()

    async def subscribe_command(self, args: list[bytes]) -> None:
        """Run a SUBSCRIBE/PSUBSCRIBE/SSUBSCRIBE typed on the command line."""
        name, rest = args[0].decode().upper(), [a.decode(errors="replace") for a in args[1:]]
        if name == "SUBSCRIBE":
            await self.subscribe(channels=rest)
        elif name == "PSUBSCRIBE":
            await self.subscribe(patterns=rest)
        elif name == "SSUBSCRIBE":
            await self.subscribe(shard=rest)

    async def watch_keyspace(self, db: int | str | None = None) -> None:
        """Watch keyspace and keyevent notifications of a database (all by default)."""
        which = "*" if db is None else str(db)
        await self.subscribe(patterns=[f"__keyspace@{which}__:*", f"__keyevent@{which}__:*"])
        try:
            flags = await self._admin.config_get("notify-keyspace-events")
            value = next(iter(flags.values()), b"") if flags else b""
            if not value:
                self.notice = (
                    "keyspace notifications are off (CONFIG SET notify-keyspace-events KEA turns them on)"
                )
        except Exception:  # noqa: BLE001
            pass

    def _subscriptions_changed(self) -> None:
        self._update_side()
        self._update_status()
        self.post_message(self.Subscribed(set(self.channels), set(self.patterns), set(self.shard)))

    @work(exclusive=True, group="pubsub-listen")
    async def listen(self) -> None:
        """Read messages forever; only append (the timer renders).

        Buffered messages are read without suspending, so in a flood the loop would
        starve the UI: every `SLICE` seconds of reading, it yields once."""
        slice_start = time.monotonic()
        while True:
            if time.monotonic() - slice_start > SLICE:
                await asyncio.sleep(0)
                slice_start = time.monotonic()
            if not (self.channels or self.patterns or self.shard):
                self._wake.clear()
                await self._wake.wait()
                continue
            try:
                message = await self._pubsub.get_message(timeout=0.5)
            except Exception as exc:  # noqa: BLE001 - connection trouble: report and retry
                self.notice = f"connection: {exc}"
                await asyncio.sleep(1.0)
                continue
            if message is None:
                continue
            kind = _text(message.get("type"))
            if kind in ("message", "pmessage", "smessage"):
                pattern = message.get("pattern") if kind == "pmessage" else None
                channel, data = message.get("channel") or b"", message.get("data")
                data = data if isinstance(data, bytes) else str(data).encode()
                self.incoming.append(PubSubMessage(time.time(), channel, data, pattern, kind))
            elif kind in ("subscribe", "psubscribe", "ssubscribe"):
                self.confirmed.add(message.get("channel") or b"")
            elif kind in ("unsubscribe", "punsubscribe", "sunsubscribe"):
                self.confirmed.discard(message.get("channel") or b"")

    # -- batching and rendering ------------------------------------------------------------

    def flush(self) -> None:
        """Move the arrived batch into the buffer and render once."""
        batch, self.incoming = self.incoming, []
        now = time.monotonic()
        self._rate_window.append((now, len(batch)))
        while self._rate_window and now - self._rate_window[0][0] > 1.0:
            self._rate_window.pop(0)
        span = max(now - self._rate_window[0][0], self.flush_interval) if self._rate_window else 1.0
        self.rate = sum(n for _, n in self._rate_window) / span if len(self._rate_window) > 1 else 0.0
        self.total += len(batch)
        if self.paused:
            self.held.extend(batch)
            if len(self.held) > self.capacity:
                self.dropped += len(self.held) - self.capacity
                del self.held[: len(self.held) - self.capacity]
            if batch:
                self._update_status()
            return
        if not batch and not self._dirty:
            self._update_status()
            return
        self.buffer.extend(batch)
        if len(self.buffer) > self.capacity:
            self.dropped += len(self.buffer) - self.capacity
            del self.buffer[: len(self.buffer) - self.capacity]
        self._render_rows()

    _dirty = False

    def _render_rows(self) -> None:
        self._dirty = False
        rows = self.buffer
        if self.filter_text:
            needle = self.filter_text.lower()
            rows = [m for m in rows if needle in m.line().lower()]
        self.view.show(rows)
        self._update_status()

    def _update_status(self) -> None:
        state = "⏸ paused" if self.paused else "● live"
        parts = [
            state,
            f"{self.rate:,.0f} msg/s",
            f"{len(self.view.rows):,} shown",
            f"{self.total:,} received",
        ]
        if self.dropped:
            parts.append(f"{self.dropped:,} dropped from view")
        if self.held:
            parts.append(f"{len(self.held):,} held")
        parts.append("^O pause ^L clear ^N order")
        if self.notice:
            parts.append(printable(self.notice))
        status = " · ".join(parts)
        if status != self._status_text:  # each update redraws; the line's size is fixed: no layout pass
            self._status_text = status
            self._status.update(Text(status, no_wrap=True, overflow="ellipsis"), layout=False)

    def _update_side(self) -> None:
        text = Text()
        text.append("subscribed\n", style="bold")
        for label, names in (("", self.channels), ("pattern ", self.patterns), ("shard ", self.shard)):
            for name in sorted(names):
                text.append(f" {label}", style="dim")
                text.append(_text(name) + "\n", style=channel_colour(name))
        text.append("server channels\n", style="bold")
        for name, subscribers in self.server_channels[:50]:
            text.append(f" {_text(name)} ", style=channel_colour(name))
            text.append(f"({subscribers})\n", style="dim")
        if text.plain != self._side_text:  # unchanged lists every 2 s would lay the screen out again
            self._side_text = text.plain
            self._side.update(text)

    @work(exclusive=True, group="pubsub-channels")
    async def refresh_channels(self) -> None:
        """PUBSUB CHANNELS and NUMSUB, for the side list."""
        try:
            names = sorted(await self._admin.execute_command("PUBSUB", "CHANNELS"))[:200]
            counts = await self._admin.execute_command("PUBSUB", "NUMSUB", *names) if names else []
            pairs = list(zip(counts[::2], counts[1::2], strict=False)) if isinstance(counts, list) else []
            self.server_channels = [(n, int(c)) for n, c in pairs]
        except Exception:  # noqa: BLE001 - the list just stays as it was
            return
        self._update_side()

    # -- actions ---------------------------------------------------------------------------

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        if not self.paused and self.held:
            self.incoming[:0] = self.held
            self.held = []
        self._update_status()

    def action_clear(self) -> None:
        self.buffer = []
        self.held = []
        self.dropped = 0
        self._render_rows()

    def action_toggle_order(self) -> None:
        self.view.newest_first = not self.view.newest_first
        self.view.scroll_home(animate=False)
        self._render_rows()

    @on(Input.Submitted, "#ps-subscribe")
    async def _subscribe_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        targets = classify_targets(event.value)
        if targets["remove"]:
            await self.unsubscribe(targets["remove"])
        for db in targets["keyspace"]:
            await self.watch_keyspace(db)
        await self.subscribe(targets["channels"], targets["patterns"], targets["shard"])
        event.input.value = ""

    @on(Input.Changed, "#ps-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.filter_text = event.value
        self._render_rows()

    @on(Input.Submitted, "#ps-payload")
    @on(Input.Submitted, "#ps-channel")
    async def _publish_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        channel = self.query_one("#ps-channel", Input).value.strip()
        payload = self.query_one("#ps-payload", Input)
        if not channel:
            self.query_one("#ps-channel", Input).focus()
            return
        if event.input.id == "ps-channel":
            payload.focus()
            return
        await self.publish(channel, payload.value)
        payload.value = ""

    async def publish(self, channel: str, payload: str) -> int:
        """PUBLISH, reporting the receiver count in the status line."""
        try:
            receivers = int(await self._admin.publish(channel, payload))
            self.notice = f"published to {channel}: {receivers} receiver(s)"
        except Exception as exc:  # noqa: BLE001
            self.notice = f"publish failed: {exc}"
            receivers = 0
        self._update_status()
        return receivers

    @on(MessageView.Picked)
    def _picked(self, event: MessageView.Picked) -> None:
        """Show the clicked message whole, JSON pretty-printed when it parses."""
        detail = self.query_one("#ps-detail", Static)
        data = event.message.data
        try:
            pretty = json.dumps(json.loads(data), indent=2, ensure_ascii=False)
            body: Any = Text(printable(pretty, newlines=True), style="green")
        except ValueError:
            body = Text(printable(data, newlines=True))
        detail.update(Text.assemble((_text(event.message.channel) + "\n", "bold"), body))
        detail.add_class("-shown")
