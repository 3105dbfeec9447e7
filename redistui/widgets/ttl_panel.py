"""The TTL panel: a live countdown for the selected key and for pinned keys.

Countdowns tick client-side from a PTTL reading (millisecond precision), are
resynced every few seconds and whenever a keyspace event touches the key, turn
yellow then red as expiry nears, and say "expired" once the server removes the
key. Pinned keys are listed soonest-expiry first and dropped when they expire.
"""

from __future__ import annotations

import math
import re
import time
from datetime import datetime

from redis.exceptions import RedisError
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from redistui.client import KeyMeta, client_of
from redistui.widgets.key_list import display

TICK = 0.25  # seconds between redraws
RESYNC = 5.0  # seconds between PTTL resyncs
GONE_EVENTS = {b"del", b"expired", b"evicted", b"rename_from", b"move_from"}


_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(?:\d+(?:\.\d+)?[smhdw])+")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
TTL_HINT = "90 (seconds), 90s, 1h30m, 2d, or a date/time such as 2026-12-31 23:00; empty or -1 removes the TTL"


def parse_ttl(text: str, now: float | None = None) -> int:
    """Seconds from now for a TTL typed by a person; -1 means no TTL. Raises ValueError.

    Accepts seconds (``90``), durations (``90s``, ``1h30m``, ``2d 4h``, ``1w``) and a local
    date or date-time (``2026-12-31``, ``2026-12-31 23:00``, ISO 8601 with a zone).
    """
    text = text.strip()
    if text in ("", "-1"):
        return -1
    if text.isdigit():
        return int(text)
    compact = text.replace(" ", "").lower()
    if _DURATION.fullmatch(compact):
        total = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in _DURATION_PART.findall(compact))
        if total <= 0:
            raise ValueError("a TTL must be longer than 0 seconds")
        return max(1, round(total))
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not a TTL: {text!r} (try {TTL_HINT})") from None
    if when.tzinfo is None:
        when = when.astimezone()  # a wall-clock time here
    seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds <= 0:
        raise ValueError(f"{text} has already passed")
    return max(1, math.ceil(seconds))


def format_countdown(ms: int) -> str:
    """``1d 02:03:04.005`` / ``02:03:04.005`` / ``03.005s`` style countdown."""
    seconds, millis = divmod(ms, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    clock = f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"
    return f"{days}d {clock}" if days else clock


def countdown_style(ms: int) -> str:
    if ms <= 0:
        return "bold red"
    if ms < 10_000:
        return "bold red"
    if ms < 60_000:
        return "bold yellow"
    return "bold green"


def expiry_time(ms: int) -> str:
    return datetime.fromtimestamp(time.time() + ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


class TTLPanel(Vertical):
    """The selected key's countdown, and pinned keys sorted by soonest expiry."""

    DEFAULT_CSS = """
    TTLPanel {
        #ttl-selected { height: 2; }
        #ttl-pinned { height: 1fr; }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.key: bytes | None = None
        self.meta: KeyMeta | None = None
        self.expired = False
        self.pinned: dict[bytes, KeyMeta | None] = {}
        self._resync_due = False
        self._drawn: tuple[object, ...] | None = None
        self._selected = Static("", id="ttl-selected")
        self._pinned = Static("", id="ttl-pinned")

    def compose(self) -> ComposeResult:
        yield self._selected
        yield self._pinned

    def on_mount(self) -> None:
        self.border_title = "TTL"
        self.set_interval(TICK, self.tick)
        self.set_interval(RESYNC, self.resync)
        self.tick()

    # -- what to watch ------------------------------------------------------------------

    def track(self, key: bytes | None, meta: KeyMeta | None = None) -> None:
        """Count down ``key`` (the selected key); ``meta`` is used until the resync answers."""
        self.key, self.meta, self.expired = key, meta, False
        self.resync()
        self.tick()

    def toggle_pin(self, key: bytes) -> bool:
        """Pin or unpin a key; returns True when it is now pinned."""
        if key in self.pinned:
            del self.pinned[key]
            self.tick()
            return False
        self.pinned[key] = self.meta if key == self.key else None
        self.resync()
        return True

    def keys_touched(self, events: dict[bytes, bytes]) -> None:
        """Apply keyspace events: drop expired pins, mark the selected key gone, resync the rest."""
        touched = False
        for key, event in events.items():
            if event in GONE_EVENTS:
                if key in self.pinned:
                    del self.pinned[key]
                    if event == b"expired":
                        self.notify(f"{display(key)} expired", title="TTL")
                if key == self.key:
                    self.expired, self.meta = True, None
            elif key == self.key or key in self.pinned:
                touched = True
        if touched:
            self.resync()
        self.tick()

    # -- server --------------------------------------------------------------------------

    @work(group="ttl-resync", exclusive=True)
    async def resync(self) -> None:
        keys = list(self.pinned)
        if self.key is not None and not self.expired:
            keys.append(self.key)
        if not keys:
            return
        try:
            metas = await client_of(self.app).key_meta(keys)
        except RedisError:
            return
        for key, meta in metas.items():
            if meta.pttl == -2:
                if key in self.pinned:
                    del self.pinned[key]
                if key == self.key:
                    self.expired, self.meta = True, None
                continue
            if key in self.pinned:
                self.pinned[key] = meta
            if key == self.key:
                self.meta = meta
        self._resync_due = False
        self.tick()

    # -- drawing -------------------------------------------------------------------------

    def tick(self) -> None:
        now = time.monotonic()
        ticking = any(meta is not None and meta.pttl >= 0 for meta in [self.meta, *self.pinned.values()])
        state = (self.key, self.expired, self.meta, tuple(self.pinned.items()))
        if not ticking and state == self._drawn:
            return  # nothing counts down and nothing changed: no repaint
        self._drawn = state
        # Fixed-size areas: repaint them without a layout pass (this runs four times a second).
        self._selected.update(self._selected_text(now), layout=False)
        self._pinned.update(self._pinned_table(now), layout=False)
        hit_zero = any(
            meta is not None and meta.pttl >= 0 and meta.remaining_ms(now) == 0
            for meta in [self.meta, *self.pinned.values()]
        )
        if hit_zero and not self._resync_due:
            self._resync_due = True  # the server decides when it is really gone
            self.set_timer(0.2, self.resync)

    def _selected_text(self, now: float) -> Text:
        if self.key is None:
            return Text("No key selected.", style="dim")
        name = Text(display(self.key), style="bold")
        if self.expired:
            return Text.assemble(
                name, "\n", ("expired", "bold red"), (" — the server removed this key", "dim")
            )
        if self.meta is None:
            return Text.assemble(name, "\n", ("…", "dim"))
        remaining = self.meta.remaining_ms(now)
        if remaining == -1:
            return Text.assemble(name, "\n", ("no expiry", "dim"), ("  (t sets a TTL)", "dim"))
        if remaining == -2:
            return Text.assemble(name, "\n", ("expired", "bold red"))
        return Text.assemble(
            name,
            "\n",
            ("expires in ", "dim"),
            (format_countdown(remaining), countdown_style(remaining)),
            (f"  at {expiry_time(remaining)}", "dim"),
            ("   p pins", "dim"),
        )

    def _pinned_table(self, now: float) -> Table | Text:
        if not self.pinned:
            return Text("No pinned keys (p pins the selected key).", style="dim")

        def order(item: tuple[bytes, KeyMeta | None]) -> tuple[int, int, bytes]:
            key, meta = item
            remaining = meta.remaining_ms(now) if meta else -1
            return (0 if remaining >= 0 else 1, remaining, key)

        table = Table(box=None, expand=True, show_edge=False, pad_edge=False, header_style="bold dim")
        table.add_column("pinned", ratio=1, no_wrap=True, overflow="ellipsis")
        table.add_column("expires in", no_wrap=True)
        table.add_column("at", no_wrap=True)
        for key, meta in sorted(self.pinned.items(), key=order):
            remaining = meta.remaining_ms(now) if meta else -1
            if meta is None:
                table.add_row(Text(display(key)), Text("…", style="dim"), "")
            elif remaining < 0:
                table.add_row(Text(display(key)), Text("no expiry", style="dim"), "")
            else:
                table.add_row(
                    Text(display(key)),
                    Text(format_countdown(remaining), style=countdown_style(remaining)),
                    Text(expiry_time(remaining), style="dim"),
                )
        return table
