"""Lists, hashes, sets, sorted sets and streams as tables that load page by page.

Each type has a `Pager` that knows how to fetch its next page (LRANGE, HSCAN,
SSCAN, ZRANGE WITHSCORES, XRANGE) and how to turn an element into table cells.
The table asks for the next page when the user nears its end, so a collection
of ten million elements opens as fast as one of ten.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from redis.exceptions import RedisError
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.widgets import DataTable, Static

from redistui.client import ExplorerClient, client_of
from redistui.formatting import printable

PAGE = 200  # elements per round trip
CELL = 200  # characters shown per cell


def cell(value: bytes | str | float | int) -> Text:
    """A table cell (never interpreted as markup), shortened for display."""
    text = printable(value if isinstance(value, bytes) else str(value))
    return Text(text if len(text) <= CELL else text[: CELL - 1] + "…")


@dataclass
class Pager:
    """Fetches one collection's elements in pages; ``items`` are the loaded elements."""

    key: bytes
    client: ExplorerClient
    items: list[tuple[Any, ...]] = field(default_factory=list)
    cursor: Any = 0
    done: bool = False
    columns: ClassVar[tuple[str, ...]] = ()

    async def next_page(self) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def cells(self, item: tuple[Any, ...]) -> tuple[Text, ...]:
        return tuple(cell(part) for part in item)


class ListPager(Pager):
    columns = ("index", "element")

    async def next_page(self) -> list[tuple[Any, ...]]:
        start = len(self.items)
        page = await self.client.list_page(self.key, start, PAGE)
        self.done = len(page) < PAGE
        return [(start + i, value) for i, value in enumerate(page)]


class HashPager(Pager):
    columns = ("field", "value")

    async def next_page(self) -> list[tuple[Any, ...]]:
        self.cursor, pairs = await self.client.hash_page(self.key, self.cursor, PAGE)
        self.done = self.cursor == 0
        return pairs


class SetPager(Pager):
    columns = ("member",)

    async def next_page(self) -> list[tuple[Any, ...]]:
        self.cursor, members = await self.client.set_page(self.key, self.cursor, PAGE)
        self.done = self.cursor == 0
        return [(member,) for member in members]


class ZSetPager(Pager):
    columns = ("rank", "member", "score")

    async def next_page(self) -> list[tuple[Any, ...]]:
        start = len(self.items)
        page = await self.client.zset_page(self.key, start, PAGE)
        self.done = len(page) < PAGE
        return [(start + i, member, score) for i, (member, score) in enumerate(page)]

    def cells(self, item: tuple[Any, ...]) -> tuple[Text, ...]:
        rank, member, score = item
        return cell(rank), cell(member), cell(f"{score:g}")


class StreamPager(Pager):
    columns = ("id", "fields")

    async def next_page(self) -> list[tuple[Any, ...]]:
        after = self.items[-1][0] if self.items else None
        page = await self.client.stream_page(self.key, after, PAGE)
        self.done = len(page) < PAGE
        return page

    def cells(self, item: tuple[Any, ...]) -> tuple[Text, ...]:
        entry_id, fields = item
        shown = "  ".join(
            f"{printable(k)}={printable(v)}"
            for k, v in fields.items()
        )
        return cell(entry_id), cell(shown)


PAGERS: dict[str, type[Pager]] = {
    "list": ListPager,
    "hash": HashPager,
    "set": SetPager,
    "zset": ZSetPager,
    "stream": StreamPager,
}


class PagedTable(DataTable):
    """A `DataTable` that asks for more rows when scrolled near its end; Home/End jump to the first/last row."""

    BINDINGS = [
        Binding("home", "first_row", "First", show=False),
        Binding("end", "last_row", "Last", show=False),
    ]

    class NeedMore(Message):
        pass

    def action_first_row(self) -> None:
        self.move_cursor(row=0)

    def action_last_row(self) -> None:
        self.move_cursor(row=self.row_count - 1)

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if new >= self.max_scroll_y - 10:
            self.post_message(self.NeedMore())


class CollectionViewer(Vertical):
    """One collection key: an info line and a lazily paged table."""

    DEFAULT_CSS = """
    CollectionViewer {
        #collection-info { height: auto; color: $text-muted; }
        PagedTable { height: 1fr; }
    }
    """

    def __init__(self, key: bytes, type_: str, encoding: str | None = None) -> None:
        super().__init__()
        self.key = key
        self.type = type_
        self.encoding = encoding
        self.length: int | None = None
        self.pager: Pager | None = None

    def compose(self) -> ComposeResult:
        yield Static("loading…", id="collection-info")
        yield PagedTable(cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.pager = PAGERS[self.type](self.key, client_of(self.app))
        table = self.query_one(PagedTable)
        for name in self.pager.columns:
            table.add_column(name, key=name)
        self.load_page()

    @property
    def table(self) -> PagedTable:
        return self.query_one(PagedTable)

    def selected(self) -> tuple[Any, ...] | None:
        """The element under the table's cursor (as the pager stores it)."""
        if self.pager is None or not self.pager.items:
            return None
        row = self.table.cursor_row
        return self.pager.items[row] if 0 <= row < len(self.pager.items) else None

    @work(group="page", exclusive=True)
    async def load_page(self) -> None:
        pager = self.pager
        if pager is None or pager.done:
            return
        try:
            if self.length is None:
                self.length = await client_of(self.app).length(self.key, self.type)
            page = await pager.next_page()
        except RedisError as error:
            if self.is_attached:
                self.query_one("#collection-info", Static).update(Text(printable(f"error: {error}"), style="red"))
            return
        if not self.is_attached:
            return  # another key was opened while this page was on its way
        try:
            table = self.table
            info = self.query_one("#collection-info", Static)
        except NoMatches:
            return  # being removed: another key was opened
        pager.items.extend(page)
        table.add_rows(pager.cells(item) for item in page)
        self._update_info(info)

    def _update_info(self, info: Static) -> None:
        assert self.pager is not None
        parts = [f"{self.length:,} elements", f"{len(self.pager.items):,} loaded"]
        if not self.pager.done:
            parts.append("more on scroll (m)")
        if self.encoding:
            parts.append(f"encoding: {self.encoding}")
        info.update(" · ".join(parts))

    @on(PagedTable.NeedMore)
    def _need_more(self, message: PagedTable.NeedMore) -> None:
        message.stop()
        self.load_page()

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self.pager and not self.pager.done and event.cursor_row >= self.table.row_count - 20:
            self.load_page()
