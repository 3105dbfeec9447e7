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

HSCAN on a big hash needs a cursor that survives changes between calls: a
field present from the first call to the last must be returned. A scan that
starts (cursor 0) takes a snapshot of the field names, a list built in C in
milliseconds even for a million fields; the cursor is that snapshot's number
and a position in it. Each call returns the next snapshot fields still present.
Fields added during the scan may be missed, as Redis allows. A few snapshots
are kept per hash; a cursor whose snapshot is gone starts over, which repeats
fields but never skips one.

HRANDFIELD on a big hash must not walk the dict to reach a random position.
The first call builds a pool (a list of the fields); writers then report new
fields (``field_added``) and removed ones (``field_removed``) so that the pool
holds every live field exactly once, plus dead entries that a pick skips. The
pool is rebuilt once the dead outnumber the living, which keeps a pick O(1)
amortised and uniform.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from random import randrange

POSITION_BITS = 40  # a cursor is (snapshot number << POSITION_BITS) | position
POSITION_MASK = (1 << POSITION_BITS) - 1
SNAPSHOT_NUMBERS = 1 << 23  # snapshot numbers wrap, keeping cursors within 64 bits
SNAPSHOTS_KEPT = 4  # concurrent scans of one hash that keep their place


class HashValue(dict):
    """A Redis hash: field bytes → value bytes, in insertion order."""

    __slots__ = ("listpack", "_scans", "_scan_number", "random_pool", "_dead")
    TYPE_NAME = b"hash"

    def __init__(
        self,
        pairs: Mapping[bytes, bytes] | Iterable[tuple[bytes, bytes]] = (),
        max_entries: int = 512,
        max_value: int = 64,
    ):
        super().__init__(pairs)
        self.listpack = self.fits(max_entries, max_value)
        self._scans: dict[int, list[bytes]] | None = None
        self._scan_number = 0
        self.random_pool: list[bytes] | None = None
        self._dead: set[bytes] | None = None  # exists with the pool only: small hashes stay small

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
        dup._scans = None
        dup._scan_number = 0
        dup.random_pool = None
        dup._dead = None
        return dup

    def memory_items(self) -> Iterator[bytes]:
        """One object per entry (MEMORY USAGE scales a sample by ``len``): field and value together."""
        for field, value in self.items():
            yield field + value

    def scan(self, cursor: int, count: int) -> tuple[int, list[bytes]]:
        """About ``count`` fields from ``cursor`` on, and the cursor to continue from (0: done).

        At most ``10 * count`` snapshot entries are visited per call (deleted fields
        included), so a call costs O(count) like one of Redis's.
        """
        scans = self._scans
        number = cursor >> POSITION_BITS
        snapshot = scans.get(number) if cursor and scans else None
        if snapshot is None:
            # A new scan, or one whose snapshot was dropped: start over from a fresh one.
            if scans is None:
                scans = self._scans = {}
            number = self._scan_number % (SNAPSHOT_NUMBERS - 1) + 1
            self._scan_number = number
            snapshot = scans[number] = list(self)
            while len(scans) > SNAPSHOTS_KEPT:
                del scans[next(iter(scans))]
            position = 0
        else:
            position = cursor & POSITION_MASK
        end = len(snapshot)
        stop = min(end, position + 10 * count)
        out: list[bytes] = []
        while position < stop and len(out) < count:
            field = snapshot[position]
            position += 1
            if field in self:
                out.append(field)
        if position >= end:
            del scans[number]
            return 0, out
        return (number << POSITION_BITS) | position, out

    # -- random fields -------------------------------------------------------

    def field_added(self, field: bytes) -> None:
        """A new field was stored while ``random_pool`` is set: keep the pool complete."""
        dead = self._dead
        if dead and field in dead:
            dead.discard(field)  # its old pool entry is live again
        else:
            self.random_pool.append(field)  # type: ignore[union-attr]

    def field_removed(self, field: bytes) -> None:
        """A field was deleted: its pool entry (if there is a pool) is now dead."""
        if self.random_pool is not None:
            self._dead.add(field)  # type: ignore[union-attr]

    def random_field(self) -> bytes:
        """A uniformly random field of a non-empty hash, O(1) amortised."""
        pool = self.random_pool
        dead = self._dead
        if pool is None or dead is None or len(dead) > len(self):
            pool = self.random_pool = list(self)
            dead = self._dead = set()
        while True:
            field = pool[randrange(len(pool))]
            if field not in dead:
                return field
