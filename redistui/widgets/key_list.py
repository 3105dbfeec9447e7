"""The list of keys: a Line-API `ScrollView` that draws only the rows on screen.

It holds no widget per key. Each visible line is drawn from a `KeyIndex` row plus
the key's cached `KeyMeta` (type badge and TTL); rows whose metadata is unknown are
reported with one `NeedMeta` message per frame so the browser can fetch exactly
those keys in one pipeline. A million keys cost a million bytes objects, not a
million widgets.
"""

from __future__ import annotations

import sys
import time

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.timer import Timer

from redistui.client import KeyMeta
from redistui.formatting import printable
from redistui.key_index import KeyIndex, Row

BADGES: dict[str, tuple[str, str]] = {
    "string": ("STR ", "bold #27ae60"),
    "list": ("LIST", "bold #2e86de"),
    "hash": ("HASH", "bold #a55eea"),
    "set": ("SET ", "bold #d4a017"),
    "zset": ("ZSET", "bold #16a085"),
    "stream": ("STRM", "bold #e74c3c"),
    "none": ("GONE", "dim"),
}


LAYOUT_SLICE = 0.03  # seconds of laying out per frame on the way to a far row
TRAVEL_PAUSE = 0.005  # between slices: the frame gets drawn and keys get read
LAST = sys.maxsize  # move_to's row for the last row

NO_STYLE = Style()
DIM = Style(dim=True)


def fit(text: str, cells: int, pad: bool = True) -> str:
    """Cut ``text`` to ``cells`` terminal cells (with an ellipsis), padding it when ``pad``."""
    if cell_len(text) > cells:
        return set_cell_size(text, max(0, cells - 1)) + "…"
    return set_cell_size(text, cells) if pad else text


def display(name: bytes) -> str:
    """Key bytes as text: UTF-8 where valid, ``\\xNN`` escapes for other bytes and every control."""
    return printable(name)


def format_ttl(ms: int) -> str:
    """A short TTL: ``59s``, ``12m``, ``3h``, ``4d``; empty when the key does not expire."""
    if ms < 0:
        return ""
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds // 60:.0f}m"
    if seconds < 86400:
        return f"{seconds // 3600:.0f}h"
    return f"{seconds // 86400:.0f}d"


def ttl_style(ms: int) -> str:
    if ms < 0:
        return "dim"
    if ms < 10_000:
        return "bold red"
    if ms < 60_000:
        return "yellow"
    return "green"


class KeyList(ScrollView, can_focus=True):
    """Keys and namespaces, one line each, drawn on demand."""

    COMPONENT_CLASSES = {"key-list--cursor", "key-list--namespace"}

    DEFAULT_CSS = """
    KeyList {
        background: $surface;
        & > .key-list--cursor { background: $block-cursor-background; color: $block-cursor-foreground; }
        &:blur > .key-list--cursor { background: $block-cursor-blurred-background; }
        & > .key-list--namespace { color: $text-accent; text-style: bold; }
    }
    """

    BINDINGS = [
        Binding("up", "cursor_up", "Up", show=False),
        Binding("down", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home", "first", "First", show=False),
        Binding("end", "last", "Last", show=False),
        Binding("enter,space", "activate", "Open", show=False),
        Binding("right", "expand", "Expand", show=False),
        Binding("left", "collapse", "Collapse", show=False),
    ]

    cursor: reactive[int] = reactive(0, always_update=True)

    class Highlighted(Message):
        """The cursor rests on a row."""

        def __init__(self, row: Row) -> None:
            super().__init__()
            self.row = row

    class Toggled(Message):
        """A namespace was expanded or collapsed."""

        def __init__(self, namespace: bytes, expanded: bool) -> None:
            super().__init__()
            self.namespace = namespace  # type: ignore[misc,assignment]  # Textual's Message has a class-level namespace too
            self.expanded = expanded

    class NeedMeta(Message):
        """These visible keys have no type/TTL yet."""

        def __init__(self, keys: list[bytes]) -> None:
            super().__init__()
            self.keys = keys

    class NearEnd(Message):
        """The user scrolled close to the last loaded row."""

    def __init__(self, index: KeyIndex, meta: dict[bytes, KeyMeta], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.index = index
        self.meta = meta
        self._missing: set[bytes] = set()
        self._need_meta_posted = False
        self.cursor_key: bytes | None = None  # the row under the cursor, to keep it there when rows move
        self._adjusting = False
        self.empty_text = ""  # shown on the first line when there are no rows
        self._settle_pending = False
        self.counts_partial = False  # the scan is not complete: namespace counts are of loaded keys only
        self._travel: int | None = None  # the row a move is still laying out its way to
        self._travel_timer: Timer | None = None

    # -- data changed -------------------------------------------------------------

    def rows_changed(self, keep: bytes | None = None) -> None:
        """Re-measure after keys were added/removed, keeping the cursor on ``keep`` (default: its row's key)."""
        count = self.index.row_count
        self._set_height(count)
        keep = keep if keep is not None else self.cursor_key
        if keep is not None:
            row = self.index.row_of(keep)
            if row is not None and row != self.cursor:
                self.set_reactive(KeyList.cursor, row)
                self._adjusting = True  # our own scroll, not the user's: no NearEnd
                try:
                    self._scroll_cursor_into_view()
                finally:
                    self._adjusting = False
        if self.cursor >= count:
            self.set_reactive(KeyList.cursor, max(0, count - 1))
        current = self.current_row
        self.cursor_key = current.key if current is not None else None
        self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        self._set_height(self.index.row_count)

    def _set_height(self, rows: int) -> None:
        """A new row count, without a layout pass of the whole screen.

        Setting ``virtual_size`` asks Textual to lay the screen out again (it is a layout reactive), and with
        live inserts or a scan that is several full layouts a second. The list's own box never changes with
        its row count: only the scroll bar does, so update that alone (a layout follows only if the bar
        appears or goes).
        """
        size = Size(max(1, self.scrollable_content_region.width), rows)
        if size == self.virtual_size:
            return
        self.set_reactive(ScrollView.virtual_size, size)
        self._scroll_update(size)
        self.refresh()

    @property
    def current_row(self) -> Row | None:
        return self.index.locate(self.cursor)

    def visible_keys(self) -> list[bytes]:
        """Leaf keys currently on screen."""
        top = self.scroll_offset.y
        rows = (self.index.locate(i) for i in range(top, top + self.scrollable_content_region.height))
        return [row.key for row in rows if row is not None and not row.is_namespace]

    def _settle(self) -> None:
        """The row count is an estimate until big namespaces are laid out: follow it as it settles."""
        self._settle_pending = False
        if self.virtual_size.height != self.index.row_count:
            self.rows_changed()

    # -- drawing --------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index = self.scroll_offset.y + y
        base = self.rich_style
        row = self.index.locate(index)
        if not self._settle_pending and self.virtual_size.height != self.index.row_count:
            self._settle_pending = True
            self.call_after_refresh(self._settle)
        if row is None:
            if index == 0 and self.empty_text:
                return Strip([Segment(fit(self.empty_text, width), base + DIM)], width)
            return Strip.blank(width, base)
        cursor = self.get_component_rich_style("key-list--cursor") if index == self.cursor else None
        parts = self._row_parts(row, width)
        # Plain segments (no rich Text layout): this runs for every visible line on every scroll.
        segments = [Segment(text, base + style + cursor if cursor else base + style) for text, style in parts]
        return Strip(segments).crop_extend(0, width, base + cursor if cursor else base)

    def _row_parts(self, row: Row, width: int) -> list[tuple[str, Style]]:
        """The cells of one row as (text, style) pieces, exactly ``width`` cells wide."""
        indent = "  " * row.depth if self.index.tree else ""
        if row.is_namespace:
            marker = "▾ " if row.expanded else "▸ "
            count = f" ({row.size:,} loaded)" if self.counts_partial else f" ({row.size:,})"
            label = display(row.label) + display(self.index.delimiter)
            room = max(1, width - len(indent) - len(marker) - len(count))
            namespace = self.get_component_rich_style("key-list--namespace", partial=True)
            return [(indent + marker, NO_STYLE), (fit(label, room, pad=False), namespace), (count, DIM)]
        meta = self.meta.get(row.key)
        if meta is None:
            self._want_meta(row.key)
            badge, badge_style, remaining = "    ", "", -1
        else:
            badge, badge_style = BADGES.get(meta.type, (meta.type[:4].upper(), "bold"))
            remaining = meta.remaining_ms(time.monotonic())
        marker = "  " if self.index.tree else ""
        right = f" {format_ttl(remaining):>4} "
        room = max(1, width - len(indent) - len(marker) - len(right) - len(badge))
        return [
            (indent + marker + fit(display(row.label), room), NO_STYLE),
            (right, Style.parse(ttl_style(remaining))),
            (badge, Style.parse(badge_style) if badge_style else NO_STYLE),
        ]

    def _want_meta(self, key: bytes) -> None:
        self._missing.add(key)
        if not self._need_meta_posted:
            self._need_meta_posted = True
            self.call_after_refresh(self._post_need_meta)

    def _post_need_meta(self) -> None:
        self._need_meta_posted = False
        missing = [key for key in self._missing if key not in self.meta]
        self._missing.clear()
        if missing:
            self.post_message(self.NeedMeta(missing))

    # -- cursor and scrolling -----------------------------------------------------------

    def watch_cursor(self, old: int, new: int) -> None:
        self._scroll_cursor_into_view()
        self.refresh()
        row = self.current_row
        self.cursor_key = row.key if row is not None else None
        if row is not None:
            self.post_message(self.Highlighted(row))
        self._check_near_end()

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self._check_near_end()

    def _check_near_end(self) -> None:
        if self._adjusting:
            return
        height = self.scrollable_content_region.height
        if (
            self.scroll_offset.y + 2 * height >= self.index.row_count
            or self.cursor + height >= self.index.row_count
        ):
            self.post_message(self.NearEnd())

    def _scroll_cursor_into_view(self) -> None:
        height = max(1, self.scrollable_content_region.height)
        top = self.scroll_offset.y
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)

    def move_to(self, row: int) -> None:
        """Put the cursor on ``row``, or the last row if there are fewer (laying out as far as needed).

        A row far past what is laid out (End in an open namespace of a million keys) is reached over
        several frames, a slice of layout in each, so the screen keeps drawing meanwhile; another move
        cancels the trip (what was laid out stays).
        """
        self._travel = None
        target = max(0, min(row, self.index.row_count - 1))
        if not self.index.prepare(target, LAYOUT_SLICE):
            self._travel = row
            if self._travel_timer is None:
                self._travel_timer = self.set_timer(TRAVEL_PAUSE, self._travel_on)
            return
        while target > 0 and self.index.locate(target) is None:  # the estimated count was too high
            target = max(0, min(target - 1, self.index.row_count - 1))
        self.cursor = target

    def _travel_on(self) -> None:
        self._travel_timer = None
        if self._travel is not None:
            self.move_to(self._travel)

    @property
    def travelling(self) -> bool:
        """A move is still laying out its way to a far row."""
        return self._travel is not None

    def action_cursor_up(self) -> None:
        self.move_to(self.cursor - 1)

    def action_cursor_down(self) -> None:
        self.move_to(self.cursor + 1)

    def action_page_up(self) -> None:
        self.move_to(self.cursor - max(1, self.scrollable_content_region.height - 1))

    def action_page_down(self) -> None:
        self.move_to(self.cursor + max(1, self.scrollable_content_region.height - 1))

    def action_first(self) -> None:
        self.move_to(0)

    def action_last(self) -> None:
        self.move_to(LAST)  # the last row, however the count settles on the way

    def action_activate(self) -> None:
        row = self.current_row
        if row is None:
            return
        if row.is_namespace:
            self._toggle(row)
        else:
            self.post_message(self.Highlighted(row))

    def action_expand(self) -> None:
        row = self.current_row
        if row is not None and row.is_namespace and not row.expanded:
            self._toggle(row)

    def action_collapse(self) -> None:
        row = self.current_row
        if row is None:
            return
        if row.is_namespace and row.expanded:
            self._toggle(row)
            return
        delimiter = self.index.delimiter
        own = row.key[: -len(delimiter)] if row.is_namespace else row.key
        cut = own.rfind(delimiter)
        if row.depth > 0 and cut >= 0:
            target = self.index.row_of(own[: cut + len(delimiter)])
            if target is not None:
                self.move_to(target)

    def _toggle(self, row: Row) -> None:
        expanded = self.index.toggle(row.key)
        self.rows_changed(keep=row.key)
        self.post_message(self.Toggled(row.key, expanded))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        row_index = self.scroll_offset.y + offset.y
        row = self.index.locate(row_index)
        if row is None:
            return
        self.focus()
        self.cursor = row_index
        if row.is_namespace:
            self._toggle(row)
