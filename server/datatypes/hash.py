"""The hash type: a ``dict`` of field → value that remembers its Redis encoding.

Redis 7.0 keeps a small hash as a listpack and converts it to a hash table
for good once it holds more than ``hash-max-listpack-entries`` fields or any
field or value longer than ``hash-max-listpack-value`` bytes; it never
converts back. ``listpack`` records which side of that line the hash is on,
so OBJECT ENCODING answers like Redis. The commands that write check each
field and value they store against the configured limits as they go
(``set_fields`` in ``server.commands.hashes``); nothing is rescanned later.

A Python dict keeps insertion order and updates in place, exactly the order
a listpack keeps, so HGETALL on a small hash replies in Redis's order.

Two commands need positions in a big hash, which a dict does not offer:
HSCAN (a cursor that survives changes: a field present from the first call to
the last must be returned) and HRANDFIELD (a uniformly random field in O(1)).
Both use ``order``, a list of the fields built the first time one of them
runs, kept up to date by the writers afterwards:

- a new field is appended (``field_added``); a removed one stays in the list,
  remembered in a "dead" set (``field_removed``); a field removed and added
  again takes its old entry back. So every live field has exactly one entry.
- A scan cursor is a position in ``order`` (plus its generation): positions
  never move, so any number of scans can run at once, and each call costs
  O(count). A random pick draws entries until it meets a live one.
- Once the dead outnumber the living, the list is compacted. Cursors of the
  old generation are translated through a table giving, per block of 1024
  old positions, the new position of the block's start: a scan resumes at
  most a block early (repeating a few fields, which Redis allows) and never
  skips one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from itertools import count as counter
from random import randrange

POSITION_BITS = 40  # a cursor is (generation << POSITION_BITS) | position
POSITION_MASK = (1 << POSITION_BITS) - 1
BLOCK_SHIFT = 10  # compaction maps old cursors per block of 1024 positions
GENERATIONS_KEPT = 8  # compactions a paused scan can sleep through and still resume in place
MIN_DEAD = 64  # never compact for fewer dead entries than this

_generations = counter(1)  # unique across hashes, so a foreign cursor is never mistaken for ours


class HashValue(dict):
    """A Redis hash: field bytes → value bytes, in insertion order."""

    __slots__ = ("listpack", "order", "_dead", "_generation", "_old")
    TYPE_NAME = b"hash"

    def __init__(
        self,
        pairs: Mapping[bytes, bytes] | Iterable[tuple[bytes, bytes]] = (),
        max_entries: int = 512,
        max_value: int = 64,
    ):
        super().__init__(pairs)
        self.listpack = self.fits(max_entries, max_value)
        self.order: list[bytes] | None = None  # built by the first HSCAN/HRANDFIELD that needs it
        self._dead: set[bytes] | None = None
        self._generation = 0
        self._old: dict[int, tuple[int, list[int]]] | None = None

    def fits(self, max_entries: int, max_value: int) -> bool:
        """Would Redis keep these contents as a listpack under these limits?"""
        if len(self) > max_entries:
            return False
        for field, value in self.items():
            if len(field) > max_value or len(value) > max_value:
                return False
        return True

    def encoding(self) -> bytes:
        return b"listpack" if self.listpack else b"hashtable"

    def copy(self) -> HashValue:
        """A new hash with the same fields and encoding (COPY keeps the encoding)."""
        dup = HashValue.__new__(HashValue)
        dict.__init__(dup, self)
        dup.listpack = self.listpack
        dup.order = dup._dead = dup._old = None
        dup._generation = 0
        return dup

    def memory_items(self) -> Iterator[bytes]:
        """One object per entry (MEMORY USAGE scales a sample by ``len``): field and value together."""
        for field, value in self.items():
            yield field + value

    # -- the field order (HSCAN, HRANDFIELD) ---------------------------------

    def track(self) -> list[bytes]:
        """The field order, built on first use; from then on writers must report changes."""
        order = self.order
        if order is None:
            order = self.order = list(self)
            self._dead = set()
            self._generation = next(_generations)
        return order

    def field_added(self, field: bytes) -> None:
        """A new field was stored while ``order`` is set: give it an entry."""
        dead = self._dead
        if dead and field in dead:
            dead.discard(field)  # removed earlier: its old entry is live again
        else:
            self.order.append(field)  # type: ignore[union-attr]  # only called while ``order`` is built

    def field_removed(self, field: bytes) -> None:
        """A field was deleted: its entry (if ``order`` is set) is dead now."""
        dead = self._dead
        if dead is None:
            return
        dead.add(field)
        if len(dead) > MIN_DEAD and len(dead) > len(self):
            self._compact()

    def _compact(self) -> None:
        """Drop dead entries, keeping the others in order; remember how to move old cursors."""
        old, dead = self.order, self._dead
        assert old is not None and dead is not None
        kept: list[bytes] = []
        starts: list[int] = []
        block = 1 << BLOCK_SHIFT
        for i in range(0, len(old), block):
            starts.append(len(kept))
            kept += [f for f in old[i : i + block] if f not in dead]
        generation = next(_generations)
        old_maps = self._old
        if old_maps is None:
            old_maps = self._old = {}
        old_maps[self._generation] = (generation, starts)
        while len(old_maps) > GENERATIONS_KEPT:
            del old_maps[next(iter(old_maps))]
        self.order = kept
        self._dead = set()
        self._generation = generation

    def _position(self, cursor: int) -> int:
        """Where a scan at ``cursor`` resumes in the current ``order`` (0 when it cannot tell)."""
        generation = cursor >> POSITION_BITS
        position = cursor & POSITION_MASK
        while generation != self._generation:
            step = self._old.get(generation) if self._old else None
            if step is None:
                return 0  # a cursor from elsewhere or from long ago: start over, which never skips
            generation, starts = step
            position = starts[min(position >> BLOCK_SHIFT, len(starts) - 1)]
        return position

    def scan(self, cursor: int, count: int) -> tuple[int, list[bytes]]:
        """About ``count`` fields from ``cursor`` on, and the cursor to continue from (0: done).

        At most ``10 * count`` entries are visited per call (dead ones included),
        so a call costs O(count) like one of Redis's.
        """
        order = self.track()
        position = self._position(cursor) if cursor else 0
        end = len(order)
        stop = min(end, position + 10 * count)
        out: list[bytes] = []
        while position < stop and len(out) < count:
            field = order[position]
            position += 1
            if field in self:
                out.append(field)
        if position >= end:
            return 0, out
        return (self._generation << POSITION_BITS) | position, out

    def random_field(self) -> bytes:
        """A uniformly random field of a non-empty hash, O(1) amortised."""
        order = self.track()
        while True:
            field = order[randrange(len(order))]
            if field in self:
                return field
