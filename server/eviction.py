"""maxmemory: memory accounting and eviction, as Redis's evict.c does it, approximately.

Accounting. Python cannot tell cheaply how many bytes the dataset holds, and
the process's RSS does not shrink when keys are deleted, so neither can steer
eviction. ``used_memory`` is therefore an estimate, stated plainly:

    used_memory = memory at start-up + Σ large keys' sizes
                  + Σ over databases (other keys × average bytes per key)

A sample cannot see one big key among many small ones (a list grown to
500 MB), so sizes are also kept per key as values grow: every write under a
limit counts its arguments against its key (``grown``); the cron measures
each key that grew (``server.memory.key_footprint``) and keeps those past
``LARGE_KEY`` in ``large`` with their size, re-measured while they live. The
average comes from a sample of the other keys, refreshed by the cron; in
between, every write's arguments (with Python's per-object overhead) are
added at once and every evicted key's size is taken off.

Eviction. Before a command flagged ``denyoom`` runs, if ``used_memory`` is
above ``maxmemory``, keys are evicted one by one per ``maxmemory-policy`` until
it is not. As in Redis's approximated LRU/LFU/TTL, each eviction samples
``maxmemory-samples`` random keys into a pool of the 16 best candidates seen so
far (least recently used, least frequently used, or soonest to expire) and
evicts the best one that still exists; random policies take a random key. The pool
is all keys (``allkeys-*``) or keys with a TTL (``volatile-*``). When nothing
can be evicted the command gets Redis's OOM error.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from server.keyspace import NOTIFY_EVICTED, Database
from server.memory import key_footprint, rss_bytes
from server.protocol import Error

if TYPE_CHECKING:
    from server.client import Client
    from server.instance import Server

OOM = Error(b"OOM command not allowed when used memory > 'maxmemory'.")
SAMPLE_FOR_AVERAGE = 32
POOL_SIZE = 16
LARGE_KEY = 64 * 1024  # keys at least this big are accounted one by one
ARG_OVERHEAD = 48  # a stored argument's object header and container slot, beyond its bytes
MEASURE_PER_REFRESH = 256  # keys that grew measured per cron tick, the fastest growing first


class Eviction:
    def __init__(self, server: Server):
        self.server = server
        self.baseline = rss_bytes()
        self.average: dict[int, float] = {}  # db id → estimated bytes per key
        self.extra = 0  # bytes written since the last refresh
        self.grown: dict[tuple[int, bytes], int] = {}  # keys written since the last refresh
        self.large: dict[tuple[int, bytes], int] = {}  # big keys and their measured sizes
        self.large_total = 0
        self.pool: list[tuple[float, int, bytes]] = []  # best candidates, best last
        self.peak = 0  # the highest used_memory INFO has reported
        self.limited = False  # a maxmemory is set: dispatch calls ``check`` before denyoom commands
        server.config.on_change("maxmemory", lambda value: self._arm())
        self._arm()

    def _arm(self) -> None:
        """Dispatch asks us before write commands only while a limit is set."""
        self.limited = bool(self.server.config["maxmemory"])
        if self.limited:
            self.refresh()

    def note_peak(self, used: int) -> int:
        """The peak of used memory, counting ``used`` (INFO memory's used_memory_peak)."""
        self.peak = max(self.peak, used)
        return self.peak

    # -- accounting --------------------------------------------------------------

    def refresh(self) -> None:
        """Measure the keys that grew and the large ones; re-sample the average of the others."""
        dbs = self.server.keyspace.dbs
        large = self.large
        if self.grown or large:
            grown, self.grown = self.grown, {}
            # The keys that grew most (a small key's growth is the average's business).
            candidates = sorted(grown, key=grown.__getitem__, reverse=True)[:MEASURE_PER_REFRESH]
            for dbkey in [*candidates, *(k for k in large if k not in grown)]:
                value = dbs[dbkey[0]].data.get(dbkey[1])
                size = key_footprint(dbkey[1], value) if value is not None else 0
                if size >= LARGE_KEY:
                    large[dbkey] = size
                else:
                    large.pop(dbkey, None)
            self.large_total = sum(large.values())
        for db in dbs:
            n = len(db.data)
            if n == 0:
                self.average.pop(db.id, None)
                continue
            sizes = []
            for _ in range(min(SAMPLE_FOR_AVERAGE, n)):
                key = db.sample_key()  # no side effects: random_key() would expire keys
                if key is None:
                    break
                if (db.id, key) in large:
                    continue
                value = db.data.get(key)
                if value is not None:
                    sizes.append(key_footprint(key, value, 5))
            if sizes:
                self.average[db.id] = sum(sizes) / len(sizes)
        self.extra = 0

    def dataset_bytes(self) -> int:
        total = self.extra + self.large_total
        large_per_db: dict[int, int] = {}
        for dbid, _key in self.large:
            large_per_db[dbid] = large_per_db.get(dbid, 0) + 1
        for db in self.server.keyspace.dbs:
            if db.data:
                small = max(len(db.data) - large_per_db.get(db.id, 0), 0)
                total += int(small * self.average.get(db.id, 100.0))
        return total

    def used_memory(self) -> int:
        return self.baseline + self.dataset_bytes()

    # -- eviction ----------------------------------------------------------------

    def check(self, client: Client, argv: list[bytes] | None = None) -> Error | None:
        """Run before a ``denyoom`` command: make room, or refuse with OOM."""
        config = self.server.config
        limit = config.get_int("maxmemory")
        error = self._make_room(limit, config.get_str("maxmemory-policy"))
        if error is None and argv:
            added = 64 + sum(len(a) for a in argv) + ARG_OVERHEAD * len(argv)  # what this write may add
            self.extra += added
            if len(argv) > 1:
                dbkey = (client.db.id, argv[1])
                grown = self.grown
                grown[dbkey] = grown.get(dbkey, 0) + added
        return error

    def _make_room(self, limit: int, policy: str) -> Error | None:
        if not limit or self.used_memory() <= limit:
            return None
        if policy == "noeviction":
            return OOM
        for _ in range(10_000):  # bounded: one write cannot stall the loop forever
            if self.used_memory() <= limit:
                return None
            if not self.evict_one(policy):
                return OOM
        return None if self.used_memory() <= limit else OOM

    def evict_one(self, policy: str) -> bool:
        """Evict one key chosen per ``policy``; False if there is nothing to evict."""
        volatile = policy.startswith("volatile")
        dbs = [db for db in self.server.keyspace.dbs if (db.expires if volatile else db.data)]
        if not dbs:
            return False
        if policy.endswith("random"):
            db = random.choice(dbs)
            key = _random_key(db, volatile)
            return key is not None and self._evict(db, key)
        self._fill_pool(policy, dbs, volatile)
        while self.pool:
            _, dbid, key = self.pool.pop()
            db = self.server.keyspace.dbs[dbid]
            if key in (db.expires if volatile else db.data):
                return self._evict(db, key)
        return False

    def _fill_pool(self, policy: str, dbs: list[Database], volatile: bool) -> None:
        """Sample keys into the pool, keeping the POOL_SIZE best (Redis's evictionPoolPopulate)."""
        pool = self.pool
        known = {(dbid, key) for _, dbid, key in pool}
        for db in dbs:
            for _ in range(self.server.config.get_int("maxmemory-samples")):
                key = _random_key(db, volatile)
                if key is None or (db.id, key) in known:
                    continue
                known.add((db.id, key))
                pool.append((self._score(policy, db, key), db.id, key))
        pool.sort(key=lambda entry: entry[0])
        del pool[: max(0, len(pool) - POOL_SIZE)]

    def _evict(self, db: Database, key: bytes) -> bool:
        size = self.large.pop((db.id, key), None)
        if size is not None:  # a small key's share leaves with it (keys x average)
            self.large_total -= size
        db.delete(key)
        self.server.effects.evicted(db, key)
        ks = self.server.keyspace
        ks.evicted_keys += 1
        ks.notify(NOTIFY_EVICTED, b"evicted", key, db.id)
        return True

    def _score(self, policy: str, db: Database, key: bytes) -> float:
        """Higher is a better victim."""
        if policy.endswith("lru"):
            return float(idle_seconds(db, key))
        if policy.endswith("lfu"):
            return -float(access_frequency(db, key))
        if policy == "volatile-ttl":
            return -float(db.expires.get(key, 0))
        return random.random()


def _random_key(db: Database, volatile: bool) -> bytes | None:
    if volatile:
        sample = db.sample_expires(1)
        return sample[0] if sample else None
    return db.random_key()


def idle_seconds(db: Database, key: bytes) -> float:
    """How long since the key was last used, from the keyspace's access tracking if present."""
    probe = getattr(db, "idle_time", None)
    return probe(key) if probe is not None else 0.0


def access_frequency(db: Database, key: bytes) -> float:
    probe = getattr(db, "access_frequency", None)
    return probe(key) if probe is not None else 0.0
