"""The keyspace: databases of keys, their values and their expiry times.

A ``Database`` is two dicts, as in Redis: ``data`` maps a key to its value and
``expires`` maps a key with a time to live to its deadline in milliseconds.
Values are plain Python objects chosen per type:

- string: ``bytes`` (``bytearray`` once modified in place by APPEND/SETRANGE/SETBIT,
  which is what Redis calls the "raw" encoding)
- list, hash, set, sorted set: the classes in ``server.datatypes``

Expired keys are removed lazily, when a command touches them (``lookup``),
and actively, by a cycle on the event loop that samples keys with a TTL
(``active_expire_cycle``), so memory is reclaimed even for keys nobody reads.

SCAN needs a cursor that stays valid while keys come and go, which a dict
cannot give. Each database therefore keeps ``order``, an append-only list of
its keys in the order they were created (see ``Database.scan``); a cursor is a
position in it. New keys enter only through ``set`` and ``add``, which append;
deletions leave stale entries that SCAN skips, and the list is compacted once
stale entries outnumber live ones. ``expire_order`` does the same for keys with
a TTL, so the active expiry cycle can walk them with a cursor as Redis walks
its ``expires`` table.

Access times for OBJECT IDLETIME / FREQ (and eviction) cost memory per key, so
they are recorded only once something needs them (``Keyspace.track_access``):
from then on ``lookup`` stores, per key, the last access (LRU) or Redis's
logarithmic access counter (LFU) in ``Database.access``.

The keyspace knows nothing of sockets or commands. Other parts of the server
listen for changes through hooks on the ``Keyspace``, all set where the server is
built (``Server.__init__``): ``on_touch`` (a key changed: WATCH and client-side
caching), ``notify_hook`` (keyspace notifications, to pub/sub) and ``on_expired``
(an expired key's DEL, to the effects pipeline); keys that blocked clients wait
for are queued in ``ready_keys`` for ``Blocking.handle_ready_keys``.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from server.memory import STRING_COST, collection_size
from server.protocol import Error

if TYPE_CHECKING:
    from server.cluster.slots import SlotIndex

V = TypeVar("V")  # a value class (``lookup_type``)

WRONGTYPE = Error(b"WRONGTYPE Operation against a key holding the wrong kind of value")


def now_ms() -> int:
    """The one clock of the server, in milliseconds. Tests may replace ``clock.now``."""
    return clock.now()


class _Clock:
    """Wall-clock time in ms; a frozen value can be set for tests (DEBUG SET-ACTIVE-EXPIRE style)."""

    __slots__ = ("frozen",)

    def __init__(self) -> None:
        self.frozen: int | None = None

    def now(self) -> int:
        if self.frozen is not None:
            return self.frozen
        return time.time_ns() // 1000000  # integers only: cheaper than int(time.time() * 1000)


clock = _Clock()


# Notification classes, as the letters of notify-keyspace-events.
NOTIFY_KEYSPACE = 1 << 0  # K
NOTIFY_KEYEVENT = 1 << 1  # E
NOTIFY_GENERIC = 1 << 2  # g
NOTIFY_STRING = 1 << 3  # $
NOTIFY_LIST = 1 << 4  # l
NOTIFY_SET = 1 << 5  # s
NOTIFY_HASH = 1 << 6  # h
NOTIFY_ZSET = 1 << 7  # z
NOTIFY_EXPIRED = 1 << 8  # x
NOTIFY_EVICTED = 1 << 9  # e
NOTIFY_STREAM = 1 << 10  # t
NOTIFY_KEY_MISS = 1 << 11  # m
NOTIFY_LOADED = 1 << 12  # module only
NOTIFY_MODULE = 1 << 13  # d
NOTIFY_NEW = 1 << 14  # n


def type_name(value: object) -> bytes:
    """The name TYPE reports for a value."""
    cls = value.__class__
    if cls is bytes or cls is bytearray:
        return b"string"
    return getattr(cls, "TYPE_NAME", b"none")


# SCAN cursors: the low bits are a position in ``Database.order``, the high bits the
# generation of that list (each compaction starts a new one, numbered keyspace-wide).
POSITION_BITS = 32
POSITION_MASK = (1 << POSITION_BITS) - 1
BLOCK_SHIFT = 10  # after a compaction, old positions map to new ones in blocks of 1024
MIN_STALE = 1024  # stale entries tolerated whatever the number of keys
RECOUNT_SAMPLES = 32  # collections of each type measured whole when a loaded database is counted
KEPT_GENERATIONS = 8  # how many compactions an old cursor can survive and still resume

# Access tracking modes (Keyspace.access_mode) and Redis's LFU constants.
ACCESS_OFF = 0
ACCESS_LRU = 1
ACCESS_LFU = 2
LFU_INIT_VAL = 5
LRU_CLOCK_MAX = (1 << 24) - 1


class Database:
    """One numbered database: keys, values and deadlines, plus the orders SCAN and expiry walk."""

    __slots__ = (
        "id", "keyspace", "data", "expires", "avg_ttl",
        "order", "order_limit", "generation", "old_generations", "cursor_issued",
        "expire_order", "expire_order_limit", "expire_cursor",
        "track", "access", "slot_keys", "used", "sized", "stale", "written",
    )

    # What SWAPDB exchanges between two databases (everything but identity).
    STATE = ("data", "expires", "avg_ttl", "order", "order_limit", "generation", "old_generations", "cursor_issued",
             "expire_order", "expire_order_limit", "expire_cursor", "access", "used", "sized", "stale")

    def __init__(self, index: int, keyspace: Keyspace):
        self.id = index
        self.keyspace = keyspace
        self.track = ACCESS_OFF
        # Cluster mode's keys-per-slot index of database 0 (server/cluster/slots.py), else None.
        self.slot_keys: SlotIndex | None = None
        self.reset()

    def reset(self) -> None:
        """Start empty, with a fresh SCAN generation (old cursors restart from the beginning)."""
        self.data: dict[bytes, object] = {}
        self.expires: dict[bytes, int] = {}
        self.avg_ttl = 0
        self.order: list[bytes] = []
        self.order_limit = MIN_STALE
        self.generation = self.keyspace.new_generation()
        # generation -> (the generation that replaced it, its block prefix counts)
        self.old_generations: dict[int, tuple[int, list[int]]] = {}
        self.cursor_issued = False  # has SCAN handed out a cursor of this generation?
        self.expire_order: list[bytes] = []
        self.expire_order_limit = MIN_STALE
        self.expire_cursor = 0
        self.access: dict[bytes, int] = {}
        if self.slot_keys is not None:
            self.slot_keys.data = self.data
            self.slot_keys.clear()
        # Memory accounting (see server.memory): bytes of the keys and values, the last
        # size counted for each collection or bytearray, and the keys to re-measure.
        self.used = 0
        self.sized: dict[bytes, tuple[int, int, int, int]] = {}
        self.stale: set[bytes] = set()
        self.written: dict[bytes, int] = {}  # bytes the last write carried per key (under a limit)

    def __len__(self) -> int:
        return len(self.data)

    # -- reading -------------------------------------------------------------

    def lookup(self, key: bytes) -> object | None:
        """The value at ``key``, or None if absent or expired (then removed). Counts as an access."""
        value = self.data.get(key)
        if value is None:
            return None
        if self.expires:
            deadline = self.expires.get(key)
            if deadline is not None and deadline < now_ms() and self.keyspace.expire_enabled:
                self.expire_key(key)
                return None
        if self.track:
            self.note_access(key)
        return value

    def peek(self, key: bytes) -> object | None:
        """``lookup`` that does not count as an access (Redis's LOOKUP_NOTOUCH: TYPE, TTL, OBJECT)."""
        value = self.data.get(key)
        if value is not None and self.expires and self.expire_if_needed(key):
            return None
        return value

    def lookup_read(self, key: bytes, touch: bool = True) -> object | None:
        """``lookup`` (or ``peek`` when not ``touch``) that also counts a hit or miss for INFO stats."""
        value = self.lookup(key) if touch else self.peek(key)
        ks = self.keyspace
        if value is None:
            ks.misses += 1
            if ks.notify_flags & NOTIFY_KEY_MISS:
                ks.notify(NOTIFY_KEY_MISS, b"keymiss", key, self.id)
        else:
            ks.hits += 1
        return value

    def lookup_type(self, key: bytes, cls: type[V], read: bool = True) -> V | None:
        """The value at ``key`` if it is a ``cls``; None if absent; WRONGTYPE otherwise.

        Every collection command starts here, so the common case (a key with no TTL
        in a database whose accesses are not tracked) skips the general lookup.
        """
        value: Any = self.data.get(key)  # checked to be a ``cls`` below
        if value is None or self.expires or self.track:
            value = self.lookup_read(key) if read else self.lookup(key)
        elif read:
            self.keyspace.hits += 1
        if value is not None and value.__class__ is not cls:
            raise WRONGTYPE
        return value

    def get_string(self, key: bytes) -> bytes | bytearray | None:
        value = self.lookup_read(key)
        if value is not None and value.__class__ is not bytes and value.__class__ is not bytearray:
            raise WRONGTYPE
        return value

    def exists(self, key: bytes) -> bool:
        return self.peek(key) is not None

    def deadline(self, key: bytes) -> int | None:
        """The absolute expiry time of ``key`` in ms, or None if it has none."""
        return self.expires.get(key)

    def ttl_ms(self, key: bytes) -> int | None:
        """Milliseconds left, or None for a key without deadline (caller checks existence)."""
        deadline = self.expires.get(key)
        if deadline is None:
            return None
        return max(deadline - now_ms(), 0)

    # -- writing -------------------------------------------------------------

    def set(self, key: bytes, value: object, keep_ttl: bool = False) -> None:
        """Store ``value`` at ``key``, dropping any TTL unless ``keep_ttl``."""
        data = self.data
        old = data.get(key)
        ks = self.keyspace
        # Memory accounting: a bytes string at once (a string replacing a string changes
        # the count by the difference of their lengths), a collection when settled.
        if old is not None:
            if value.__class__ is bytes and old.__class__ is bytes:
                self.used += len(value) - len(old)
            else:
                self.unaccount(key, old)
                self._account_new(key, value)
            if ks.blocked_keys:
                self.stream_gone(key, old)
            data[key] = value
            if not keep_ttl and self.expires:
                self.expires.pop(key, None)
        else:
            if value.__class__ is bytes:
                self.used += STRING_COST + len(key) + len(value)
            else:
                self.stale.add(key)
            data[key] = value
            # ``created`` inlined: this is the hot path of every write of a new key.
            order = self.order
            order.append(key)
            if len(order) > self.order_limit:
                self.compact_order()
            if self.track:
                self.note_access(key, new=True)
            if self.slot_keys is not None:
                self.slot_keys.add(key)
            if ks.notify_flags & NOTIFY_NEW:
                ks.notify(NOTIFY_NEW, b"new", key, self.id)
        # ``touch`` inlined, as above.
        ks.dirty += 1
        if ks.watched:
            ks.on_touch(self, key)

    def set_strings(self, pairs: Iterable[tuple[bytes, bytes]]) -> None:
        """``set`` for several string values (MSET): the same steps for each key, in one loop
        with what every key reads fetched once (a call of ``set`` per key cost more than its
        work). tests/server/test_strings.py checks it leaves what a ``set`` per key leaves."""
        data = self.data
        ks = self.keyspace
        order = self.order
        for key, value in pairs:
            old = data.get(key)
            if old is not None:
                if old.__class__ is bytes:
                    self.used += len(value) - len(old)
                else:
                    self.unaccount(key, old)
                    self._account_new(key, value)
                if ks.blocked_keys:
                    self.stream_gone(key, old)
                data[key] = value
                if self.expires:
                    self.expires.pop(key, None)
            else:
                self.used += STRING_COST + len(key) + len(value)
                data[key] = value
                order.append(key)
                if len(order) > self.order_limit:
                    self.compact_order()
                    order = self.order
                if self.track:
                    self.note_access(key, new=True)
                if self.slot_keys is not None:
                    self.slot_keys.add(key)
                if ks.notify_flags & NOTIFY_NEW:
                    ks.notify(NOTIFY_NEW, b"new", key, self.id)
            ks.dirty += 1
            if ks.watched:
                ks.on_touch(self, key)

    def add(self, key: bytes, value: object) -> None:
        """Store a new collection at a key known to be free (no TTL to drop)."""
        self.data[key] = value
        self._account_new(key, value)
        self.created(key)
        self.touch(key)

    def created(self, key: bytes) -> None:
        """Bookkeeping for a key just added to ``data``: SCAN order, access clock, ``new`` event."""
        self.stale.add(key)  # its size is counted when the accounting settles
        order = self.order
        order.append(key)
        if len(order) > self.order_limit:
            self.compact_order()
        if self.track:
            self.note_access(key, new=True)
        if self.slot_keys is not None:
            self.slot_keys.add(key)
        ks = self.keyspace
        if ks.notify_flags & NOTIFY_NEW:
            ks.notify(NOTIFY_NEW, b"new", key, self.id)

    def delete(self, key: bytes) -> bool:
        """Remove ``key``; True if it existed. Sends no notification (callers choose the event)."""
        old = self.data.pop(key, None)
        if old is None:
            return False
        self.unaccount(key, old)
        if self.keyspace.blocked_keys:
            self.stream_gone(key, old)
        if self.expires:
            self.expires.pop(key, None)
        if self.track:
            self.access.pop(key, None)
        if self.slot_keys is not None:
            self.slot_keys.discard(key)
        ks = self.keyspace  # ``touch`` without marking the (gone) key stale
        ks.dirty += 1
        if ks.watched:
            ks.on_touch(self, key)
        return True

    def unaccount(self, key: bytes, old: object) -> None:
        """Take the value ``old`` that ``key`` held off the memory count (it was removed or replaced)."""
        if old.__class__ is bytes:
            self.used -= STRING_COST + len(key) + len(old)
        else:
            entry = self.sized.pop(key, None)
            if entry is not None:
                self.used -= entry[0]

    def _account_new(self, key: bytes, value: object) -> None:
        """Count a value just stored at ``key``: a string now, anything else when settled."""
        if value.__class__ is bytes:
            self.used += STRING_COST + len(key) + len(value)
        else:
            self.stale.add(key)

    def settle(self, budget: int = 0) -> None:
        """Count the current size of the collections changed since the last call (all, or ``budget`` keys).

        Writes to a collection change it in place and only mark its key ``stale``;
        the size is measured here, once however many writes happened in between.
        """
        stale = self.stale
        if not stale:
            return
        data, sized, written = self.data, self.sized, self.written
        used = self.used
        done = 0
        while stale:
            key = stale.pop()
            value = data.get(key)
            if value is not None and value.__class__ is not bytes:
                known = sized.get(key)
                entry = collection_size(key, value, known, written.pop(key, 0) if written else 0)
                used += entry[0] - (known[0] if known is not None else 0)
                sized[key] = entry
            done += 1
            if done == budget:
                break
        self.used = used

    def recount(self) -> None:
        """Count every key afresh, after ``data`` was filled directly (loading a file).

        Strings are counted exactly. Collections would each cost a sampled measure;
        the first few of each type are measured and the others are estimated from
        those types' average bytes per element, to be measured when they change.
        """
        used = 0
        sized: dict[bytes, tuple[int, int, int, int]] = {}
        measured: dict[type, list[int]] = {}  # type -> [keys measured, their bytes, their elements]
        value: Any  # bytes or a collection: both have a length
        for key, value in self.data.items():
            cls = value.__class__
            if cls is bytes:
                used += STRING_COST + len(key) + len(value)
                continue
            count = len(value)
            stats = measured.setdefault(cls, [0, 0, 0])
            if stats[0] < RECOUNT_SAMPLES or not count or not stats[2]:
                entry = collection_size(key, value, None)
                stats[0] += 1
                stats[1] += entry[0]
                stats[2] += count
            else:
                size = stats[1] * count // stats[2]
                entry = (size, size, count, count)
            sized[key] = entry
            used += entry[0]
        self.used, self.sized, self.stale = used, sized, set()

    def notify(self, kind: int, event: bytes, key: bytes) -> None:
        """A keyspace event for ``key`` in this database, sent if its class is enabled (cheap when none are).

        The one helper command modules call; hot paths may test ``keyspace.notify_flags`` inline first.
        """
        ks = self.keyspace
        if ks.notify_flags & kind:
            ks.notify(kind, event, key, self.id)

    def delete_with_event(self, key: bytes) -> bool:
        """Delete ``key`` as a side effect of a command (an emptied collection, an empty STORE result,
        a time already past), with Redis's ``del`` event when it was there."""
        if not self.delete(key):
            return False
        self.notify(NOTIFY_GENERIC, b"del", key)
        return True

    def touch(self, key: bytes) -> None:
        """Tell WATCHers that ``key`` changed (Redis's signalModifiedKey); its size is counted again."""
        self.stale.add(key)
        ks = self.keyspace
        ks.dirty += 1
        if ks.watched:
            ks.on_touch(self, key)

    def set_expire(self, key: bytes, deadline_ms: int) -> None:
        """Give an existing key an absolute deadline in ms."""
        expires = self.expires
        if key in expires:
            expires[key] = deadline_ms
            return
        expires[key] = deadline_ms
        expire_order = self.expire_order
        expire_order.append(key)
        if len(expire_order) > self.expire_order_limit:
            self.compact_expire_order()

    def persist(self, key: bytes) -> bool:
        return self.expires.pop(key, None) is not None

    def expire_if_needed(self, key: bytes) -> bool:
        """Remove ``key`` if its deadline has passed (and expiry is enabled); True if removed."""
        deadline = self.expires.get(key)
        if deadline is not None and deadline < now_ms() and self.keyspace.expire_enabled:
            self.expire_key(key)
            return True
        return False

    def expire_key(self, key: bytes) -> None:
        """Remove a key whose deadline has passed, with the ``expired`` event (not during a pause)."""
        if self.keyspace.expiry_paused:
            return
        old = self.data.pop(key, None)
        if old is not None:
            self.unaccount(key, old)
            if self.keyspace.blocked_keys:
                self.stream_gone(key, old)
        self.expires.pop(key, None)
        if self.track:
            self.access.pop(key, None)
        if self.slot_keys is not None:
            self.slot_keys.discard(key)
        ks = self.keyspace
        ks.expired_keys += 1
        if ks.watched:
            ks.on_touch(self, key)
        ks.dirty += 1
        if ks.notify_flags & NOTIFY_EXPIRED:
            ks.notify(NOTIFY_EXPIRED, b"expired", key, self.id)
        if ks.on_expired is not None:
            ks.on_expired(self, key)

    def stream_gone(self, key: bytes, old: object) -> None:
        """A stream was deleted or overwritten: its blocked XREADGROUP clients must hear of it."""
        if getattr(old.__class__, "TYPE_NAME", None) == b"stream":
            self.signal_ready(key)

    def signal_ready(self, key: bytes) -> None:
        """A list or sorted set at ``key`` got elements: blocked clients may proceed."""
        ks = self.keyspace
        if ks.blocked_keys and (self.id, key) in ks.blocked_keys:
            ks.ready_keys.append((self.id, key))

    def clear(self) -> int:
        """FLUSHDB: remove every key; returns how many there were."""
        removed = len(self.data)
        ks = self.keyspace
        old = self.data
        self.reset()
        if ks.blocked_keys:  # XREADGROUP clients blocked on a stream that went away are told so
            for dbid, key in list(ks.blocked_keys):
                if dbid == self.id and key in old:
                    self.stream_gone(key, old[key])
        if ks.watched:  # after emptying: WATCH tells a deleted key from a live one
            ks.watch_only = True  # tracking hears of a flush once, through the flush hook
            try:
                for key in old:
                    ks.on_touch(self, key)
            finally:
                ks.watch_only = False
        ks.dirty += removed
        return removed

    # -- access clock (OBJECT IDLETIME / FREQ, eviction) ---------------------

    def note_access(self, key: bytes, new: bool = False) -> None:
        """Record an access to ``key`` in its 24-bit clock field, as Redis's object ``lru`` field.

        LRU: the LRU clock (seconds). LFU: minutes << 8 | a logarithmic counter,
        bumped (after decay) on each access and set to LFU_INIT_VAL for a new key.
        """
        if self.track == ACCESS_LRU:
            self.access[key] = self.keyspace.lru_now
        elif new:
            self.access[key] = (lfu_minutes() << 8) | LFU_INIT_VAL
        else:
            ks = self.keyspace
            counter = ks.lfu_log_incr(ks.lfu_decayed(self.access.get(key, ks.access_default)))
            self.access[key] = (lfu_minutes() << 8) | counter

    def idle_ms(self, key: bytes) -> int:
        """Milliseconds since ``key`` was last accessed (Redis's estimateObjectIdleTime)."""
        last = self.access.get(key, self.keyspace.access_default)
        clock = self.keyspace.lru_now
        if clock >= last:
            return (clock - last) * 1000
        return (clock + LRU_CLOCK_MAX - last) * 1000

    def idle_time(self, key: bytes) -> float:
        """Seconds since ``key`` was last accessed (what LRU eviction compares)."""
        return self.idle_ms(key) / 1000

    def access_frequency(self, key: bytes) -> int:
        """The LFU counter of ``key``, decayed for the time since its last access."""
        ks = self.keyspace
        return ks.lfu_decayed(self.access.get(key, ks.access_default))

    # -- SCAN ----------------------------------------------------------------

    def scan(self, cursor: int, count: int) -> tuple[int, list[bytes]]:
        """One SCAN step: the next cursor (0 when done) and up to ``count`` keys present now.

        Every key present for the whole scan has an entry at or after the cursor
        until it is returned, so none is missed; a key deleted and re-created may
        come twice (in two different calls). At most ``10 * count`` entries are visited, stale ones
        included (as Redis bounds empty buckets), so a call costs O(count).
        """
        pos = self.scan_position(cursor)
        order = self.order
        data = self.data
        end = len(order)
        found: list[bytes] = []
        budget = count * 10
        while pos < end and budget > 0 and len(found) < count:
            take = min(count - len(found), budget)
            chunk = order[pos : pos + take]
            pos += len(chunk)
            budget -= len(chunk)
            found += [key for key in chunk if key in data]
        if len(found) > 1:
            found = list(dict.fromkeys(found))  # a re-created key may have two entries in one window
        if pos >= end:
            return 0, found
        self.cursor_issued = True
        return (self.generation << POSITION_BITS) | pos, found

    def scan_position(self, cursor: int) -> int:
        """The position in ``order`` where a scan at ``cursor`` resumes (never past an unseen key)."""
        if cursor == 0:
            if len(self.order) < len(self.data):
                self.compact_order()  # keys entered without ``set``/``add``: rebuild the order
            return 0
        generation = cursor >> POSITION_BITS
        pos = cursor & POSITION_MASK
        while generation != self.generation:
            step = self.old_generations.get(generation)
            if step is None:
                return 0  # unknown or too old: start again, which repeats but never skips
            generation, prefix = step
            pos = prefix[min(pos >> BLOCK_SHIFT, len(prefix) - 1)]
        return pos

    def compact_order(self, force: bool = False) -> None:
        """Drop stale entries from ``order`` once they outnumber live keys (amortised O(1)).

        The new order is ``list(data)``: a dict iterates in insertion order, which
        is the order of each live key's last entry in ``order``. Cursors of the
        old generation are mapped through ``prefix``: for each block of 1024 old
        positions, how many live keys had their entry before the block. Resuming
        there repeats at most a block, and skips nothing. When no cursor of this
        generation was handed out, the map is not worth its walk: older cursors
        (from a client idle through a whole generation) then restart from the
        beginning, which repeats keys but skips none either.
        """
        old = self.order
        data = self.data
        live = len(data)
        self.order_limit = 2 * live + MIN_STALE
        if live <= len(old) <= self.order_limit and not force:
            return
        new = list(data)
        generation = self.keyspace.new_generation()
        prefix = None
        if self.cursor_issued and len(old) >= live and not force:
            prefix = block_prefix(old, new)
        maps = self.old_generations
        if prefix is None:
            maps.clear()
        else:
            maps[self.generation] = (generation, prefix)
            while len(maps) > KEPT_GENERATIONS:
                del maps[next(iter(maps))]
        self.order = new
        self.generation = generation
        self.cursor_issued = False

    def reindex(self) -> None:
        """Rebuild the SCAN and expiry orders after ``data``/``expires`` were filled directly (loading)."""
        self.compact_order(force=True)
        if self.slot_keys is not None:
            self.slot_keys.rebuild(self.data)
        self.expire_order = list(self.expires)
        self.expire_order_limit = 2 * len(self.expires) + MIN_STALE
        self.expire_cursor = 0
        self.recount()

    def compact_expire_order(self) -> None:
        """Drop stale entries from ``expire_order`` (no cursor to preserve: the cycle just restarts)."""
        live = len(self.expires)
        self.expire_order_limit = 2 * live + MIN_STALE
        if live <= len(self.expire_order) <= self.expire_order_limit:
            return
        self.expire_order = list(self.expires)
        self.expire_cursor = 0

    # -- sampling ------------------------------------------------------------

    def random_key(self) -> bytes | None:
        """A random live key, as RANDOMKEY picks it: expired keys met on the way are removed."""
        data = self.data
        if len(self.order) > 2 * len(data) + MIN_STALE or len(self.order) < len(data):
            self.compact_order()
        randrange = random.randrange
        misses = 0
        while data:
            order = self.order
            key = order[randrange(len(order))]
            if key not in data:
                misses += 1  # a stale entry: at most two in three are, unless ``order`` lost track
                if misses > 1000:
                    self.compact_order(force=True)
                    misses = 0
                continue
            if self.expires and self.expire_if_needed(key):
                misses += 1
                if self.keyspace.expiry_paused and misses > 100:
                    return key  # every key may have expired and stay until the pause ends
                continue
            return key
        return None

    def sample_key(self) -> bytes | None:
        """A random key, expired or not, without side effects (for statistics and eviction sampling)."""
        data = self.data
        if not data:
            return None
        order = self.order
        if len(order) > 2 * len(data) + MIN_STALE or len(order) < len(data):
            self.compact_order()
            order = self.order
        randrange = random.randrange
        for _ in range(1000):
            key = order[randrange(len(order))]
            if key in data:
                return key
        return random_dict_key(data)  # type: ignore[return-value]  # a key of ``data``: bytes

    def sample_expires(self, count: int) -> list[bytes]:
        """Up to ``count`` random keys that have a TTL (for volatile-* eviction)."""
        expires = self.expires
        if len(expires) <= count:
            return list(expires)
        if not 2 * len(expires) + MIN_STALE >= len(self.expire_order) >= len(expires):
            self.compact_expire_order()
        order = self.expire_order
        randrange = random.randrange
        keys = []
        for _ in range(count * 100):  # at most two entries in three are stale: this is plenty
            key = order[randrange(len(order))]
            if key in expires:
                keys.append(key)
                if len(keys) == count:
                    break
        return keys


def block_prefix(old: list[bytes], new: list[bytes]) -> list[int] | None:
    """For each block of 1024 positions of ``old``: how many keys of ``new`` had their last entry before it.

    ``new`` lists the live keys in the order of their last entries in ``old``.
    Walking ``old`` backwards, the first entry equal to the next unmatched key
    of ``new`` (from its end) is that key's last entry, so a backward greedy
    match finds exactly the last entries. Blocks made only of last entries are
    matched at once by comparing slices.
    """
    blocks = (len(old) >> BLOCK_SHIFT) + 1
    prefix = [0] * blocks
    j = len(new)
    target = new[j - 1] if j else None
    end = len(old)
    for block in range(blocks - 1, -1, -1):
        start = block << BLOCK_SHIFT
        size = end - start
        if size and j >= size and old[start:end] == new[j - size : j]:
            j -= size
            target = new[j - 1] if j else None
        else:
            for key in reversed(old[start:end]):
                if key == target:
                    j -= 1
                    target = new[j - 1] if j else None
        prefix[block] = j
        end = start
    return prefix if j == 0 else None  # None: some live key had no entry (the order lost track)


def lru_clock() -> int:
    """Redis's LRU clock: seconds, modulo 2**24."""
    return (now_ms() // 1000) & LRU_CLOCK_MAX


def lfu_minutes() -> int:
    """Redis's LFU clock: minutes, modulo 2**16."""
    return (now_ms() // 60000) & 65535


def random_dict_key(d: dict) -> object:
    """A uniformly random key of a dict, without copying it when small enough to walk."""
    n = len(d)
    if n < 64:
        return random.choice(list(d))
    index = random.randrange(n)
    it = iter(d)
    for _ in range(index):
        next(it)
    return next(it)


MARKED_RECORD_MIN = 1024  # marked strings remembered before the first clean-up (``marked_string``)


class Keyspace:
    """All databases, plus the hooks and counters the rest of the server uses."""

    def __init__(self, databases: int = 16):
        self.generations = 0
        self.hits = 0
        self.misses = 0
        self.expired_keys = 0
        self.evicted_keys = 0
        self.dirty = 0  # changes since the last save
        self.expire_enabled = True  # DEBUG SET-ACTIVE-EXPIRE and replicas turn it off
        self.active_expire_enabled = True
        # While CLIENT PAUSE holds the dataset still, an expired key reads as absent but
        # stays stored (and uncounted) until the pause ends, as in Redis 7.0.
        self.expiry_paused = False
        self.expire_effort = 1  # active-expire-effort, 1..10
        self.hz = 10  # cron ticks per second: the active cycle may use a share of each tick
        self.expire_next_db = 0  # where the next active expiry cycle starts
        self.notify_flags = 0
        self.watched = False  # any client WATCHing (or tracking on): on_touch must be called
        self.tracking_active = False  # client-side caching wants every change (server.tracking)
        self.watch_only = False  # set while a flush or SWAPDB reports keys to WATCH alone
        self.on_touch: Callable[[Database, bytes], None] = lambda db, key: None
        self.on_expired: Callable[[Database, bytes], None] | None = None
        self.notify_hook: Callable[[int, bytes, bytes, int], None] | None = None
        self.blocked_keys: dict[tuple[int, bytes], list] = {}
        self.ready_keys: list[tuple[int, bytes]] = []
        # Access tracking: off until OBJECT IDLETIME/FREQ or an LRU/LFU policy needs it.
        self.access_mode = ACCESS_OFF
        self.access_default = 0  # the clock field of keys not accessed since tracking began
        # Redis's server.lruclock: the LRU clock read once per cron tick, so that keys accessed in
        # the same second share one int object and an access costs no clock call.
        self.lru_now = lru_clock()
        self.lfu_log_factor = 10
        self.lfu_decay_time = 1
        # Strings whose OBJECT ENCODING or REFCOUNT is not what their bytes suggest, by
        # identity (``marked_string``): id -> (the object, its encoding).
        self.marked_strings: dict[int, tuple[bytes, bytes]] = {}
        self.marked_limit = MARKED_RECORD_MIN
        self.dbs = [Database(i, self) for i in range(databases)]

    def marked_string(self, value: bytes, encoding: bytes) -> bytes:
        """``value`` as an object of its own that OBJECT ENCODING reports as ``encoding`` and
        OBJECT REFCOUNT as 1, whatever its bytes look like.

        Redis settles a string's encoding when it stores it, and the bytes alone do not
        always tell: COPY duplicates a shared small integer ("0" .. "9999", REFCOUNT INT_MAX)
        into an int of its own (REFCOUNT 1), and INCRBYFLOAT stores an integral result such
        as "3" as an embstr. The object keeps that through RENAME, MOVE and SWAPDB until the
        key is written again, so it is remembered by identity; the ones no key holds any
        more are forgotten when the record has grown.
        """
        marked = bytes(bytearray(value))  # a distinct object with the same bytes
        record = self.marked_strings
        if len(record) >= self.marked_limit:
            for ident in list(record):
                held = record[ident][0]
                if sys.getrefcount(held) <= 3:  # the record's tuple, ``held`` and the call's own
                    del record[ident]
            self.marked_limit = max(MARKED_RECORD_MIN, 2 * len(record))
        record[id(marked)] = (marked, encoding)
        return marked

    def string_marking(self, value: object) -> bytes | None:
        """The encoding ``marked_string`` gave this very object, or None (the bytes tell)."""
        entry = self.marked_strings.get(id(value))
        return entry[1] if entry is not None and entry[0] is value else None

    def new_generation(self) -> int:
        """A SCAN generation number never used before by any database."""
        self.generations += 1
        return self.generations

    def notify(self, kind: int, event: bytes, key: bytes, dbid: int) -> None:
        """Emit a keyspace notification if ``kind`` is enabled."""
        if self.notify_flags & kind and self.notify_hook is not None:
            self.notify_hook(kind, event, key, dbid)

    def __iter__(self) -> Iterator[Database]:
        return iter(self.dbs)

    def swap(self, a: int, b: int) -> None:
        """SWAPDB: the databases trade contents; clients keep their numbers."""
        da, db = self.dbs[a], self.dbs[b]
        for name in Database.STATE:
            first, second = getattr(da, name), getattr(db, name)
            setattr(da, name, second)
            setattr(db, name, first)
        if self.watched:  # a watched key changed if it exists on either side of the swap
            self.watch_only = True  # Redis's SWAPDB invalidates no client-side caches
            try:
                for key in da.data.keys() | db.data.keys():
                    self.on_touch(da, key)
                    self.on_touch(db, key)
            finally:
                self.watch_only = False
        self.dirty += 1
        # Keys that now exist in a database with blocked clients may serve them.
        # So may keys that held a stream before (blocked XREADGROUP clients then get an error).
        for dbx, other in ((da, db), (db, da)):
            for (dbid, key) in list(self.blocked_keys):
                if dbid == dbx.id and (key in dbx.data or
                                       getattr(other.data.get(key).__class__, "TYPE_NAME", None) == b"stream"):
                    self.ready_keys.append((dbid, key))

    # -- access tracking -----------------------------------------------------

    def track_access(self, mode: int) -> None:
        """Record accesses as LRU times or LFU counters from now on (ACCESS_OFF stops and forgets).

        Keys not accessed since tracking began count as accessed at that moment
        (LRU), or with LFU's initial counter. Switching between LRU and LFU keeps
        the recorded fields and reads them the new way, as Redis does (hence its
        warning that the data "will take some time to adjust").
        """
        if mode == self.access_mode:
            return
        self.lru_now = lru_clock()
        if self.access_mode == ACCESS_OFF or mode == ACCESS_OFF:
            self.access_default = self.lru_now if mode == ACCESS_LRU else (lfu_minutes() << 8) | LFU_INIT_VAL
            for db in self.dbs:
                db.access = {}
        self.access_mode = mode
        for db in self.dbs:
            db.track = mode

    def lfu_decayed(self, field: int) -> int:
        """Redis's LFUDecrAndReturn: the counter less one per ``lfu-decay-time`` minutes idle."""
        counter = field & 255
        if self.lfu_decay_time:
            last = (field >> 8) & 65535
            now = lfu_minutes()
            elapsed = now - last if now >= last else 65535 - last + now
            counter = max(counter - elapsed // self.lfu_decay_time, 0)
        return counter

    def lfu_log_incr(self, counter: int) -> int:
        """Redis's LFULogIncr: increment with probability 1 / ((counter - 5) * lfu-log-factor + 1)."""
        if counter == 255:
            return 255
        base = max(counter - LFU_INIT_VAL, 0)
        if random.random() < 1.0 / (base * self.lfu_log_factor + 1):
            counter += 1
        return counter

    # -- active expiry -------------------------------------------------------

    def tidy(self) -> None:
        """Cron housekeeping: refresh the LRU clock, compact orders left mostly stale by deletions."""
        self.lru_now = lru_clock()
        for db in self.dbs:
            if not 2 * len(db.data) + MIN_STALE >= len(db.order) >= len(db.data):
                db.compact_order()
            if not 2 * len(db.expires) + MIN_STALE >= len(db.expire_order) >= len(db.expires):
                db.compact_expire_order()

    def active_expire_cycle(self, budget_ms: float = 25.0) -> int:
        """Remove expired keys nobody reads, as Redis 7.0's activeExpireCycle (slow cycle) does.

        For each database in turn (resuming where the last cycle stopped): walk
        the keys with a TTL from a cursor, sampling 20 of them (more with a higher
        ``active-expire-effort``), delete those past their deadline, and repeat
        while more than 10% of a sample had expired. Stop when the time is spent:
        ``budget_ms``, and never more than Redis's share of a cron tick (25% of
        1000/hz ms, plus 2% per effort step). Also keeps each database's
        ``avg_ttl`` for INFO keyspace. Returns how many keys were removed.
        """
        self.tidy()
        if not (self.expire_enabled and self.active_expire_enabled) or self.expiry_paused:
            return 0
        effort = self.expire_effort - 1
        per_loop = 20 + 20 // 4 * effort
        acceptable_stale = 10 - effort
        budget_ms = min(budget_ms, (25 + 2 * effort) * 10 / self.hz)
        deadline = time.perf_counter() + budget_ms / 1000.0
        removed = 0
        dbs = self.dbs
        for _ in range(len(dbs)):
            db = dbs[self.expire_next_db % len(dbs)]
            self.expire_next_db += 1
            while True:
                expires = db.expires
                if not expires:
                    db.avg_ttl = 0
                    break
                sampled, expired = self._expire_sample(db, min(len(expires), per_loop))
                removed += expired
                if time.perf_counter() > deadline:
                    return removed
                if sampled and expired * 100 // sampled <= acceptable_stale:
                    break
        return removed

    def _expire_sample(self, db: Database, wanted: int) -> tuple[int, int]:
        """Check ``wanted`` keys with a TTL from the database's cursor; (sampled, expired)."""
        expires = db.expires
        order = db.expire_order
        size = len(order)
        if size == 0:
            return 0, 0
        pos = db.expire_cursor
        now = now_ms()
        sampled = expired = ttl_sum = ttl_samples = 0
        checked = 0
        max_checked = wanted * 20  # stale entries count like Redis's empty buckets
        while sampled < wanted and checked < max_checked:
            if pos >= size:
                pos = 0
            key = order[pos]
            pos += 1
            checked += 1
            when = expires.get(key)
            if when is None:
                continue
            sampled += 1
            if now > when:
                db.expire_key(key)
                expired += 1
            else:
                ttl_sum += when - now
                ttl_samples += 1
        db.expire_cursor = pos
        if ttl_samples:
            average = ttl_sum // ttl_samples
            if db.avg_ttl == 0:
                db.avg_ttl = average
            db.avg_ttl = (db.avg_ttl // 50) * 49 + average // 50
        return sampled, expired
