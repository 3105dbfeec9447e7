"""maxmemory: memory accounting and eviction, as Redis's evict.c does it.

Accounting. Redis asks its allocator how many bytes it holds; Python has no
cheap equivalent, and the process's RSS does not shrink when keys are deleted,
so neither can steer eviction. Sizes are therefore kept per key as the data
changes, whether or not a limit is set (``server.memory`` states the rules):
each database's ``used`` gains a string's bytes when it is stored and loses
them when it goes; a collection written in place is marked stale and
re-measured when the count is next read (``Database.settle``), once however
many writes it received. Then

    used_memory = memory at start-up
                  + Σ over databases (used + keys × KEY_SLOT + deadlines × EXPIRE_SLOT
                                      + access clocks × ACCESS_SLOT)

so one list grown to hundreds of megabytes among many small keys is counted
as it grows. The cron settles stale keys in bounded batches; reading the total
(INFO, or the check before a write under a limit) settles the rest. Under a
limit, ``check`` also notes the bytes each write carries for its key: a floor
for the key's growth that a sampled measure (which cannot see a few huge
elements among many small ones) must not go below.

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
from server.memory import ACCESS_SLOT, EXPIRE_SLOT, KEY_SLOT, rss_bytes
from server.protocol import Error

if TYPE_CHECKING:
    from server.client import Client
    from server.instance import Server

OOM = Error(b"OOM command not allowed when used memory > 'maxmemory'.")
POOL_SIZE = 16
SETTLE_PER_TICK = 2000  # stale keys each database re-measures per cron tick (bounded work)
ARG_OVERHEAD = 48  # what Python adds to a stored argument's bytes: object header, rounding, container slot


class Eviction:
    def __init__(self, server: Server):
        self.server = server
        self.baseline = rss_bytes()
        self.pool: list[tuple[float, int, bytes]] = []  # best candidates, best last
        self.peak = 0  # the highest used_memory INFO has reported
        self.limited = False  # a maxmemory is set: dispatch calls ``check`` before denyoom commands
        self.noted: Database | None = None  # where ``check`` last noted a write's bytes
        server.config.on_change("maxmemory", lambda value: self._arm())
        self._arm()

    def _arm(self) -> None:
        """Dispatch asks us before write commands only while a limit is set."""
        self.limited = bool(self.server.config["maxmemory"])

    def note_peak(self, used: int) -> int:
        """The peak of used memory, counting ``used`` (INFO memory's used_memory_peak)."""
        self.peak = max(self.peak, used)
        return self.peak

    # -- accounting --------------------------------------------------------------

    def refresh(self) -> None:
        """From the cron: re-measure a bounded batch of each database's stale keys."""
        for db in self.server.keyspace.dbs:
            if db.stale:
                db.settle(SETTLE_PER_TICK)

    def dataset_bytes(self) -> int:
        """The bytes the keys take, every stale key re-measured first."""
        total = 0
        for db in self.server.keyspace.dbs:
            if db.stale:
                db.settle()
            if db.data:
                total += (db.used + len(db.data) * KEY_SLOT + len(db.expires) * EXPIRE_SLOT
                          + len(db.access) * ACCESS_SLOT)
        return total

    def used_memory(self) -> int:
        return self.baseline + self.dataset_bytes()

    # -- eviction ----------------------------------------------------------------

    def check(self, client: Client, argv: list[bytes] | None = None) -> Error | None:
        """Run before a ``denyoom`` command: make room, or refuse with OOM.

        The bytes the command carries for its key (``argv`` past the key) are noted
        in ``Database.written``: when the key's size is next counted they are a floor
        for its growth, which sampling alone could miss (``memory.collection_size``).
        """
        config = self.server.config
        error = self._make_room(config.get_int("maxmemory"), config.get_str("maxmemory-policy"))
        noted = self.noted
        if noted is not None and noted.written:  # left by a write that changed nothing
            noted.written.clear()
        if error is None and argv is not None and len(argv) > 2:
            db = client.db
            db.written[argv[1]] = sum(map(len, argv)) - len(argv[0]) - len(argv[1]) + ARG_OVERHEAD * (len(argv) - 2)
            self.noted = db
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
