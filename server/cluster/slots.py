"""Hash slots: which of the 16384 slots a key belongs to, and which keys each slot holds.

A key's slot is the CRC16 (XMODEM: polynomial 0x1021, initial value 0, which is
what ``binascii.crc_hqx(data, 0)`` computes) of the key, or of its hash tag: the
bytes between the first ``{`` and the first ``}`` after it, when there is at
least one byte between them. Keys sharing a tag share a slot, so multi-key
commands can address them together.
"""

from __future__ import annotations

from binascii import crc_hqx
from collections.abc import Iterator

SLOTS = 16384
SLOT_MASK = SLOTS - 1


def key_slot(key: bytes) -> int:
    """The hash slot of ``key`` (Redis's keyHashSlot)."""
    start = key.find(b"{")
    if start >= 0:
        end = key.find(b"}", start + 1)
        if end > start + 1:
            return crc_hqx(key[start + 1 : end], 0) & SLOT_MASK
    return crc_hqx(key, 0) & SLOT_MASK


class SlotIndex:
    """The keys of database 0 grouped by slot, so COUNTKEYSINSLOT, GETKEYSINSLOT and
    deleting a slot's keys cost the slot's size, not the keyspace's.

    ``Database`` keeps it current: every new key passes through ``add`` and every
    removal through ``discard``. Each slot's keys sit in a dict used as an
    insertion-ordered set (oldest first, as GETKEYSINSLOT lists them).
    ``data`` is the database's dict: a key found missing there (a removal that
    bypassed ``discard``) is dropped when its slot is read, so the index can
    only ever be stale towards too many keys, never too few.
    """

    __slots__ = ("by_slot", "data")

    def __init__(self, data: dict[bytes, object]) -> None:
        self.by_slot: dict[int, dict[bytes, None]] = {}
        self.data = data

    def add(self, key: bytes) -> None:
        slot = key_slot(key)
        keys = self.by_slot.get(slot)
        if keys is None:
            self.by_slot[slot] = {key: None}
        else:
            keys[key] = None

    def discard(self, key: bytes) -> None:
        keys = self.by_slot.get(key_slot(key))
        if keys is not None:
            keys.pop(key, None)

    def clear(self) -> None:
        self.by_slot.clear()

    def rebuild(self, data: dict[bytes, object]) -> None:
        """Index ``data`` from scratch (after loading a file put it in place wholesale)."""
        self.data = data
        self.by_slot = {}
        for key in data:
            self.add(key)

    def _live(self, slot: int) -> dict[bytes, None]:
        keys = self.by_slot.get(slot)
        if not keys:
            return {}
        data = self.data
        stale = [key for key in keys if key not in data]
        for key in stale:
            del keys[key]
        return keys

    def count(self, slot: int) -> int:
        return len(self._live(slot))

    def keys(self, slot: int, limit: int) -> list[bytes]:
        out: list[bytes] = []
        if limit <= 0:
            return out
        for key in self._live(slot):
            out.append(key)
            if len(out) >= limit:
                break
        return out

    def populated(self) -> Iterator[int]:
        """The slots holding at least one key."""
        for slot in list(self.by_slot):
            if self._live(slot):
                yield slot
