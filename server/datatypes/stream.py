"""The stream type: entries ordered by ID, plus consumer groups (Redis 7.0's t_stream.c).

An ID is the pair ``<ms>-<seq>`` of two unsigned 64-bit numbers; here it is one
Python int, ``ms << 64 | seq``, so IDs compare, sort and bisect as numbers.

Entries live in *nodes* that mirror Redis's radix-tree nodes one for one: a node
starts with the entry that opened it (its master ID and master fields) and takes
new entries until it holds ``stream-node-max-entries`` entries (live or deleted)
or its listpack would reach ``stream-node-max-bytes``. Each node tracks the
exact size of the listpack Redis would hold for it (``lp_bytes``), so nodes
split where Redis splits them. That matters beyond memory: approximate trimming
(``MAXLEN ~``/``MINID ~``) removes whole nodes only, and XINFO STREAM reports
radix-tree keys and nodes, so both answer exactly as Redis does. XDEL leaves a
tombstone in its node (as Redis flags the listpack entry) and drops the node
once its last live entry goes.

Structure and cost (see ``benchmarks/stream_structure.py`` for the measured
comparison with a ``SortedList`` of single entries): nodes are kept in a plain
list with a parallel list of their master IDs. Appending is O(1) (into the tail
node, or a new node at the end); finding an ID is a bisect over node keys then
a bisect inside a node of at most 100 entries, so O(log n); a range walks from
there, O(log n + m). Trimming removes whole nodes from the head, and deleting
the last live entry of a node removes that node: both are a ``del`` on a list of
n/100 pointers, a memmove that stays far below the cost of one command even at
millions of entries, while a ``SortedList`` of entries costs a tree update per
entry appended or trimmed and several times the memory.

Consumer groups hold a pending entries list (PEL): a dict ID → ``Nack`` with a
``SortedList`` of the IDs for ranges (XPENDING, XAUTOCLAIM, XINFO FULL); each
consumer keeps a ``SortedList`` of the IDs it owns. Group and consumer names
are kept in dicts and sorted when listed (Redis lists them in radix-tree, i.e.
byte, order).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator

from sortedcontainers import SortedList

MAX_ID = (1 << 128) - 1
SEQ_MASK = (1 << 64) - 1
U64_MAX = SEQ_MASK
INVALID_ENTRIES_READ = -1  # SCG_INVALID_ENTRIES_READ
LISTPACK_MAX_SIZE = 1 << 30  # STREAM_LISTPACK_MAX_SIZE


def format_id(sid: int) -> bytes:
    return b"%d-%d" % (sid >> 64, sid & SEQ_MASK)


# -- listpack sizes, to split nodes exactly where Redis does ------------------------------------


def _backlen_size(n: int) -> int:
    if n <= 127:
        return 1
    if n < 16383:
        return 2
    if n < 2097151:
        return 3
    if n < 268435455:
        return 4
    return 5


def int_entry_size(v: int) -> int:
    """Bytes of a listpack integer entry holding ``v``, its back-length included."""
    if 0 <= v <= 127:
        return 2
    if -4096 <= v <= 4095:
        return 3
    if -32768 <= v <= 32767:
        return 4
    if -8388608 <= v <= 8388607:
        return 5
    if -2147483648 <= v <= 2147483647:
        return 6
    return 10


def _as_lp_int(s: bytes) -> int | None:
    """``s`` as lpStringToInt64 reads it (canonical decimal within int64), else None."""
    n = len(s)
    if n == 0 or n > 20:
        return None
    first = s[0]
    if first == 45:  # '-'
        if n == 1 or not 49 <= s[1] <= 57:
            return None
    elif not 48 <= first <= 57 or (first == 48 and n > 1):
        return None
    if not s[1:].isdigit():
        return None
    v = int(s)
    if not -(1 << 63) <= v < (1 << 63):
        return None
    return v


def entry_size(s: bytes) -> int:
    """Bytes of ``s`` as one listpack entry (Redis stores integer-looking strings as integers)."""
    n = len(s)
    if n <= 20 and n and (48 <= s[0] <= 57 or s[0] == 45):
        v = _as_lp_int(s)
        if v is not None:
            return int_entry_size(v)
    if n < 64:
        return n + 2  # 1 byte header + data, back-length 1 (n+1 <= 127)
    if n < 4096:
        return n + 2 + _backlen_size(n + 2)
    return n + 5 + _backlen_size(n + 5)


# -- entries -----------------------------------------------------------------------------------


class Node:
    """One radix-tree node: the entries of one listpack, tombstones included (``None`` rows)."""

    __slots__ = ("master", "fields", "ids", "rows", "live", "dead", "lp_base")

    def __init__(self, master: int, fields: tuple[bytes, ...]):
        self.master = master
        self.fields = fields  # the master entry's field names
        self.ids: list[int] = []
        self.rows: list[tuple[bytes, ...] | None] = []  # flat field, value, field, value ...
        self.live = 0
        self.dead = 0
        # Listpack bytes except the two counters (live, deleted) of the master entry:
        # header 6 + end 1 + num-fields + master fields + terminator 0.
        self.lp_base = 7 + int_entry_size(len(fields)) + sum(map(entry_size, fields)) + 2

    def lp_bytes(self) -> int:
        return self.lp_base + int_entry_size(self.live) + int_entry_size(self.dead)

    def add(self, sid: int, row: tuple[bytes, ...]) -> None:
        fields = self.fields
        n = len(row) // 2
        same = n == len(fields) and row[0::2] == fields
        master = self.master
        size = int_entry_size(2 if same else 0)
        size += _delta_size((sid >> 64) - (master >> 64)) + _delta_size((sid & SEQ_MASK) - (master & SEQ_MASK))
        if same:
            size += sum(map(entry_size, row[1::2]))
            row = tuple(x for pair in zip(fields, row[1::2], strict=True) for x in pair)  # share field objects
            size += int_entry_size(n + 3)
        else:
            size += int_entry_size(n) + sum(map(entry_size, row)) + int_entry_size(2 * n + 4)
        self.lp_base += size
        self.ids.append(sid)
        self.rows.append(row)
        self.live += 1

    def first_live(self) -> int:
        rows = self.rows
        for i, row in enumerate(rows):
            if row is not None:
                return self.ids[i]
        raise ValueError("empty node")

    def last_live(self) -> int:
        rows = self.rows
        for i in range(len(rows) - 1, -1, -1):
            if rows[i] is not None:
                return self.ids[i]
        raise ValueError("empty node")


def _delta_size(delta: int) -> int:
    """A seq delta is stored as a uint64 difference read back as int64 (lpAppendInteger)."""
    delta &= SEQ_MASK
    if delta >= 1 << 63:
        delta -= 1 << 64
    return int_entry_size(delta)


class Nack:
    """A pending entry: last delivery time (ms), delivery count, owning consumer."""

    __slots__ = ("delivery_time", "delivery_count", "consumer")

    def __init__(self, consumer: Consumer | None, now: int):
        self.delivery_time = now
        self.delivery_count = 1
        self.consumer = consumer


class Consumer:
    __slots__ = ("name", "seen_time", "pel")

    def __init__(self, name: bytes, now: int):
        self.name = name
        self.seen_time = now
        self.pel: SortedList = SortedList()


class Group:
    __slots__ = ("last_id", "entries_read", "pel", "pel_index", "consumers")

    def __init__(self, last_id: int, entries_read: int):
        self.last_id = last_id
        self.entries_read = entries_read
        self.pel: dict[int, Nack] = {}
        self.pel_index: SortedList = SortedList()
        self.consumers: dict[bytes, Consumer] = {}

    def add_nack(self, sid: int, nack: Nack) -> None:
        self.pel[sid] = nack
        self.pel_index.add(sid)
        if nack.consumer is not None:
            nack.consumer.pel.add(sid)

    def remove_nack(self, sid: int) -> Nack | None:
        nack = self.pel.pop(sid, None)
        if nack is not None:
            self.pel_index.remove(sid)
            if nack.consumer is not None:
                nack.consumer.pel.discard(sid)
        return nack

    def delete_consumer(self, consumer: Consumer) -> int:
        pending = len(consumer.pel)
        for sid in list(consumer.pel):
            self.pel.pop(sid, None)
            self.pel_index.discard(sid)
        del self.consumers[consumer.name]
        return pending

    def copy(self, consumers_map: dict[int, Consumer] | None = None) -> Group:
        new = Group(self.last_id, self.entries_read)
        mapping: dict[int, Consumer] = {}
        for name, c in self.consumers.items():
            nc = Consumer(name, c.seen_time)
            nc.pel = SortedList(c.pel)
            new.consumers[name] = nc
            mapping[id(c)] = nc
        for sid, nack in self.pel.items():
            nn = Nack(None, nack.delivery_time)
            nn.delivery_count = nack.delivery_count
            nn.consumer = mapping.get(id(nack.consumer)) if nack.consumer is not None else None
            new.pel[sid] = nn
        new.pel_index = SortedList(self.pel_index)
        return new


class StreamValue:
    """A Redis stream: nodes of entries, the 7.0 metadata and the consumer groups."""

    __slots__ = ("nodes", "keys", "length", "last_id", "first_id", "max_deleted_id", "entries_added", "groups")
    TYPE_NAME = b"stream"

    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.keys: list[int] = []  # master ID of each node, ascending
        self.length = 0
        self.last_id = 0
        self.first_id = 0  # recorded-first-entry-id
        self.max_deleted_id = 0
        self.entries_added = 0
        self.groups: dict[bytes, Group] | None = None

    def __len__(self) -> int:
        return self.length

    def encoding(self) -> bytes:
        return b"stream"

    def memory_items(self) -> Iterator[object]:
        for node in self.nodes:
            for row in node.rows:
                if row is not None:
                    yield row

    # -- writing -------------------------------------------------------------------------------

    def append(self, sid: int, row: tuple[bytes, ...], max_bytes: int, max_entries: int) -> None:
        """Add an entry whose ID the caller checked is above ``last_id`` (streamAppendItem)."""
        nodes = self.nodes
        node = nodes[-1] if nodes else None
        if node is not None:
            limit = max_bytes if 0 < max_bytes <= LISTPACK_MAX_SIZE else LISTPACK_MAX_SIZE
            if node.lp_bytes() + sum(map(len, row)) >= limit:
                node = None
            elif max_entries and node.live + node.dead >= max_entries:
                node = None
        if node is None:
            node = Node(sid, row[0::2])
            nodes.append(node)
            self.keys.append(sid)
        node.add(sid, row)
        self.length += 1
        self.entries_added += 1
        self.last_id = sid
        if self.length == 1:
            self.first_id = sid

    def _locate(self, sid: int) -> tuple[int, int] | None:
        """(node index, row index) of a live entry ``sid``, else None."""
        i = bisect_right(self.keys, sid) - 1
        if i < 0:
            return None
        node = self.nodes[i]
        j = bisect_left(node.ids, sid)
        if j < len(node.ids) and node.ids[j] == sid and node.rows[j] is not None:
            return i, j
        return None

    def get(self, sid: int) -> tuple[bytes, ...] | None:
        where = self._locate(sid)
        if where is None:
            return None
        return self.nodes[where[0]].rows[where[1]]

    def exists(self, sid: int) -> bool:
        return self._locate(sid) is not None

    def delete(self, sid: int) -> bool:
        """XDEL of one ID: a tombstone, or the whole node once it has no live entry left."""
        where = self._locate(sid)
        if where is None:
            return False
        i, j = where
        node = self.nodes[i]
        if node.live == 1:
            del self.nodes[i]
            del self.keys[i]
        else:
            node.rows[j] = None
            node.live -= 1
            node.dead += 1
        self.length -= 1
        return True

    def refresh_first(self) -> None:
        self.first_id = self.nodes[0].first_live() if self.length else 0

    def trim(self, maxlen: int | None, minid: int | None, approx: bool, limit: int) -> int:
        """streamTrim: drop entries from the head; whole nodes only when ``approx``."""
        deleted = 0
        nodes = self.nodes
        drop = 0  # whole nodes removed from the head
        for node in nodes:
            if maxlen is not None and self.length <= maxlen:
                break
            entries = node.live
            if limit and deleted + entries > limit:
                break
            if maxlen is not None:
                remove = self.length - entries >= maxlen
            else:
                remove = node.ids[-1] < minid  # type: ignore[operator]
            if remove:
                drop += 1
                self.length -= entries
                deleted += entries
                continue
            if approx:
                break
            rows = node.rows
            ids = node.ids
            removed = 0
            for j in range(len(ids)):
                if maxlen is not None:
                    if self.length <= maxlen:
                        break
                elif ids[j] >= minid:  # type: ignore[operator]
                    break
                if rows[j] is not None:
                    rows[j] = None
                    removed += 1
                    self.length -= 1
            node.live -= removed
            node.dead += removed
            deleted += removed
            break
        if drop:
            del nodes[:drop]
            del self.keys[:drop]
        if self.length == 0:
            self.first_id = 0
        elif deleted:
            self.refresh_first()
        return deleted

    # -- reading -------------------------------------------------------------------------------

    def range(self, start: int, end: int, count: int = 0, rev: bool = False) -> list[tuple[int, tuple[bytes, ...]]]:
        """Live entries with start <= ID <= end, at most ``count`` (0: all), forwards or backwards."""
        out: list[tuple[int, tuple[bytes, ...]]] = []
        if start > end or not self.length:
            return out
        keys = self.keys
        nodes = self.nodes
        if not rev:
            i = bisect_right(keys, start) - 1
            if i < 0:
                i = 0
            n = len(nodes)
            while i < n:
                node = nodes[i]
                if node.master > end:
                    break
                ids = node.ids
                rows = node.rows
                j = bisect_left(ids, start) if node.master < start else 0
                m = len(ids)
                while j < m:
                    sid = ids[j]
                    if sid > end:
                        return out
                    row = rows[j]
                    if row is not None:
                        out.append((sid, row))
                        if len(out) == count:
                            return out
                    j += 1
                i += 1
        else:
            i = bisect_right(keys, end) - 1
            while i >= 0:
                node = nodes[i]
                ids = node.ids
                rows = node.rows
                j = bisect_right(ids, end) - 1
                while j >= 0:
                    sid = ids[j]
                    if sid < start:
                        return out
                    row = rows[j]
                    if row is not None:
                        out.append((sid, row))
                        if len(out) == count:
                            return out
                    j -= 1
                i -= 1
        return out

    def first_entry(self) -> tuple[int, tuple[bytes, ...]] | None:
        got = self.range(0, MAX_ID, 1)
        return got[0] if got else None

    def last_entry(self) -> tuple[int, tuple[bytes, ...]] | None:
        got = self.range(0, MAX_ID, 1, rev=True)
        return got[0] if got else None

    def last_valid_id(self) -> int:
        """streamLastValidID: the ID of the last live entry (0 when empty)."""
        if not self.length:
            return 0
        return self.nodes[-1].last_live()

    def radix_tree_nodes(self) -> int:
        """rax->numnodes of the radix tree keyed by the 16-byte big-endian master IDs."""
        keys = [k.to_bytes(16, "big") for k in self.keys]
        if not keys:
            return 1
        nodes: set[bytes] = {b""}
        nodes.update(keys)
        for a, b in zip(keys, keys[1:], strict=False):
            n = 0
            while a[n] == b[n]:
                n += 1
            nodes.add(a[:n])
            nodes.add(a[: n + 1])
            nodes.add(b[: n + 1])
        return len(nodes)

    # -- the 7.0 counters ----------------------------------------------------------------------

    def range_has_tombstones(self, start: int, end: int = MAX_ID) -> bool:
        mdel = self.max_deleted_id
        if not self.length or not mdel:
            return False
        if self.first_id > mdel:
            return False
        return start <= mdel <= end

    def estimate_distance(self, sid: int) -> int:
        """streamEstimateDistanceFromFirstEverEntry."""
        if not self.entries_added:
            return 0
        if not self.length and sid <= self.last_id:
            return self.entries_added
        if sid == self.last_id:
            return self.entries_added
        if sid > self.last_id:
            return INVALID_ENTRIES_READ
        mdel = self.max_deleted_id
        if not mdel or mdel < self.first_id:
            if sid < self.first_id:
                return self.entries_added - self.length
            if sid == self.first_id:
                return self.entries_added - self.length + 1
        return INVALID_ENTRIES_READ

    def lag(self, group: Group) -> int | None:
        if not self.entries_added:
            return 0
        if group.entries_read != INVALID_ENTRIES_READ and not self.range_has_tombstones(group.last_id):
            return self.entries_added - group.entries_read
        read = self.estimate_distance(group.last_id)
        if read != INVALID_ENTRIES_READ:
            return self.entries_added - read
        return None

    def note_delivered(self, group: Group, sid: int) -> bool:
        """Advance a group past ``sid`` with its read counter (in streamReplyWithRange); True if it moved."""
        if sid <= group.last_id:
            return False
        if group.entries_read != INVALID_ENTRIES_READ and not self.range_has_tombstones(sid):
            group.entries_read += 1
        elif self.entries_added:
            group.entries_read = self.estimate_distance(sid)
        group.last_id = sid
        return True

    # -- groups --------------------------------------------------------------------------------

    def group(self, name: bytes) -> Group | None:
        groups = self.groups
        return None if groups is None else groups.get(name)

    def create_group(self, name: bytes, last_id: int, entries_read: int) -> Group | None:
        if self.groups is None:
            self.groups = {}
        if name in self.groups:
            return None
        group = self.groups[name] = Group(last_id, entries_read)
        return group

    # -- copies and persistence ----------------------------------------------------------------

    def copy(self) -> StreamValue:
        new = StreamValue()
        for node in self.nodes:
            nn = Node(node.master, node.fields)
            nn.ids = list(node.ids)
            nn.rows = list(node.rows)
            nn.live, nn.dead, nn.lp_base = node.live, node.dead, node.lp_base
            new.nodes.append(nn)
        new.keys = list(self.keys)
        new.length, new.last_id, new.first_id = self.length, self.last_id, self.first_id
        new.max_deleted_id, new.entries_added = self.max_deleted_id, self.entries_added
        if self.groups is not None:
            new.groups = {name: g.copy() for name, g in self.groups.items()}
        return new

    def entries(self) -> Iterator[tuple[int, tuple[bytes, ...]]]:
        for node in self.nodes:
            for sid, row in zip(node.ids, node.rows, strict=True):
                if row is not None:
                    yield sid, row
