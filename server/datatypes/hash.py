"""The hash type: a ``dict`` of field → value that remembers its Redis encoding.

Redis 7.0 keeps a small hash as a listpack and converts it to a hash table
for good once it holds more than ``hash-max-listpack-entries`` fields or any
field or value longer than ``hash-max-listpack-value`` bytes; it never
converts back. ``listpack`` records which side of that line the hash is on,
so OBJECT ENCODING answers like Redis. Commands that write call
``note_write`` with the configured limits; nothing is scanned after the fact.

A Python dict keeps insertion order and updates in place, exactly the order
a listpack keeps, so HGETALL on a small hash replies in Redis's order.

HSCAN on a big hash needs a cursor that survives changes between calls: an
element present from the first call to the last must be returned. The cursor
here is a position in the order of the fields' hash values: each call returns
the next fields at or above the cursor's hash. The sorted order is built when a
scan starts (cursor 0), reused by the calls that follow, and rebuilt if it is
missing, which gives the same answer since the cursor is a hash, not an index.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping

_HASH_MASK = (1 << 63) - 1


def _field_hash(field: bytes) -> int:
    """A non-negative 63-bit hash; cursors are this value plus one, so 0 stays "done"."""
    return hash(field) & _HASH_MASK


class HashValue(dict):
    """A Redis hash: field bytes → value bytes, in insertion order."""

    __slots__ = ("listpack", "_scan_hashes", "_scan_fields")
    TYPE_NAME = b"hash"

    def __init__(
        self,
        pairs: Mapping[bytes, bytes] | Iterable[tuple[bytes, bytes]] = (),
        max_entries: int = 512,
        max_value: int = 64,
    ):
        super().__init__(pairs)
        self.listpack = self.fits(max_entries, max_value)
        self._scan_hashes: list[int] | None = None
        self._scan_fields: list[bytes] | None = None

    def fits(self, max_entries: int, max_value: int) -> bool:
        """Would Redis keep these contents as a listpack under these limits?"""
        if len(self) > max_entries:
            return False
        for field, value in self.items():
            if len(field) > max_value or len(value) > max_value:
                return False
        return True

    def note_write(self, field: bytes, value: bytes, max_value: int) -> None:
        """A field is being set: a long field or value ends the listpack encoding."""
        if self.listpack and (len(field) > max_value or len(value) > max_value):
            self.listpack = False

    def encoding(self) -> bytes:
        return b"listpack" if self.listpack else b"hashtable"

    def copy(self) -> HashValue:
        """A new hash with the same fields and encoding (COPY keeps the encoding)."""
        dup = HashValue.__new__(HashValue)
        dict.__init__(dup, self)
        dup.listpack = self.listpack
        dup._scan_hashes = dup._scan_fields = None
        return dup

    def memory_items(self) -> Iterator[bytes]:
        for field, value in self.items():
            yield field
            yield value

    def scan(self, cursor: int, count: int) -> tuple[int, list[bytes]]:
        """About ``count`` fields at or after ``cursor``, and the cursor to continue from (0: done)."""
        if cursor == 0 or self._scan_hashes is None:
            order = sorted(self, key=_field_hash)
            self._scan_fields = order
            self._scan_hashes = [_field_hash(f) for f in order]
        hashes, fields = self._scan_hashes, self._scan_fields
        assert fields is not None
        n = len(hashes)
        i = bisect_left(hashes, cursor - 1) if cursor else 0
        out: list[bytes] = []
        while i < n and len(out) < count:
            field = fields[i]
            if field in self:
                out.append(field)
            i += 1
        # Never split fields that share a hash: the next cursor must start past all of them.
        while 0 < i < n and hashes[i] == hashes[i - 1]:
            if fields[i] in self:
                out.append(fields[i])
            i += 1
        if i >= n:
            self._scan_hashes = self._scan_fields = None
            return 0, out
        return hashes[i] + 1, out
