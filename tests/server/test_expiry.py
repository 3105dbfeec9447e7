"""Expiry: lazy removal on access, and the active cycle that reclaims keys nobody reads.

The active cycle follows Redis 7.0's activeExpireCycle: per database, sample
20 keys with a TTL from a rotating cursor, delete the expired ones, repeat
while more than 10% of a sample had expired, within a time budget. The unit
tests freeze the server clock to check the algorithm; the socket tests check
that DBSIZE and INFO keyspace drop with no access at all.
"""

from __future__ import annotations

import time

import pytest

from server import keyspace as keyspace_module
from server.keyspace import Keyspace


@pytest.fixture
def frozen():
    """Freeze the keyspace clock at a round time; yields a setter to move it."""
    clock = keyspace_module.clock
    clock.frozen = 1_700_000_000_000

    def move_to(ms: int) -> None:
        clock.frozen = ms

    yield move_to
    clock.frozen = None


def wait_for(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


# --------------------------------------------------------------------------- lazy expiry


def test_reading_an_expired_key_removes_it(r):
    r.config_set("notify-keyspace-events", "Ex")
    pubsub = r.pubsub()
    pubsub.psubscribe("__keyevent@0__:expired")
    pubsub.get_message(timeout=1)
    r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    try:
        before = r.info("stats")["expired_keys"]
        r.set("k", "v", px=400)  # long enough that a busy machine still reads it before the deadline
        assert r.get("k") == b"v"
        time.sleep(0.45)
        assert r.dbsize() == 1  # nobody has looked yet
        assert r.get("k") is None
        assert r.dbsize() == 0
        assert r.info("stats")["expired_keys"] == before + 1
        message = pubsub.get_message(timeout=1)
        assert message["data"] == b"k"
    finally:
        r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "1")
        pubsub.close()


def test_a_key_expires_only_after_its_deadline(frozen):
    ks = Keyspace(1)
    db = ks.dbs[0]
    db.set(b"k", b"v")
    now = keyspace_module.now_ms()
    db.set_expire(b"k", now + 10)
    frozen(now + 10)
    assert db.lookup(b"k") == b"v"  # at the deadline the key still lives, as in Redis
    assert db.ttl_ms(b"k") == 0
    frozen(now + 11)
    assert db.lookup(b"k") is None
    assert ks.expired_keys == 1


# --------------------------------------------------------------------------- the active cycle


def test_active_cycle_reclaims_thousands_of_keys_without_access(r):
    with r.pipeline(transaction=False) as pipe:
        for i in range(5000):
            pipe.set(f"volatile:{i}", "v", px=1000)
        for i in range(100):
            pipe.set(f"stays:{i}", "v")
        pipe.execute()
    assert r.dbsize() > 1000
    assert r.info("keyspace")["db0"]["expires"] > 900
    assert wait_for(lambda: r.dbsize() == 100, timeout=10)
    assert r.info("keyspace")["db0"] == {"keys": 100, "expires": 0, "avg_ttl": 0}


def test_set_active_expire_0_stops_the_cycle(r):
    r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    try:
        with r.pipeline(transaction=False) as pipe:
            for i in range(2000):
                pipe.set(f"volatile:{i}", "v", px=50)
            pipe.execute()
        time.sleep(0.6)  # every key is past its deadline, and the cron has run several times
        assert r.dbsize() == 2000
        assert r.info("keyspace")["db0"]["keys"] == 2000
        assert r.exists("volatile:7") == 0  # a lookup still expires lazily
        assert r.dbsize() == 1999
    finally:
        r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "1")
    assert wait_for(lambda: r.dbsize() == 0, timeout=10)
    assert "db0" not in r.info("keyspace")


def test_avg_ttl_is_reported(r):
    r.execute_command("SELECT", 3)
    with r.pipeline(transaction=False) as pipe:
        for i in range(50):
            pipe.set(f"k{i}", "v", ex=1000)
        pipe.execute()
    assert wait_for(lambda: r.info("keyspace").get("db3", {}).get("avg_ttl", 0) > 900_000, timeout=5)
    r.execute_command("SELECT", 0)


def _volatile_db(expired: int, alive: int, frozen_now: int, interleave: bool = True):
    ks = Keyspace(1)
    ks.hz = 1  # a cycle may then take up to 250 ms: room for a loaded test machine
    db = ks.dbs[0]
    keys = [(b"dead:%d" % i, frozen_now - 1) for i in range(expired)]
    keys += [(b"live:%d" % i, frozen_now + 1_000_000) for i in range(alive)]
    if interleave:
        keys.sort(key=lambda item: hash(item[0]))
    for key, deadline in keys:
        db.set(key, b"v")
        db.set_expire(key, deadline)
    return ks, db


def test_cycle_keeps_going_while_many_sampled_keys_are_expired(frozen, monkeypatch):
    now = keyspace_module.now_ms()
    ks, db = _volatile_db(1000, 1000, now)
    # Only the expired share may end this cycle, not its time cap (test_cycle_respects_its_time_budget
    # covers that): the cycle's clock stands still, so a worker starved of CPU still finishes.
    monkeypatch.setattr(keyspace_module.time, "perf_counter", lambda: 0.0)
    removed = ks.active_expire_cycle(budget_ms=1000)
    assert removed == 1000
    assert len(db) == 1000 and len(db.expires) == 1000


def test_cycle_stops_after_a_sample_that_is_mostly_alive(frozen):
    now = keyspace_module.now_ms()
    ks, db = _volatile_db(0, 10_000, now)
    db.set(b"dead", b"v")
    db.set_expire(b"dead", now - 1)
    ks.active_expire_cycle(budget_ms=1000)
    # One sample of 20 keys, none expired: 0% <= 10%, so the cycle moves on after 20 keys.
    assert db.expire_cursor == 20
    assert len(db) == 10_001


def test_cycle_respects_its_time_budget(frozen):
    now = keyspace_module.now_ms()
    ks, db = _volatile_db(100_000, 0, now, interleave=False)
    start = time.perf_counter()
    removed = ks.active_expire_cycle(budget_ms=5)
    elapsed = time.perf_counter() - start
    assert 0 < removed < 100_000
    assert elapsed < 0.25  # 5 ms budget, checked after each sample of 20 keys
    ks.hz = 100  # Redis's share of a tick at hz 100: 25% of 10 ms, whatever budget is offered
    start = time.perf_counter()
    removed = ks.active_expire_cycle(budget_ms=1000)
    assert removed > 0 and len(db) > 0  # stopped by the time limit, not by running out of keys
    assert time.perf_counter() - start < 0.25


def test_cycle_samples_more_keys_with_more_effort(frozen):
    now = keyspace_module.now_ms()
    ks, db = _volatile_db(0, 1000, now)
    ks.expire_effort = 5
    ks.active_expire_cycle(budget_ms=1000)
    assert db.expire_cursor == 20 + 5 * 4  # Redis: 20 + 20/4 * (effort - 1)


def test_cycle_does_nothing_when_expiry_is_disabled(frozen):
    now = keyspace_module.now_ms()
    ks, db = _volatile_db(100, 0, now)
    ks.active_expire_enabled = False
    assert ks.active_expire_cycle() == 0
    ks.active_expire_enabled = True
    ks.expire_enabled = False  # a replica waits for its master's DELs
    assert ks.active_expire_cycle() == 0
    assert len(db) == 100


def test_cycle_visits_every_database(frozen):
    now = keyspace_module.now_ms()
    ks = Keyspace(16)
    ks.hz = 1
    for index in (0, 5, 15):
        db = ks.dbs[index]
        for i in range(200):
            db.set(b"k%d" % i, b"v")
            db.set_expire(b"k%d" % i, now - 1)
    ks.active_expire_cycle(budget_ms=1000)
    assert all(len(db) == 0 for db in ks.dbs)


def test_cycle_skips_stale_entries_and_compacts_them(frozen):
    now = keyspace_module.now_ms()
    ks, db = _volatile_db(0, 5000, now)
    for i in range(4900):
        db.persist(b"live:%d" % i)  # leaves stale entries in the expiry order
    db.set(b"dead", b"v")
    db.set_expire(b"dead", now - 1)
    ks.active_expire_cycle(budget_ms=1000)
    assert len(db.expire_order) <= 2 * len(db.expires) + 1024
    for _ in range(20):
        ks.active_expire_cycle(budget_ms=1000)
    assert b"dead" not in db.data
