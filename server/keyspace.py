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

The keyspace knows nothing of sockets or commands. Other parts of the server
listen for changes through three hooks on the ``Keyspace``: ``on_touch``
(WATCH), ``on_notify`` (keyspace notifications) and ``on_ready`` (clients
blocked on a list or sorted set).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator

from server.protocol import Error

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
        return int(time.time() * 1000)


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


class Database:
    """One numbered database: keys, values and deadlines."""

    __slots__ = ("id", "data", "expires", "keyspace", "avg_ttl", "expire_cursor")

    def __init__(self, index: int, keyspace: Keyspace):
        self.id = index
        self.data: dict[bytes, object] = {}
        self.expires: dict[bytes, int] = {}
        self.keyspace = keyspace
        self.avg_ttl = 0
        self.expire_cursor = 0

    def __len__(self) -> int:
        return len(self.data)

    # -- reading -------------------------------------------------------------

    def lookup(self, key: bytes) -> object | None:
        """The value at ``key``, or None if absent or expired (then removed)."""
        value = self.data.get(key)
        if value is not None and self.expires:
            deadline = self.expires.get(key)
            if deadline is not None and deadline < now_ms() and self.keyspace.expire_enabled:
                self.expire_key(key)
                return None
        return value

    def lookup_read(self, key: bytes) -> object | None:
        """``lookup`` that also counts a keyspace hit or miss (for INFO stats)."""
        value = self.lookup(key)
        ks = self.keyspace
        if value is None:
            ks.misses += 1
            if ks.notify_flags & NOTIFY_KEY_MISS:
                ks.notify(NOTIFY_KEY_MISS, b"keymiss", key, self.id)
        else:
            ks.hits += 1
        return value

    def lookup_type(self, key: bytes, cls: type, read: bool = True) -> object | None:
        """The value at ``key`` if it is a ``cls``; None if absent; WRONGTYPE otherwise."""
        value = self.lookup_read(key) if read else self.lookup(key)
        if value is not None and value.__class__ is not cls:
            raise WRONGTYPE
        return value

    def get_string(self, key: bytes) -> bytes | bytearray | None:
        value = self.lookup_read(key)
        if value is not None and value.__class__ is not bytes and value.__class__ is not bytearray:
            raise WRONGTYPE
        return value  # type: ignore[return-value]

    def exists(self, key: bytes) -> bool:
        return self.lookup(key) is not None

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
        if key not in data:
            ks = self.keyspace
            if ks.notify_flags & NOTIFY_NEW:
                ks.notify(NOTIFY_NEW, b"new", key, self.id)
        data[key] = value
        if not keep_ttl and self.expires:
            self.expires.pop(key, None)
        self.touch(key)

    def add(self, key: bytes, value: object) -> None:
        """Store a new collection at a key known to be free (no TTL to drop)."""
        ks = self.keyspace
        if ks.notify_flags & NOTIFY_NEW:
            ks.notify(NOTIFY_NEW, b"new", key, self.id)
        self.data[key] = value
        self.touch(key)

    def delete(self, key: bytes) -> bool:
        """Remove ``key``; True if it existed. Sends no notification (callers choose the event)."""
        if self.data.pop(key, None) is None:
            return False
        if self.expires:
            self.expires.pop(key, None)
        self.touch(key)
        return True

    def touch(self, key: bytes) -> None:
        """Tell WATCHers that ``key`` changed (Redis's signalModifiedKey)."""
        ks = self.keyspace
        ks.dirty += 1
        if ks.watched:
            ks.on_touch(self, key)

    def set_expire(self, key: bytes, deadline_ms: int) -> None:
        self.expires[key] = deadline_ms

    def persist(self, key: bytes) -> bool:
        return self.expires.pop(key, None) is not None

    def expire_key(self, key: bytes) -> None:
        """Remove a key whose deadline has passed, with the ``expired`` event."""
        self.data.pop(key, None)
        self.expires.pop(key, None)
        ks = self.keyspace
        ks.expired_keys += 1
        if ks.watched:
            ks.on_touch(self, key)
        ks.dirty += 1
        if ks.notify_flags & NOTIFY_EXPIRED:
            ks.notify(NOTIFY_EXPIRED, b"expired", key, self.id)
        if ks.on_expired is not None:
            ks.on_expired(self, key)

    def signal_ready(self, key: bytes) -> None:
        """A list or sorted set at ``key`` got elements: blocked clients may proceed."""
        ks = self.keyspace
        if ks.blocked_keys and (self.id, key) in ks.blocked_keys:
            ks.ready_keys.append((self.id, key))

    def clear(self) -> int:
        removed = len(self.data)
        ks = self.keyspace
        if ks.watched:
            for key in list(self.data):
                ks.on_touch(self, key)
        self.data = {}
        self.expires = {}
        ks.dirty += removed
        return removed

    # -- expiry --------------------------------------------------------------

    def sample_expires(self, count: int) -> list[bytes]:
        """Up to ``count`` keys with a TTL, taken from a rotating position (for the active cycle)."""
        expires = self.expires
        n = len(expires)
        if n == 0:
            return []
        if n <= count:
            return list(expires)
        # dicts keep insertion order: slice a window that moves forward each call.
        start = random.randrange(n)
        keys = []
        it = iter(expires)
        for _ in range(start):
            next(it)
        for key in it:
            keys.append(key)
            if len(keys) == count:
                break
        return keys

    def random_key(self) -> bytes | None:
        """A random live key (expired ones met on the way are removed), or None."""
        for _ in range(100):
            if not self.data:
                return None
            key = random_dict_key(self.data)
            if self.lookup(key) is not None:
                return key
        return None


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


class Keyspace:
    """All databases, plus the hooks and counters the rest of the server uses."""

    def __init__(self, databases: int = 16):
        self.dbs = [Database(i, self) for i in range(databases)]
        self.hits = 0
        self.misses = 0
        self.expired_keys = 0
        self.evicted_keys = 0
        self.dirty = 0  # changes since the last save
        self.expire_enabled = True  # DEBUG SET-ACTIVE-EXPIRE and replicas turn it off
        self.active_expire_enabled = True
        self.notify_flags = 0
        self.watched = False  # any client WATCHing: on_touch must be called
        self.on_touch: Callable[[Database, bytes], None] = lambda db, key: None
        self.on_expired: Callable[[Database, bytes], None] | None = None
        self.notify_hook: Callable[[int, bytes, bytes, int], None] | None = None
        self.blocked_keys: dict[tuple[int, bytes], list] = {}
        self.ready_keys: list[tuple[int, bytes]] = []

    def notify(self, kind: int, event: bytes, key: bytes, dbid: int) -> None:
        """Emit a keyspace notification if ``kind`` is enabled."""
        if self.notify_flags & kind and self.notify_hook is not None:
            self.notify_hook(kind, event, key, dbid)

    def __iter__(self) -> Iterator[Database]:
        return iter(self.dbs)

    def swap(self, a: int, b: int) -> None:
        """SWAPDB: the databases trade contents; clients keep their numbers."""
        da, db = self.dbs[a], self.dbs[b]
        if self.watched:
            for d in (da, db):
                for key in list(d.data):
                    self.on_touch(d, key)
        da.data, db.data = db.data, da.data
        da.expires, db.expires = db.expires, da.expires
        self.dirty += 1
        # Keys that now exist in a database with blocked clients may serve them.
        for dbx in (da, db):
            for (dbid, key) in list(self.blocked_keys):
                if dbid == dbx.id and key in dbx.data:
                    self.ready_keys.append((dbid, key))

    def active_expire_cycle(self, budget_ms: float = 25.0) -> int:
        """Remove expired keys by sampling, as Redis's activeExpireCycle does.

        For each database: sample 20 keys with a TTL, delete the expired ones, and
        repeat while more than a quarter of the sample had expired, until the time
        budget runs out. Returns how many keys were removed.
        """
        if not (self.expire_enabled and self.active_expire_enabled):
            return 0
        start = time.perf_counter()
        deadline = start + budget_ms / 1000.0
        removed = 0
        for db in self.dbs:
            while db.expires:
                now = now_ms()
                sample = db.sample_expires(20)
                expired = 0
                for key in sample:
                    d = db.expires.get(key)
                    if d is not None and d < now:
                        db.expire_key(key)
                        expired += 1
                removed += expired
                if expired * 4 <= len(sample) or time.perf_counter() > deadline:
                    break
            if time.perf_counter() > deadline:
                break
        return removed
