"""Memory accounting: what INFO memory, MEMORY USAGE and maxmemory rely on.

Python does not expose allocator totals cheaply, so this module states its
estimates: the process's resident set size (RSS) for the whole server, and
for one key the sizes of the Python objects holding it (``sys.getsizeof``,
sampled for large collections, as Redis samples with ``SAMPLES``).
"""

from __future__ import annotations

import os
import sys
from itertools import islice
from typing import Any

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
DICT_ENTRY = 24  # a key's slot in the database dict (hash, key and value pointers)


def rss_bytes() -> int:
    """The resident set size of this process, from /proc where it exists."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def private_dirty_bytes(pid: int | str = "self") -> int:
    """Pages only this process maps and has written (smaps_rollup's Private_Dirty), 0 if unknown.

    In a forked child this is what copy-on-write cost: the parent's pages it had
    to copy, plus what it allocated itself (Redis's zmalloc_get_private_dirty).
    """
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
            for line in fh:
                if line.startswith(b"Private_Dirty:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def value_memory(key: bytes, value: Any, samples: int = 5) -> int:
    """Bytes a key and its value take: the key, the value object and its elements.

    Collections define ``memory_items()`` giving their elements; with ``samples``
    > 0 only that many are measured and the average is scaled up (0 = all).
    """
    size = DICT_ENTRY + sys.getsizeof(key) + sys.getsizeof(value)
    items = getattr(value, "memory_items", None)
    if items is None:
        return size
    count = len(value)
    if count == 0:
        return size
    chosen = list(islice(items(), samples if samples > 0 else None))
    if not chosen:
        return size
    measured = sum(sys.getsizeof(x) for x in chosen)
    return size + int(measured * count / len(chosen))


# What Python spends per element beyond the sampled objects (``sys.getsizeof``): the
# container's slot (deque pointer, dict entry at its load factor, the set's position
# int, the sorted set's index key and float), the second object of a hash entry, and
# the allocator's 16-byte rounding. Measured on CPython 3.11 with typical elements.
PER_ITEM_OVERHEAD = {b"list": 10, b"hash": 57, b"set": 60, b"zset": 98}


def key_footprint(key: bytes, value: Any, samples: int = 5) -> int:
    """What a key really costs the process, for ``used_memory`` and eviction (not MEMORY USAGE)."""
    size = value_memory(key, value, samples)
    kind = getattr(value, "TYPE_NAME", None)
    if kind is not None:
        size += PER_ITEM_OVERHEAD.get(kind, 0) * len(value)
    return size


# ---------------------------------------------------------------- per-key accounting (used_memory)
#
# ``used_memory`` is kept as the dataset changes, not estimated from a sample: each
# ``Database`` holds ``used``, the bytes of its keys and values, updated by every
# write (``server.keyspace``). A ``bytes`` string's size follows from its length, so
# it is added and taken off exactly, at once. A collection (or a string modified in
# place, a ``bytearray``) changes inside its object, so a write marks its key
# ``stale`` and ``collection_size`` re-measures it a little later, cheaply: a full
# measure (``key_footprint``, which samples elements) is scaled by the element count
# until the count halves or doubles, then taken again. What every key costs beyond
# its objects (its dict slot, its SCAN order slot, a deadline) is counted per key
# when the total is read (``Eviction.used_memory``).

# A ``bytes`` key and a ``bytes`` value: two object headers and the allocator's
# rounding to 16 bytes (half a unit each on average), beyond their lengths.
STRING_COST = 2 * (sys.getsizeof(b"") + 8)
KEY_SLOT = 52  # a key's share of the database dict and of the SCAN order list, at their usual load
EXPIRE_SLOT = 88  # a deadline: its entry in ``expires``, its int, its slot in ``expire_order``
ACCESS_SLOT = 48  # an LRU/LFU clock entry (kept only while a policy or OBJECT needs it)
EXACT_BELOW = 8  # collections smaller than this are measured whole at every change


def string_size(key: bytes, value: bytes) -> int:
    """What a ``bytes`` string costs beyond the per-key slots (``STRING_COST`` and the lengths)."""
    return STRING_COST + len(key) + len(value)


def collection_size(key: bytes, value: Any, known: tuple[int, int, int, int] | None,
                    written: int = 0) -> tuple[int, int, int, int]:
    """``(bytes, bytes measured, count measured, count now)`` for a collection or a ``bytearray``.

    ``known`` is the previous result for this key. While the element count stays
    within half and twice the count of the last measure, that measure is scaled
    by the count (a multiplication instead of sampling elements); outside that
    range, or for small collections, the value is measured again.

    A measure samples a few elements, so it cannot see a few huge elements among
    many small ones. Two rules keep such growth counted: while a collection
    grows its size never drops below what was counted before plus the new
    elements at the sampled average; and ``written``, the bytes the writes
    since the last count carried (known when a ``maxmemory`` makes dispatch
    report them, see ``Eviction.check``), is a floor for its growth.
    """
    count = len(value)
    if value.__class__ is bytearray:  # exact and cheap: its buffer is one allocation
        size = sys.getsizeof(b"") + 8 + len(key) + sys.getsizeof(value)
        return size, size, count, count
    if known is None:
        size = key_footprint(key, value)
        return size, size, count, count
    before, measured, measured_at, counted_at = known
    if EXACT_BELOW <= measured_at <= 2 * count and count <= 2 * measured_at:
        size = measured * count // measured_at
    else:
        size = measured = key_footprint(key, value)
        measured_at = count
        if count > counted_at:  # grown: keep what was counted, add the new elements at the average
            size = max(size, before + (count - counted_at) * size // count)
    if written and count > counted_at and before + written > size:
        size = before + written
    if size != measured * count // max(measured_at, 1):  # a floor applied: scale from it from now on
        measured, measured_at = size, count
    return size, measured, measured_at, count
