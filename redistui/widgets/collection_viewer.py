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
MATCH_ROUND_TRIPS = 20  # extra xSCAN MATCH round trips to fill one page
RESTORE_SEARCH = 2 * PAGE  # rows past the old cursor row searched for the edited element
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
    start: int = 0  # lists and sorted sets: the index / rank the first row has (a jump starts there)
    match: bytes | None = None  # hashes, sets and sorted sets: only elements matching this glob (xSCAN MATCH)
    columns: ClassVar[tuple[str, ...]] = ()
    identity_column: ClassVar[int] = 0  # what names an element, to find it again after a reload

    async def next_page(self) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def cells(self, item: tuple[Any, ...]) -> tuple[Text, ...]:
        return tuple(cell(part) for part in item)

    def identity(self, item: tuple[Any, ...]) -> Any:
        return item[self.identity_column]


class ListPager(Pager):
    columns = ("index", "element")

    async def next_page(self) -> list[tuple[Any, ...]]:
        start = self.start + len(self.items)
        page = await self.client.list_page(self.key, start, PAGE)
        self.done = len(page) < PAGE
        return [(start + i, value) for i, value in enumerate(page)]


class HashPager(Pager):
    columns = ("field", "value")

    async def next_page(self) -> list[tuple[Any, ...]]:
        self.cursor, pairs = await self.client.hash_page(self.key, self.cursor, PAGE, self.match)
        self.done = self.cursor == 0
        return pairs


class SetPager(Pager):
    columns = ("member",)

    async def next_page(self) -> list[tuple[Any, ...]]:
        self.cursor, members = await self.client.set_page(self.key, self.cursor, PAGE, self.match)
        self.done = self.cursor == 0
        return [(member,) for member in members]


class ZSetPager(Pager):
    columns = ("rank", "member", "score")
    identity_column = 1

    async def next_page(self) -> list[tuple[Any, ...]]:
        if self.match is not None:  # ZSCAN knows no ranks
            self.cursor, pairs = await self.client.zset_scan(self.key, self.cursor, PAGE, self.match)
            self.done = self.cursor == 0
            return [(None, member, score) for member, score in pairs]
        start = self.start + len(self.items)
        page = await self.client.zset_page(self.key, start, PAGE)
        self.done = len(page) < PAGE
        return [(start + i, member, score) for i, (member, score) in enumerate(page)]

    def cells(self, item: tuple[Any, ...]) -> tuple[Text, ...]:
        rank, member, score = item
        return cell("—" if rank is None else rank), cell(member), cell(f"{score:g}")


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

    class Opened(Message):
        """Enter on a row: show the whole element."""

        def __init__(self, key: bytes, type_: str, item: tuple[Any, ...], columns: tuple[str, ...]) -> None:
            super().__init__()
            self.key, self.type, self.item, self.columns = key, type_, item, columns

    def __init__(
        self,
        key: bytes,
        type_: str,
        encoding: str | None = None,
        *,
        start: int = 0,
        match: bytes | None = None,
        restore: tuple[Any, int] | None = None,
    ) -> None:
        super().__init__()
        self.key = key
        self.type = type_
        self.encoding = encoding
        self.start = start
        self.match = match
        # After a reload (an edit): the element to put the cursor back on, and the row it was on.
        self.restore = restore
        self.length: int | None = None
        self.pager: Pager | None = None

    def compose(self) -> ComposeResult:
        yield Static("loading…", id="collection-info")
        yield PagedTable(cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.pager = PAGERS[self.type](self.key, client_of(self.app), start=self.start, match=self.match)
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
        try:
            row = self.table.cursor_row
        except NoMatches:  # being removed: another key (or a reload) replaced this viewer
            return None
        return self.pager.items[row] if 0 <= row < len(self.pager.items) else None

    def position(self) -> tuple[Any, int] | None:
        """What `restore` needs to find the cursor's element again: its identity and its row."""
        item = self.selected()
        if item is None or self.pager is None:
            return None
        return self.pager.identity(item), self.table.cursor_row  # selected() found the table

    @work(group="page", exclusive=True)
    async def load_page(self) -> None:
        pager = self.pager
        if pager is None or pager.done:
            return
        try:
            if self.length is None:
                self.length = await client_of(self.app).length(self.key, self.type)
            page = await pager.next_page()
            for _ in range(MATCH_ROUND_TRIPS):  # xSCAN MATCH answers thin pages: gather a page's worth
                if pager.done or (len(page) >= PAGE if pager.match is not None else page):
                    break
                page += await pager.next_page()
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
        if self.restore is not None:
            self._restore_cursor()

    def _restore_cursor(self) -> None:
        """Put the cursor back on the element it was on (found by identity: a new score moves it)."""
        assert self.pager is not None and self.restore is not None
        identity, row = self.restore
        if not self.query(PagedTable):
            return  # being removed
        for index, item in enumerate(self.pager.items):
            if self.pager.identity(item) == identity:
                self.restore = None
                self.table.move_cursor(row=index, scroll=True)
                return
        if self.pager.done or len(self.pager.items) > row + RESTORE_SEARCH:
            self.restore = None  # gone (removed, or renamed): stay near where it was
            self.table.move_cursor(row=min(row, max(0, self.table.row_count - 1)), scroll=True)
        else:
            self.load_page()

    def _update_info(self, info: Static) -> None:
        assert self.pager is not None
        parts = [f"{self.length:,} elements", f"{len(self.pager.items):,} loaded"]
        if self.match is not None:
            parts.insert(1, f"matching {printable(self.match)!s}")
        elif self.start:
            parts.insert(1, f"from {'rank' if self.type == 'zset' else 'index'} {self.start:,}")
        if not self.pager.done:
            parts.append("more on scroll (m)")
        if self.encoding:
            parts.append(f"encoding: {self.encoding}")
        parts.append("enter opens · ctrl+f finds")
        info.update(" · ".join(parts))

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        item = self.selected()
        if item is not None and self.pager is not None:
            self.post_message(self.Opened(self.key, self.type, item, self.pager.columns))

    @on(PagedTable.NeedMore)
    def _need_more(self, message: PagedTable.NeedMore) -> None:
        message.stop()
        self.load_page()

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self.pager and not self.pager.done and event.cursor_row >= self.table.row_count - 20:
            self.load_page()
