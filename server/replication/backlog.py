"""The replication backlog: the tail of the replication stream, for partial resynchronisation.

A replica that lost its link asks to continue from an offset (``PSYNC replid offset``);
the master can answer ``+CONTINUE`` only while the bytes from that offset on are still
held here. Offsets are Redis's: the first byte ever fed is offset 1, and
``master_repl_offset`` is the offset of the last byte fed.
"""

from __future__ import annotations

# Trimming moves memory: let the buffer pass its size by this much before cutting it back.
SLACK = 64 * 1024


class Backlog:
    """A byte buffer of at most ``size`` bytes (plus a little slack) ending at the master offset."""

    __slots__ = ("size", "buf", "first")

    def __init__(self, size: int, first: int) -> None:
        self.size = size
        self.buf = bytearray()
        self.first = first  # the offset of buf[0] (repl_backlog_first_byte_offset)

    def append(self, data: bytes | bytearray) -> None:
        buf = self.buf
        buf += data
        excess = len(buf) - self.size
        if excess > SLACK:
            del buf[:excess]  # (bytearray drops a prefix without moving the rest)
            self.first += excess

    def resize(self, size: int) -> None:
        self.size = size
        excess = len(self.buf) - size
        if excess > 0:
            del self.buf[:excess]
            self.first += excess

    @property
    def histlen(self) -> int:
        return min(len(self.buf), self.size)

    @property
    def first_byte_offset(self) -> int:
        """The oldest offset a replica may continue from (as INFO reports it)."""
        return self.first + len(self.buf) - self.histlen

    def since(self, offset: int) -> bytes | None:
        """The stream from ``offset`` on (empty when the replica is up to date), or None when
        the backlog does not reach back that far or ``offset`` lies in the future."""
        start = self.first_byte_offset
        end = self.first + len(self.buf)  # the next offset to be fed
        if offset < start or offset > end:
            return None
        return bytes(self.buf[offset - self.first:])
