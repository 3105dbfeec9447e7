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

Structure and cost: nodes are kept in a plain list with a parallel list of their
master IDs. Appending is O(1) (into the tail node, or a new node at the end);
finding an ID is a bisect over node keys then a bisect inside a node of at most
100 entries, so O(log n); a range walks from there, O(log n + m), one slice per
node. Trimming removes whole nodes from the head, and deleting the last live
entry of a node removes that node: a ``del`` on a list of n/100 pointers, a
memmove far below the cost of one command even at millions of entries. A node
that stops being the tail is *frozen* into arrays and one blob (see ``Node``).
``benchmarks/stream_structure.py`` measures the alternative the issue names, a
``SortedList`` of entry IDs with a dict of rows, on 300,000 entries (same run,
busy 2-core machine): trimming costs 0.02 µs per entry here against 5-7 µs
there (a tree update per entry), XDEL 33 against 23 µs, memory 61 against 185
bytes per entry; appending (8-14 against 3 µs) and reading 100 entries from a
random ID (~200 against ~115 µs) cost more, but both stay well below the cost
of the command around them, while memory is what the issue's 1M-entry target
(≤ 3x Redis per entry) depends on.

Consumer groups hold a pending entries list (PEL): a dict ID → ``Nack`` with an
``IdSet`` (sorted blocks) of the IDs for ranges (XPENDING, XAUTOCLAIM, XINFO FULL);
each consumer keeps an ``IdSet`` of the IDs it owns. Group and consumer names
are kept in dicts and sorted when listed (Redis lists them in radix-tree, i.e.
byte, order).
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator
from itertools import accumulate, chain, islice
from typing import cast

import hiredis

from server.protocol import BULK_HEADERS, CRLF

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


_EMPTY_Q: array[int] = array("Q")  # shared placeholders: never written to
_NO_GONE: set[int] = set()  # the tombstones of a frozen node without any (never added to)
_NO_ROWS: list[bytes | None] = []  # the row list of a frozen node (never appended to)
ROW_SIZE = 2  # a one-field entry's back-count: int_entry_size(n + 3) with n = 1
# Upper bounds, in listpack bytes: the two counters of a node's master entry (10 each at most),
# and an entry holding just the master field beyond its value's length (flags 2, ID deltas 10
# each, the value's header and back-length 10, the back-count 2).
COUNTERS_BOUND = 20
UNSIZED_ENTRY = 34


def encode_row(row: tuple[bytes, ...]) -> bytes:
    """An entry's fields and values as the RESP array every reply sends (the same in RESP2 and RESP3)."""
    if len(row) == 2:  # one field and its value, the usual entry: one format, no join
        f, v = row
        return b"*2\r\n$%d\r\n%b\r\n$%d\r\n%b\r\n" % (len(f), f, len(v), v)
    return b"*%d\r\n" % len(row) + b"".join([b"$%d\r\n%s\r\n" % (len(x), x) for x in row])


def encode_entries_py(ms: list[int] | array[int], seq: list[int] | array[int], rows: list[bytes | None] | bytes,
                      offs: array[int], gone: set[int], j: int, k: int, rev: bool, limit: int) -> tuple[int, bytes]:
    """A node's entries j..k-1 (k-1 down to j when ``rev``), at most ``limit`` (0: all), as the RESP
    pairs ``[id, [field, value ...]]`` replies send, deleted entries skipped: (how many, the bytes).

    ``rows`` is an open node's list (None: deleted) or a frozen node's blob cut at ``offs``
    (deleted positions in ``gone``). The reference for ``entries`` in ``_hllgeo.c``, which
    replies use when it is built (the same bytes, tests/server/test_hllgeo_c.py).
    """
    parts = []
    for x in range(k - 1, j - 1, -1) if rev else range(j, k):
        if isinstance(rows, list):
            row = rows[x]
            if row is None:
                continue
        elif x in gone:
            continue
        else:
            row = rows[offs[x]:offs[x + 1]]
        text = b"%d-%d" % (ms[x], seq[x])
        parts.append(b"*2\r\n$%d\r\n%b\r\n%b" % (len(text), text, row))
        if len(parts) == limit:
            break
    return len(parts), b"".join(parts)


encode_entries: Callable[[list[int] | array[int], list[int] | array[int], list[bytes | None] | bytes, array[int],
                          set[int], int, int, bool, int], tuple[int, bytes]]
try:
    from server.datatypes._hllgeo import entries as encode_entries
except ImportError:  # an install that did not build the extension (or an older build of it)
    encode_entries = encode_entries_py


def decode_row(encoded: bytes) -> tuple[bytes, ...]:
    reader = hiredis.Reader()
    reader.feed(encoded)
    return tuple(reader.gets())


class Node:
    """One radix-tree node: the entries of one listpack, tombstones included.

    IDs are kept as their two halves, ``ms`` and ``seq``: lists while the node is the tail
    of the stream (*open*), arrays of numbers once a newer node starts (*frozen*, ``freeze``:
    64-bit ones, 32-bit for ``seq`` when every one fits). Either way ``ms[i] << 64 | seq[i]``
    is entry i's ID and both bisect alike.
    An entry's fields and values are kept as their RESP encoding (one bytes object: replies
    copy it as it is, and it costs less memory than a tuple of strings): in ``rows`` while
    open (``None`` marks a tombstone), then in one blob with an offset array, tombstones in
    ``gone``. That brings an entry with small fields to a few dozen bytes, near what Redis's
    listpack takes. While the node is open and its master entry has one field, ``usual`` is
    that field (else None) and ``prefix`` the encoded start of a row holding just it (the
    usual entry: its row is the prefix, then the value); XADD's common path asks only
    ``usual``.
    """

    __slots__ = ("master", "fields", "live", "dead", "lp_base", "lp_bound", "sized", "frozen", "ms", "seq",
                 "rows", "blob", "offs", "gone", "prefix", "usual", "master_ms", "master_seq")

    def __init__(self, master: int, fields: tuple[bytes, ...]):
        self.master = master
        self.master_ms = master >> 64
        self.master_seq = master & SEQ_MASK
        self.fields = fields  # the master entry's field names
        self.live = 0
        self.dead = 0
        # Listpack bytes except the two counters (live, deleted) of the master entry:
        # header 6 + end 1 + num-fields + master fields + terminator 0. Exact for the
        # first ``sized`` entries; those after them (XADD's common path) are counted only
        # in ``lp_bound`` (an upper bound of the exact count, ``settle`` makes it exact).
        self.lp_base = self.lp_bound = 7 + int_entry_size(len(fields)) + sum(map(entry_size, fields)) + 2
        self.sized = 0
        self.frozen = False
        self.ms: list[int] | array[int] = []
        self.seq: list[int] | array[int] = []
        self.rows: list[bytes | None] = []  # open node
        self.blob = b""  # frozen node
        self.offs: array[int] = _EMPTY_Q
        self.gone: set[int] = _NO_GONE
        self.usual: bytes | None = None
        self.prefix = b""
        self.open_usual()

    def open_usual(self) -> None:
        """``usual`` and ``prefix`` of an open node (a frozen one drops them: no more entries)."""
        if len(self.fields) == 1:
            f = self.usual = self.fields[0]
            self.prefix = b"*2\r\n$%d\r\n%b\r\n" % (len(f), f)
        else:
            self.usual = None
            self.prefix = b""

    def lp_bytes(self) -> int:
        """The listpack's exact size, as Redis counts it to split nodes (``stream-node-max-bytes``)."""
        if self.sized != len(self.ms):
            self.settle()
        return self.lp_base + int_entry_size(self.live) + int_entry_size(self.dead)

    def entry_bytes(self, ms: int, seq: int, row: tuple[bytes, ...]) -> int:
        """The listpack bytes of an entry of this node, as Redis encodes it."""
        fields = self.fields
        n = len(row) >> 1
        dms = ms - self.master_ms
        dseq = seq - self.master_seq
        # flags (always 1 byte + back-length), then the two ID deltas (usually small)
        size = 2 + (2 if 0 <= dms <= 127 else delta_size(dms)) + (2 if 0 <= dseq <= 127 else delta_size(dseq))
        if n == 1:  # one field: no slicing; the sizes of a 1-field entry's counters are constants
            if len(fields) == 1 and row[0] == fields[0]:
                return size + entry_size(row[1]) + ROW_SIZE
            return size + 2 + entry_size(row[0]) + entry_size(row[1]) + 2
        if n == len(fields) and row[0::2] == fields:
            return size + sum(map(entry_size, row[1::2])) + int_entry_size(n + 3)
        return size + int_entry_size(n) + sum(map(entry_size, row)) + int_entry_size(2 * n + 4)

    def settle(self) -> None:
        """Count the entries after the first ``sized`` exactly (their rows are still whole: ``kill``
        settles first)."""
        ms, seq = self.ms, self.seq
        end = len(ms)
        for i in range(self.sized, end):
            row = self.row_at(i)
            assert row is not None
            self.lp_base += self.entry_bytes(ms[i], seq[i], decode_row(row))
        self.lp_bound = self.lp_base
        self.sized = end

    def add(self, ms: int, seq: int, row: tuple[bytes, ...]) -> None:
        """Append an entry (to an open node), counting its listpack bytes as Redis encodes them."""
        if self.sized != len(self.ms):  # the entries counted later stay the last ones
            self.settle()
        size = self.entry_bytes(ms, seq, row)
        self.lp_base += size
        self.lp_bound += size
        self.ms.append(ms)
        self.seq.append(seq)
        self.rows.append(encode_row(row))
        self.live += 1
        self.sized += 1

    def add_usual(self, ms: int, seq: int, value: bytes) -> None:
        """Append the usual entry (one field, the node's master field, to an open node) uncounted:
        a bound now, the exact listpack bytes later (``settle``). XADD's common path comes here."""
        n = len(value)
        self.lp_bound += n + UNSIZED_ENTRY
        self.ms.append(ms)
        self.seq.append(seq)
        self.rows.append(b"".join((self.prefix, BULK_HEADERS[n], value, CRLF)) if n < 1024
                         else self.prefix + b"$%d\r\n%b\r\n" % (n, value))
        self.live += 1

    def freeze(self) -> None:
        """Pack a node that will take no more entries (see the class docstring)."""
        if self.frozen:
            return
        rows = self.rows
        self.ms = array("Q", self.ms)
        # Sequence numbers are small but for explicit IDs: 4 bytes each when they all fit.
        self.seq = array("I" if max(self.seq, default=0) <= 0xFFFFFFFF else "Q", self.seq)
        if not self.dead:  # no tombstone: the offsets are the running sum of the row sizes (in C)
            full = cast("list[bytes]", rows)
            self.offs = array("I", accumulate(map(len, full), initial=0))
            self.blob = b"".join(full)
        else:
            offs = array("I", [0])
            pos = 0
            gone: set[int] = set()
            parts = []
            for k, row in enumerate(rows):
                if row is None:
                    gone.add(k)
                else:
                    parts.append(row)
                    pos += len(row)
                offs.append(pos)
            self.blob = b"".join(parts)
            self.offs = offs
            self.gone = gone
        self.rows = _NO_ROWS
        self.frozen = True
        self.usual = None
        self.prefix = b""

    def thaw(self) -> None:
        """Back to lists: the tail node was deleted and this one is the tail again (it may take entries)."""
        if not self.frozen:
            return
        self.rows = [self.row_at(i) for i in range(len(self.ms))]
        self.ms = list(self.ms)
        self.seq = list(self.seq)
        self.offs = _EMPTY_Q
        self.blob = b""
        self.gone = _NO_GONE
        self.frozen = False
        self.open_usual()
        if self.sized != len(self.ms):
            self.settle()

    def __len__(self) -> int:
        return len(self.ms)

    def id_at(self, i: int) -> int:
        return self.ms[i] << 64 | self.seq[i]

    def row_at(self, i: int) -> bytes | None:
        if not self.frozen:
            return self.rows[i]
        if i in self.gone:
            return None
        offs = self.offs
        return self.blob[offs[i]:offs[i + 1]]

    def bisect_left(self, sid: int) -> int:
        """IDs ascend: the run of entries with sid's ms, then its seq within the run (all in C)."""
        ms, m = self.ms, sid >> 64
        lo = bisect_left(ms, m)
        return bisect_left(self.seq, sid & SEQ_MASK, lo, bisect_right(ms, m, lo))

    def bisect_right(self, sid: int) -> int:
        ms, m = self.ms, sid >> 64
        lo = bisect_left(ms, m)
        return bisect_right(self.seq, sid & SEQ_MASK, lo, bisect_right(ms, m, lo))

    def kill(self, i: int) -> None:
        """Turn entry ``i`` into a tombstone (Redis flags it deleted inside the listpack)."""
        if self.sized != len(self.ms):
            self.settle()
        if not self.frozen:
            self.rows[i] = None
        else:
            if self.gone is _NO_GONE:
                self.gone = set()
            self.gone.add(i)
        self.live -= 1
        self.dead += 1

    def first_live(self) -> int:
        for i in range(len(self)):
            if self.row_at(i) is not None:
                return self.id_at(i)
        raise ValueError("empty node")

    def last_live(self) -> int:
        if not self.dead:  # no tombstone: the last entry (XREADGROUP asks on every read)
            return self.ms[-1] << 64 | self.seq[-1]
        for i in range(len(self) - 1, -1, -1):
            if self.row_at(i) is not None:
                return self.id_at(i)
        raise ValueError("empty node")

    def items(self) -> Iterator[tuple[int, bytes | None]]:
        for i in range(len(self)):
            yield self.id_at(i), self.row_at(i)

    def copy(self) -> Node:
        new = Node(self.master, self.fields)
        new.live, new.dead, new.lp_base, new.lp_bound, new.sized = (self.live, self.dead, self.lp_base,
                                                                    self.lp_bound, self.sized)
        if not self.frozen:
            new.ms, new.seq, new.rows = list(self.ms), list(self.seq), list(self.rows)
        else:
            new.frozen = True
            new.usual = None
            new.prefix = b""
            new.ms, new.seq, new.blob, new.offs = self.ms, self.seq, self.blob, self.offs  # immutable once frozen
            new.rows = _NO_ROWS
            new.gone = set(self.gone) if self.gone else _NO_GONE
        return new

def delta_size(delta: int) -> int:
    """A seq delta is stored as a uint64 difference read back as int64 (lpAppendInteger)."""
    delta &= SEQ_MASK
    if delta >= 1 << 63:
        delta -= 1 << 64
    return int_entry_size(delta)


ID_BLOCK = 1000  # IDs per block of an IdSet: blocks grow to twice this before a split


class IdSet:
    """A sorted set of stream IDs (the order of a PEL): sorted blocks, the largest ID of each in ``maxes``.

    What ``sortedcontainers.SortedList`` gives (O(log n) add, discard and ranges: two bisects,
    then a memmove inside one block of at most 2 * ``ID_BLOCK`` IDs), with the PEL's usual
    shapes done in one call and a few C-level list operations: a run of new IDs above all
    those held (XREADGROUP ``>``) is appended (``add_run``), and acknowledged IDs that are
    the oldest pending (a consumer acknowledging what it read) are cut off the first block
    with one slice deletion (``discard_sorted``). Blocks emptied by deletions are dropped,
    so every block holds at least one ID.
    """

    __slots__ = ("blocks", "maxes", "size")

    def __init__(self, sids: Iterable[int] = ()):
        ordered = sorted(set(sids))
        self.blocks: list[list[int]] = [ordered[i:i + ID_BLOCK] for i in range(0, len(ordered), ID_BLOCK)]
        self.maxes: list[int] = [block[-1] for block in self.blocks]
        self.size = len(ordered)

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[int]:
        return chain.from_iterable(self.blocks)

    def __contains__(self, sid: int) -> bool:
        i = bisect_left(self.maxes, sid)
        if i == len(self.maxes):
            return False
        block = self.blocks[i]
        return block[bisect_left(block, sid)] == sid

    def first(self) -> int:
        return self.blocks[0][0]

    def last(self) -> int:
        return self.maxes[-1]

    def add(self, sid: int) -> None:
        maxes, blocks = self.maxes, self.blocks
        if not maxes or sid > maxes[-1]:  # above every ID: at the end
            if maxes and len(blocks[-1]) < ID_BLOCK:
                blocks[-1].append(sid)
                maxes[-1] = sid
            else:
                blocks.append([sid])
                maxes.append(sid)
        else:
            i = bisect_left(maxes, sid)
            block = blocks[i]
            j = bisect_left(block, sid)
            if block[j] == sid:
                return
            block.insert(j, sid)
            if len(block) > 2 * ID_BLOCK:
                blocks.insert(i + 1, block[ID_BLOCK:])
                del block[ID_BLOCK:]
                maxes.insert(i, block[-1])
        self.size += 1

    def add_run(self, sids: list[int]) -> None:
        """Add ascending IDs, none of them held yet."""
        maxes = self.maxes
        if maxes and sids[0] <= maxes[-1]:
            for sid in sids:
                self.add(sid)
            return
        blocks = self.blocks
        if maxes and len(blocks[-1]) + len(sids) <= ID_BLOCK:
            blocks[-1].extend(sids)
            maxes[-1] = sids[-1]
        else:
            for i in range(0, len(sids), ID_BLOCK):
                block = sids[i:i + ID_BLOCK]
                blocks.append(block)
                maxes.append(block[-1])
        self.size += len(sids)

    def discard(self, sid: int) -> bool:
        maxes = self.maxes
        i = bisect_left(maxes, sid)
        if i == len(maxes):
            return False
        block = self.blocks[i]
        j = bisect_left(block, sid)
        if block[j] != sid:
            return False
        del block[j]
        if not block:
            del self.blocks[i]
            del maxes[i]
        elif j == len(block):
            maxes[i] = block[-1]
        self.size -= 1
        return True

    def discard_sorted(self, sids: list[int]) -> None:
        """Remove ascending IDs that are all held (at once when they are the first IDs held)."""
        blocks = self.blocks
        head = blocks[0]
        k = len(sids)
        if head[:k] == sids:
            if k == len(head):
                del blocks[0]
                del self.maxes[0]
            else:
                del head[:k]
            self.size -= k
            return
        for sid in sids:
            self.discard(sid)

    def irange(self, start: int, end: int = MAX_ID) -> Iterator[int]:
        """The IDs from ``start`` to ``end`` included, ascending (the set must not change meanwhile)."""
        blocks = self.blocks
        i = bisect_left(self.maxes, start)
        if i == len(blocks):
            return
        block = blocks[i]
        j = bisect_left(block, start)
        while True:
            if block[-1] <= end:
                yield from islice(block, j, None)
            else:
                yield from islice(block, j, bisect_right(block, end))
                return
            i += 1
            if i == len(blocks):
                return
            block = blocks[i]
            j = 0


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
        self.pel = IdSet()


class Group:
    __slots__ = ("last_id", "entries_read", "pel", "pel_index", "consumers")

    def __init__(self, last_id: int, entries_read: int):
        self.last_id = last_id
        self.entries_read = entries_read
        self.pel: dict[int, Nack] = {}
        self.pel_index = IdSet()
        self.consumers: dict[bytes, Consumer] = {}

    def add_nack(self, sid: int, nack: Nack) -> None:
        self.pel[sid] = nack
        self.pel_index.add(sid)
        if nack.consumer is not None:
            nack.consumer.pel.add(sid)

    def remove_nack(self, sid: int) -> Nack | None:
        nack = self.pel.pop(sid, None)
        if nack is not None:
            self.pel_index.discard(sid)
            if nack.consumer is not None:
                nack.consumer.pel.discard(sid)
        return nack

    def ack(self, sids: list[int]) -> int:
        """XACK: drop the pending entries among ``sids``; how many there were."""
        pel = self.pel
        gone = [(sid, nack) for sid in sids if (nack := pel.pop(sid, None)) is not None]
        if not gone:
            return 0
        ids = [sid for sid, _nack in gone]
        ids.sort()
        self.pel_index.discard_sorted(ids)
        owner = gone[0][1].consumer
        if owner is not None and all(nack.consumer is owner for _sid, nack in gone):
            owner.pel.discard_sorted(ids)
        else:
            for sid, nack in gone:
                if nack.consumer is not None:
                    nack.consumer.pel.discard(sid)
        return len(ids)

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
            nc.pel = IdSet(c.pel)
            new.consumers[name] = nc
            mapping[id(c)] = nc
        for sid, nack in self.pel.items():
            nn = Nack(None, nack.delivery_time)
            nn.delivery_count = nack.delivery_count
            nn.consumer = mapping.get(id(nack.consumer)) if nack.consumer is not None else None
            new.pel[sid] = nn
        new.pel_index = IdSet(self.pel_index)
        return new


class StreamValue:
    """A Redis stream: nodes of entries, the 7.0 metadata and the consumer groups."""

    __slots__ = ("nodes", "keys", "length", "last_id", "first_id", "max_deleted_id", "entries_added", "groups",
                 "_rax_nodes")
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
        self._rax_nodes: tuple[int, int, int, int] | None = None  # (keys, first, last, answer) of the last count

    def __len__(self) -> int:
        return self.length

    def encoding(self) -> bytes:
        return b"stream"

    def memory_items(self) -> Iterator[object]:
        for node in self.nodes:
            for _sid, row in node.items():
                if row is not None:
                    yield row

    # -- writing -------------------------------------------------------------------------------

    def append(self, ms: int, seq: int, row: tuple[bytes, ...], size: int, max_bytes: int, max_entries: int) -> int:
        """Add the entry ``<ms>-<seq>``, which the caller checked is above ``last_id``, and return its ID
        (streamAppendItem). ``size`` is the bytes of its fields and values together.

        The usual entry (one field, the node's master field, to the tail node) goes in
        uncounted (``Node.add_usual``); ``XADD key * field value`` decides the same case
        itself (``commands.streams.xadd``) and calls the same method.
        """
        sid = ms << 64 | seq
        nodes = self.nodes
        if nodes:
            node = nodes[-1]
            if node.frozen:
                node.thaw()
            live = node.live
            limit = max_bytes if 0 < max_bytes <= LISTPACK_MAX_SIZE else LISTPACK_MAX_SIZE
            if max_entries and live + node.dead >= max_entries:
                full = True
            elif node.lp_bound + COUNTERS_BOUND + size < limit:  # fits, whatever the exact count
                full = False
            else:  # as Redis decides: lp_bytes + totelelen >= node_max_bytes
                full = node.lp_bytes() + size >= limit
            if full:
                node.freeze()
                nodes.append(node := Node(sid, row[0::2]))
                self.keys.append(sid)
                node.add(ms, seq, row)
            elif len(row) == 2 and row[0] == node.usual:  # the usual entry: counted later
                node.add_usual(ms, seq, row[1])
            else:
                node.add(ms, seq, row)
        else:
            nodes.append(node := Node(sid, row[0::2]))
            self.keys.append(sid)
            node.add(ms, seq, row)
        self.length += 1
        self.entries_added += 1
        self.last_id = sid
        if self.length == 1:
            self.first_id = sid
        return sid

    def _locate(self, sid: int) -> tuple[int, int] | None:
        """(node index, entry index) of a live entry ``sid``, else None."""
        i = bisect_right(self.keys, sid) - 1
        if i < 0:
            return None
        node = self.nodes[i]
        j = node.bisect_left(sid)
        if j < len(node) and node.id_at(j) == sid and node.row_at(j) is not None:
            return i, j
        return None

    def get(self, sid: int) -> bytes | None:
        """The encoded fields and values of a live entry, or None."""
        where = self._locate(sid)
        if where is None:
            return None
        return self.nodes[where[0]].row_at(where[1])

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
            self._rax_nodes = None
        else:
            node.kill(j)
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
                remove = minid is not None and node.id_at(len(node) - 1) < minid
            if remove:
                drop += 1
                self.length -= entries
                deleted += entries
                continue
            if approx:
                break
            removed = 0
            for j in range(len(node)):
                if maxlen is not None:
                    if self.length <= maxlen:
                        break
                elif minid is not None and node.id_at(j) >= minid:
                    break
                if node.row_at(j) is not None:
                    node.kill(j)
                    removed += 1
                    self.length -= 1
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

    def spans(self, start: int, end: int, rev: bool = False) -> Iterator[tuple[Node, int, int]]:
        """The nodes with entries start <= ID <= end, in reply order, each with the positions
        j..k-1 of those entries (found by bisection: O(log n) to the first node)."""
        if start > end or not self.length:
            return
        nodes = self.nodes
        keys = self.keys
        if not rev:
            i = max(bisect_right(keys, start) - 1, 0)
            stop = bisect_right(keys, end)
        else:
            i = bisect_right(keys, end) - 1
            stop = max(bisect_right(keys, start) - 1, 0)
        step = -1 if rev else 1
        while (i < stop) if not rev else (i >= stop):
            node = nodes[i]
            i += step
            j = node.bisect_left(start) if node.master < start else 0
            k = len(node) if end == MAX_ID else node.bisect_right(end)
            if j < k:
                yield node, j, k

    def range(self, start: int, end: int, count: int = 0, rev: bool = False) -> list[tuple[int, bytes]]:
        """Live entries (ID, encoded row) with start <= ID <= end, at most ``count`` (0: all).

        Each node contributes one slice, built by a comprehension (no per-entry Python loop).
        """
        out: list[tuple[int, bytes]] = []
        for node, j, k in self.spans(start, end, rev):
            if node.frozen:
                ms, seq, offs, blob, gone = node.ms, node.seq, node.offs, node.blob, node.gone
                positions: range | list[int] = range(j, k) if not gone else [x for x in range(j, k) if x not in gone]
                if rev:
                    positions = positions[::-1]
                if count:
                    positions = positions[: count - len(out)]
                out.extend([(ms[x] << 64 | seq[x], blob[offs[x]:offs[x + 1]]) for x in positions])
            else:
                ms, seq, rows = node.ms[j:k], node.seq[j:k], node.rows[j:k]
                if rev:
                    ms.reverse()
                    seq.reverse()
                    rows.reverse()
                got = [(a << 64 | b, c) for a, b, c in zip(ms, seq, rows, strict=True) if c is not None]
                out.extend(got[: count - len(out)] if count else got)
            if count and len(out) >= count:
                break
        return out

    def range_reply(self, start: int, end: int, count: int = 0, rev: bool = False) -> bytes:
        """``range`` as the RESP array XRANGE and XREAD reply with (the same in RESP2 and RESP3),
        written from the nodes in one pass per node (``encode_entries``), no pair built."""
        parts = [b""]
        total = 0
        for node, j, k in self.spans(start, end, rev):
            got, data = encode_entries(node.ms, node.seq, node.blob if node.frozen else node.rows, node.offs,
                                       node.gone, j, k, rev, count - total if count else 0)
            total += got
            parts.append(data)
            if count and total >= count:
                break
        parts[0] = b"*%d\r\n" % total
        return b"".join(parts)

    def first_entry(self) -> tuple[int, bytes] | None:
        got = self.range(0, MAX_ID, 1)
        return got[0] if got else None

    def last_entry(self) -> tuple[int, bytes] | None:
        got = self.range(0, MAX_ID, 1, rev=True)
        return got[0] if got else None

    def last_valid_id(self) -> int:
        """streamLastValidID: the ID of the last live entry (0 when empty)."""
        if not self.length:
            return 0
        return self.nodes[-1].last_live()

    def radix_tree_nodes(self) -> int:
        """rax->numnodes of the radix tree keyed by the 16-byte big-endian master IDs.

        O(nodes), so the answer is kept until the node keys change (nodes are only added at the
        tail and removed whole: their count and both ends tell whether the set is the same,
        except for a middle node emptied by XDEL, which resets the cache).
        """
        stamp = (len(self.keys), self.keys[0], self.keys[-1]) if self.keys else (0, 0, 0)
        cached = self._rax_nodes
        if cached is not None and cached[:3] == stamp:
            return cached[3]
        count = self._count_rax_nodes()
        self._rax_nodes = (*stamp, count)
        return count

    def _count_rax_nodes(self) -> int:
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
        new.nodes = [node.copy() for node in self.nodes]
        new.keys = list(self.keys)
        new.length, new.last_id, new.first_id = self.length, self.last_id, self.first_id
        new.max_deleted_id, new.entries_added = self.max_deleted_id, self.entries_added
        if self.groups is not None:
            new.groups = {name: g.copy() for name, g in self.groups.items()}
        return new

    def entries(self) -> Iterator[tuple[int, tuple[bytes, ...]]]:
        """Every live entry with its fields and values decoded (persistence, not replies)."""
        for node in self.nodes:
            for sid, row in node.items():
                if row is not None:
                    yield sid, decode_row(row)
