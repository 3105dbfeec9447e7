"""The key browser: filters, the key list, and the workers that feed it.

A SCAN worker loads keys page by page (never KEYS), only as far as the user has
scrolled or asked ("load all"), and can be stopped. Filters are server-side: the
glob becomes SCAN MATCH and the type becomes SCAN TYPE. Types and TTLs are fetched
for visible rows only, in one pipeline. A keyspace-notification listener keeps the
list live; its events are coalesced and applied a few times per second.
"""

from __future__ import annotations

import asyncio
import gc
import math
import re
from collections.abc import Callable
from typing import Any

from redis.asyncio.client import PubSub
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Select, Static

from redistui.client import KEY_TYPES, KeyMeta, client_of, glob_escape, glob_to_regex
from redistui.formatting import printable
from redistui.key_index import KeyIndex
from redistui.widgets.key_list import KeyList

PAGE_TARGET = 2000  # keys loaded ahead of the user's scroll position
SCAN_COUNT = 1000  # SCAN COUNT hint per round trip
NAMESPACE_LIMIT = 5000  # keys fetched by MATCH prefix* when a namespace opens mid-scan
META_CACHE_LIMIT = 20_000
REMOVE_EVENTS = {b"del", b"expired", b"evicted", b"rename_from", b"move_from"}
FLUSH_INTERVAL = 0.25  # seconds between applying batched keyspace events
DISAGREEMENT_POLLS = 3  # a view whose key count differs from DBSIZE this many polls in a row is stale
FREEZE_AT = 100_000  # keys loaded by a finished scan from which they are put out of the cyclic GC's reach
SELECT_DELAY = 0.12  # seconds the cursor must rest on a key before its value loads


class _Reconnected:
    """Set when redis-py re-establishes one keyspace subscription's connection (events were lost)."""

    def __init__(self) -> None:
        self.happened = False

    def hear(self, connection: object) -> None:  # a bound method: redis-py keeps connect callbacks weakly
        self.happened = True


class KeyBrowser(Vertical):
    """Pattern and type filters above a `KeyList`, with a scan status line below."""

    DEFAULT_CSS = """
    KeyBrowser {
        #filters { height: 1; }
        #pattern { width: 1fr; }
        #type-filter { width: 14; }
        KeyList { height: 1fr; }
        #scan-status { height: 1; color: $text-muted; padding: 0 1; }
    }
    """

    class KeySelected(Message):
        """The user highlighted a key."""

        def __init__(self, key: bytes, meta: KeyMeta | None) -> None:
            super().__init__()
            self.key = key
            self.meta = meta

    class KeyspaceEvents(Message):
        """Batched keyspace notifications: key → last event name."""

        def __init__(self, events: dict[bytes, bytes]) -> None:
            super().__init__()
            self.events = events

    class LiveUnavailable(Message):
        """The server has keyspace notifications off (or refuses CONFIG GET)."""

        def __init__(self, flags: str | None) -> None:
            super().__init__()
            self.flags = flags

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.index = KeyIndex()
        self.meta: dict[bytes, KeyMeta] = {}
        self.pattern: bytes | None = None
        self.type_filter: str | None = None
        self.dbsize: int | None = None
        self.live = False
        self._disagreements = 0  # consecutive DBSIZE polls that disagree with a complete live view
        self.stale_note = ""  # said in the status line while the view disagrees with the server
        self._scan_active = False  # a SCAN loop is fetching pages right now
        self._scan_error = ""
        self.scan_cursor = 0
        self.scan_done = False
        self.scan_pages = 0
        self.scan_stopped = False
        self._target: float = PAGE_TARGET  # math.inf once the whole keyspace is wanted
        self._client_side_type = False
        self._events: dict[bytes, bytes] = {}
        self._rows_dirty = False
        self._pattern_regex: re.Pattern[bytes] | None = None
        self._select_timer: Timer | None = None
        # Kept as attributes (not queried) so workers finishing during shutdown still find them.
        self._key_list = KeyList(self.index, self.meta, id="key-list")
        self._status = Static("", id="scan-status")

    def compose(self) -> ComposeResult:
        with Horizontal(id="filters"):
            yield Input(placeholder="MATCH glob, e.g. user:*", id="pattern", compact=True)
            yield Select(
                [(name, name) for name in KEY_TYPES], prompt="any type", id="type-filter", compact=True
            )
        yield self._key_list
        yield self._status

    def on_mount(self) -> None:
        self.set_interval(FLUSH_INTERVAL, self._flush)
        self.set_interval(1.0, self._tick_ttls)

    @property
    def key_list(self) -> KeyList:
        return self._key_list

    @property
    def client(self):  # noqa: ANN201 - the app's ExplorerClient
        return client_of(self.app)

    # -- scanning ----------------------------------------------------------------------

    def start(self) -> None:
        """(Re)load from the first SCAN cursor with the current filters, and (re)start live updates."""
        self.workers.cancel_group(self, "scan")
        self.workers.cancel_group(self, "namespace")
        self._disagreements, self.stale_note = 0, ""
        self.index.clear()
        self.meta.clear()
        self.scan_cursor, self.scan_pages = 0, 0
        self.scan_done = self.scan_stopped = False
        self._client_side_type = False
        self._target = PAGE_TARGET
        self.key_list.rows_changed()
        self.key_list.cursor = 0
        self._scan()
        self._listen()

    def load_more(self, count: int = PAGE_TARGET) -> None:
        if self.scan_done:
            return
        wanted = len(self.index) + count
        if wanted > self._target or self.scan_stopped:
            self._target = max(self._target, wanted)
            self.scan_stopped = False
            if not self._scanning:
                self._scan()

    def load_all(self) -> None:
        self._target = math.inf
        self.scan_stopped = False
        if not self.scan_done:
            self._scan()

    def suspend(self) -> None:
        """Cancel every network worker (before the connection changes under them)."""
        for group in ("scan", "namespace", "listen", "meta", "events"):
            self.workers.cancel_group(self, group)

    def stop(self) -> None:
        """Stop the SCAN where it is (keys loaded so far stay)."""
        self.workers.cancel_group(self, "scan")
        self.scan_stopped = True
        self._target = len(self.index)
        self._update_status()

    @property
    def _scanning(self) -> bool:
        return any(w.group == "scan" and w.is_running for w in self.workers if w.node is self)

    @work(group="scan", exclusive=True)
    async def _scan(self) -> None:
        self._scan_active = True
        try:
            await self._scan_pages()
        finally:
            # The worker is still "running" here: say it is not, or the status would read "scanning…" for ever.
            self._scan_active = False
            self._apply_rows()
            self._update_status(self._scan_error)
            if self.scan_done and len(self.index) >= FREEZE_AT:
                # The key list's sublists hold a reference to every key: each full collection of the
                # cyclic GC walks them all (90-140 ms at a million keys, a stalled frame whenever one
                # runs). They live as long as the scan's result: out of the GC's reach, as the app's
                # own objects are from its start (RedisTUI.on_mount).
                gc.freeze()

    async def _scan_pages(self) -> None:
        client = self.client
        self._scan_error = ""
        try:
            if self.dbsize is None:
                self.dbsize = await client.dbsize()
            while not self.scan_done and not self.scan_stopped and len(self.index) < self._target:
                type_ = None if self._client_side_type else self.type_filter
                try:
                    page = await client.scan_page(self.scan_cursor, self.pattern, type_, SCAN_COUNT)
                except ResponseError as error:
                    if type_ is None:
                        raise
                    self._client_side_type = True  # the server lacks SCAN TYPE: filter here instead
                    self.notify(
                        f"SCAN TYPE unsupported ({error}); filtering types client-side", severity="warning"
                    )
                    continue
                keys = page.keys
                if self._client_side_type and self.type_filter and keys:
                    types = await client.types_of(keys)
                    keys = [key for key in keys if types.get(key) == self.type_filter]
                first = len(self.index) == 0
                self.index.add(keys)
                self.scan_cursor = page.cursor
                self.scan_pages += 1
                self.scan_done = page.cursor == 0
                if first and keys:
                    self._apply_rows()  # the first keys show at once
                else:
                    self._rows_dirty = True
                self._update_status()
        except RedisError as error:
            self._scan_error = f"scan failed: {error}"

    @work(group="namespace", exclusive=True)
    async def _scan_namespace(self, namespace: bytes) -> None:
        """Fill an opened namespace with MATCH prefix* when the main scan has not covered it yet."""
        batch: list[bytes] = []
        try:
            async for key in self.client.scan_keys(
                glob_escape(namespace) + b"*", NAMESPACE_LIMIT, self.type_filter
            ):
                batch.append(key)
                if len(batch) >= SCAN_COUNT:
                    self.index.add(batch)
                    batch.clear()
                    self._rows_dirty = True
        except RedisError as error:
            self.notify(f"loading {namespace!r}: {error}", severity="error")
        self.index.add(batch)
        self._apply_rows()

    def _visited_estimate(self) -> int:
        visited = self.scan_pages * SCAN_COUNT
        if self.dbsize is not None:
            visited = min(visited, self.dbsize)
        return visited

    def _update_status(self, extra: str = "") -> None:
        loaded = len(self.index)
        total = f"~{self.dbsize:,}" if self.dbsize is not None else "?"
        if self.pattern or self.type_filter:
            walked = self.dbsize if self.scan_done and self.dbsize is not None else self._visited_estimate()
            text = f"{loaded:,} matched · {walked:,}/{total} scanned"
        else:
            text = f"scanned {loaded:,} of {total}"
        if self.scan_done:
            state = "complete"
        elif self._scan_active and not self.scan_stopped:
            state = "scanning… esc stops"
        elif self.scan_stopped:
            state = "stopped · ctrl+l resumes"
        else:
            state = "more on scroll"
        live = "● live" if self.live else "○ live off"
        client = self.client
        if client.is_cluster:  # what each master gave, against its own DBSIZE
            nodes = " ".join(
                f"{scanned:,}/{size:,}"
                for scanned, size in zip(client.node_scanned, client.node_dbsizes, strict=False)
            )
            extra_nodes = f"masters {nodes}"
        else:
            extra_nodes = ""
        extra = " · ".join(part for part in (self.stale_note, extra, extra_nodes) if part)
        status = f"{text} · {state} · {live}{' · ' + extra if extra else ''}"
        if self.scan_done and not self.index:
            self.key_list.empty_text = (
                "no keys match the filter"
                if self.pattern or self.type_filter
                else "no keys here yet: n creates one"
            )
        else:
            self.key_list.empty_text = ""
        self.key_list.counts_partial = not self.scan_done
        self.key_list.refresh()
        self._status.update(Text(printable(status)), layout=False)  # one fixed line: no layout pass

    # -- rows ------------------------------------------------------------------------------

    def _apply_rows(self) -> None:
        self._rows_dirty = False
        self.key_list.rows_changed()

    def _flush(self) -> None:
        if self._events:
            events, self._events = self._events, {}
            self._apply_events(events)
        if self._rows_dirty:
            self._apply_rows()
            self._update_status()

    def _tick_ttls(self) -> None:
        """Redraw once a second when a visible key has a TTL, so the column counts down."""
        if any((meta := self.meta.get(key)) and meta.pttl >= 0 for key in self.key_list.visible_keys()):
            self.key_list.refresh()

    @on(KeyList.NeedMeta)
    def _need_meta(self, message: KeyList.NeedMeta) -> None:
        message.stop()
        self._fetch_meta(message.keys)

    @work(group="meta")
    async def _fetch_meta(self, keys: list[bytes]) -> None:
        try:
            meta = await self.client.key_meta(keys)
        except RedisError:
            return
        if len(self.meta) > META_CACHE_LIMIT:
            self.meta.clear()
        self.meta.update(meta)
        gone = [key for key, value in meta.items() if value.type == "none"]
        if gone:
            self.index.discard(gone)
            self._rows_dirty = True
        self.key_list.refresh()

    @on(KeyList.NearEnd)
    def _near_end(self, message: KeyList.NearEnd) -> None:
        message.stop()
        if not self.scan_stopped:
            self.load_more()

    @on(KeyList.Toggled)
    def _toggled(self, message: KeyList.Toggled) -> None:
        message.stop()
        if message.expanded and not self.scan_done and not self.pattern:
            self._scan_namespace(message.namespace)

    @on(KeyList.Highlighted)
    def _highlighted(self, message: KeyList.Highlighted) -> None:
        """Select the key once the cursor rests, so paging through keys does not load every value."""
        message.stop()
        if self._select_timer is not None:
            self._select_timer.stop()
        if not message.row.is_namespace:
            key = message.row.key
            self._select_timer = self.set_timer(SELECT_DELAY, lambda: self._select(key))

    def _select(self, key: bytes) -> None:
        self._select_timer = None
        self.post_message(self.KeySelected(key, self.meta.get(key)))

    # -- filters and view ---------------------------------------------------------------------

    @on(Input.Submitted, "#pattern")
    def _pattern_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.set_pattern(event.value)
        self.key_list.focus()

    @on(Select.Changed, "#type-filter")
    def _type_changed(self, event: Select.Changed) -> None:
        event.stop()
        value = None if event.value is Select.NULL else str(event.value)
        if value != self.type_filter:
            self.type_filter = value
            self.start()

    def set_pattern(self, pattern: str) -> None:
        """Filter by a Redis glob (empty: everything) and rescan."""
        raw = pattern.strip().encode() or None
        if raw in (b"*",):
            raw = None
        self.pattern = raw
        self._pattern_regex = glob_to_regex(raw) if raw else None
        if self.query_one("#pattern", Input).value != pattern:
            self.query_one("#pattern", Input).value = pattern
        self.start()

    def set_type_filter(self, type_: str | None) -> None:
        self.query_one("#type-filter", Select).value = type_ if type_ else Select.NULL

    def set_view(self, tree: bool, delimiter: str | None = None) -> None:
        key = self.key_list.cursor_key
        self.index.set_mode(tree, delimiter.encode() if delimiter is not None else None)
        if key is not None:
            self.index.expand_to(key)
        self.key_list.rows_changed()

    def set_natural(self, natural: bool) -> None:
        """Natural or plain byte order for the key names, keeping the cursor on its key."""
        key = self.key_list.cursor_key
        self.index.set_natural(natural)
        if key is not None:
            self.index.expand_to(key)
        self.key_list.rows_changed(keep=key)

    def select_key(self, key: bytes) -> bool:
        """Put the cursor on ``key`` (expanding its namespaces); False if it is not loaded."""
        if key not in self.index:
            return False
        self.index.expand_to(key)
        self.key_list.rows_changed()
        row = self.index.row_of(key)
        if row is None:
            return False
        self.key_list.move_to(row)
        return True

    # -- changes made by this app --------------------------------------------------------------

    def key_added(self, key: bytes) -> None:
        self.meta.pop(key, None)
        if self._matches(key):
            self.index.add([key])
            self._apply_rows()

    def key_removed(self, key: bytes) -> None:
        self.meta.pop(key, None)
        if self.index.discard([key]):
            self._apply_rows()

    def key_touched(self, key: bytes) -> None:
        """Its type or TTL may have changed: fetch again when drawn."""
        self.meta.pop(key, None)
        self.key_list.refresh()

    def _matches(self, key: bytes) -> bool:
        return self._pattern_regex is None or bool(self._pattern_regex.match(key))

    # -- live updates -----------------------------------------------------------------------------

    async def check_live(self, enable: bool = False) -> bool:
        """Whether keyspace notifications reach us; optionally turn them on with CONFIG SET."""
        flags = await self.client.notify_flags()
        if enable:
            flags = await self.client.enable_keyspace_events()
        self.live = flags is not None and "K" in flags and ("A" in flags or "g" in flags)
        if not self.live:
            self.post_message(self.LiveUnavailable(flags))
        self._update_status()
        return self.live

    @work(group="listen", exclusive=True)
    async def _listen(self) -> None:
        """Listen where keyspace notifications are published: the server, or every master of a cluster."""
        await asyncio.gather(*(self._listen_to(connect) for connect in self.client.keyspace_pubsubs()))

    async def _listen_to(self, connect: Callable[[], PubSub]) -> None:
        """Receive ``__keyspace@<db>__:*`` messages on one connection and queue them for the next flush."""
        channel = f"__keyspace@{self.client.db}__:*".encode()
        prefix_len = len(channel) - 1
        delay = 0.5
        subscribed_before = False
        callback_on: Any = None  # the connection our reconnect callback is registered on
        broken = _Reconnected()
        while True:
            pubsub = connect()
            try:
                await pubsub.psubscribe(channel)
                delay = 0.5
                if subscribed_before:
                    # The stream broke (a reconnect, or the server cut us for our output buffer):
                    # whatever happened meanwhile went unseen, so the view cannot be trusted.
                    self.call_later(self._events_lost)
                    return
                subscribed_before = True
                broken = _Reconnected()  # this subscription's own flag (its pooled connection outlives it)
                if pubsub.connection is not None:  # redis-py reconnects and resubscribes silently: hear of it
                    pubsub.connection.register_connect_callback(broken.hear)
                    callback_on = pubsub.connection
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if broken.happened:
                        self.call_later(self._events_lost)
                        return
                    if message is None or message.get("type") != "pmessage":
                        continue
                    key = bytes(message["channel"][prefix_len:])
                    self._events[key] = bytes(message["data"])
            except (RedisConnectionError, OSError, asyncio.TimeoutError):
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
            except RedisError:
                return
            finally:
                if callback_on is not None:  # a later user of the pooled connection must not call it
                    callback_on.deregister_connect_callback(broken.hear)
                    callback_on = None
                try:
                    await pubsub.aclose()
                except (RedisError, OSError):
                    pass

    @work(group="events")
    async def _apply_events(self, events: dict[bytes, bytes]) -> None:
        removed = [key for key, event in events.items() if event in REMOVE_EVENTS]
        added = [
            key
            for key, event in events.items()
            if event not in REMOVE_EVENTS and key not in self.index and self._matches(key)
        ]
        for key in events:
            self.meta.pop(key, None)
        if added and self.type_filter:
            try:
                types = await self.client.types_of(added)
            except RedisError:
                types = {}
            added = [key for key in added if types.get(key) == self.type_filter]
        changed = self.index.discard(removed) + self.index.add(added)
        if changed:
            self._apply_rows()
            if self.dbsize is not None:
                self.dbsize = max(0, self.dbsize + len(added) - len(removed))
            self._update_status()
        else:
            self.key_list.refresh()
        self.post_message(self.KeyspaceEvents(events))

    def set_dbsize(self, dbsize: int) -> None:
        """The server's key count (INFO keyspace, once a second): also a check of the live view."""
        if dbsize != self.dbsize:
            self.dbsize = dbsize
            self._update_status()
        if not self.live or not self.scan_done or self.pattern or self.type_filter or self._events:
            self._disagreements = 0
            self._set_stale_note("")
            return
        if dbsize == 0 and self.index:
            # FLUSHDB / FLUSHALL send no keyspace events: an empty database empties the view.
            self.notify("The database was emptied (FLUSHDB/FLUSHALL?): the view is cleared")
            self.start()
            return
        if dbsize != len(self.index):
            self._disagreements += 1
            if self._disagreements >= DISAGREEMENT_POLLS:
                self._set_stale_note(f"stale: the server has {dbsize:,} keys, F5 rescans")
        else:
            self._disagreements = 0
            self._set_stale_note("")

    def _set_stale_note(self, note: str) -> None:
        if note != self.stale_note:
            self.stale_note = note
            self._update_status()

    def _events_lost(self) -> None:
        """Keyspace events were missed: rescan (which listens again) and say why."""
        self.notify("Keyspace events were interrupted: rescanning so the view is not stale", severity="warning")
        self.start()
