"""SCAN's guarantee and cost, and the keyspace bookkeeping behind the generic key commands.

The SCAN contract: every key present for the whole of a scan is returned at
least once, however keys are added and removed between calls, and one call
does O(COUNT) work. These tests check both on ``Database`` directly (where the
work per call can be measured) and through a socket with redis-py.
"""

from __future__ import annotations

import random
import statistics
import sys
import time

import pytest
import redis

from server.keyspace import BLOCK_SHIFT, POSITION_MASK, Database, Keyspace, block_prefix


def full_scan(db: Database, count: int, between=None) -> tuple[set[bytes], int]:
    """All keys a complete scan returns, calling ``between()`` after every step; (keys, calls)."""
    seen: set[bytes] = set()
    cursor, calls = 0, 0
    while True:
        cursor, keys = db.scan(cursor, count)
        seen.update(keys)
        calls += 1
        if cursor == 0:
            return seen, calls
        if between is not None:
            between()


# --------------------------------------------------------------------------- the guarantee


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_scan_returns_every_key_present_throughout_under_churn(seed):
    rng = random.Random(seed)
    ks = Keyspace(1)
    db = ks.dbs[0]
    for i in range(20_000):
        db.set(b"k%d" % i, b"v")
    stable = {b"k%d" % i for i in range(0, 20_000, 7)}  # never deleted during the scan
    generations_before = db.generation
    counter = [20_000]

    def churn() -> None:
        # Delete keys (never the stable ones), re-create some, add new ones: faster than the scan goes.
        for _ in range(40):
            key = b"k%d" % rng.randrange(counter[0])
            if key not in stable:
                db.delete(key)
        for _ in range(5):
            db.set(b"k%d" % rng.randrange(counter[0]), b"again")
        for _ in range(5):
            db.set(b"k%d" % counter[0], b"new")
            counter[0] += 1
        ks.tidy()  # what the server's cron does: compact once stale entries outnumber live ones

    seen, calls = full_scan(db, 25, churn)
    assert stable <= seen
    assert db.generation != generations_before, "the churn should have compacted the order at least once"
    assert calls < 3000


def test_scan_survives_compaction_mid_scan_with_bounded_repeats():
    ks = Keyspace(1)
    db = ks.dbs[0]
    for i in range(10_000):
        db.set(b"%05d" % i, b"v")
    cursor, first = db.scan(0, 3000)
    returned = list(first)
    # Delete most keys already returned, and many not returned yet: stale entries outnumber
    # live ones, so the cron's tidy() compacts the order under the cursor.
    for key in first[:2900]:
        db.delete(key)
    for i in range(4000, 10_000):
        if i % 10:
            db.delete(b"%05d" % i)
    ks.tidy()
    assert cursor >> 32 != db.generation
    while cursor:
        cursor, keys = db.scan(cursor, 500)
        returned += keys
    required = {b"%05d" % i for i in range(3000, 4000)} | {b"%05d" % i for i in range(4000, 10_000, 10)}
    assert required <= set(returned)
    repeats = len(returned) - len(set(returned))
    assert repeats <= 1 << BLOCK_SHIFT  # a cursor maps back at most one block


def test_old_cursor_of_an_unknown_generation_restarts():
    ks = Keyspace(1)
    db = ks.dbs[0]
    for i in range(100):
        db.set(b"k%d" % i, b"v")
    assert db.scan_position((12345 << 32) | 50) == 0
    assert db.scan_position(7) == 0  # generation 0 never exists


def test_block_prefix_matches_brute_force():
    rng = random.Random(7)
    for trial in range(30):
        keys = [b"k%d" % i for i in range(rng.randrange(1, 5000))]
        data = dict.fromkeys(keys)
        order = list(keys)
        recreate = trial % 2  # with and without keys deleted and created again
        for _ in range(rng.randrange(0, 6000)):  # deletions and re-creations, appended like Database does
            key = rng.choice(keys)
            if key in data:
                del data[key]
            elif recreate:
                data[key] = None
                order.append(key)
        new = list(data)
        last = {}
        for position, key in enumerate(order):
            if key in data:
                last[key] = position
        prefix = block_prefix(order, new)
        for block, count in enumerate(prefix):
            start = block << BLOCK_SHIFT
            assert count == sum(1 for position in last.values() if position < start)


def test_flushdb_swapdb_and_move_keep_scan_consistent(r):
    r.mset({f"a{i}": 1 for i in range(50)})
    r1 = redis.Redis(port=r.connection_pool.connection_kwargs["port"], db=1)
    r1.mset({f"b{i}": 1 for i in range(30)})

    def scan_all(client) -> set[bytes]:
        return set(client.scan_iter(count=7))

    assert scan_all(r) == {b"a%d" % i for i in range(50)}
    cursor, _ = r.scan(0, count=10)
    r.swapdb(0, 1)
    assert scan_all(r) == {b"b%d" % i for i in range(30)}
    assert scan_all(r1) == {b"a%d" % i for i in range(50)}
    # A cursor from before the swap is from another generation: it restarts, skipping nothing.
    rest: set[bytes] = set()
    while True:
        cursor, keys = r.scan(cursor, count=10)
        rest.update(keys)
        if cursor == 0:
            break
    assert rest == {b"b%d" % i for i in range(30)}
    assert r.move("b0", 1)
    assert b"b0" not in scan_all(r)
    assert b"b0" in scan_all(r1)
    r1.flushdb()
    assert scan_all(r1) == set()
    r1.set("fresh", 1)
    assert scan_all(r1) == {b"fresh"}
    r1.close()


def test_scan_through_a_socket_while_keys_come_and_go(r):
    r.mset({f"keep:{i}": 1 for i in range(2000)})
    r.mset({f"temp:{i}": 1 for i in range(3000)})
    seen: set[bytes] = set()
    cursor, step = 0, 0
    while True:
        cursor, keys = r.scan(cursor, count=100)
        seen.update(keys)
        if cursor == 0:
            break
        # Between calls: delete temporary keys (old and new), add others.
        r.delete(*[f"temp:{step * 120 + j}" for j in range(120)])
        r.mset({f"new:{step}:{j}": 1 for j in range(20)})
        step += 1
    assert {b"keep:%d" % i for i in range(2000)} <= seen


def test_scan_with_match_and_type_through_redis_py(r):
    r.mset({f"user:{i}": i for i in range(200)})
    r.mset({f"item:{i}": i for i in range(100)})
    assert set(r.scan_iter(match="user:1*", count=50)) == {b"user:%d" % i for i in range(200)
                                                           if str(i).startswith("1")}
    assert len(set(r.scan_iter(_type="string", count=30))) == 300
    assert set(r.scan_iter(_type="hash", count=30)) == set()


# --------------------------------------------------------------------------- cost


def _median_call_seconds(db: Database, count: int, calls: int) -> float:
    times = []
    cursor = 0
    for _ in range(calls):
        start = time.perf_counter()
        cursor, _ = db.scan(cursor, count)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def test_scan_call_cost_is_flat_in_database_size():
    small_ks, large_ks = Keyspace(1), Keyspace(1)
    small, large = small_ks.dbs[0], large_ks.dbs[0]
    for i in range(10_000):
        small.set(b"key:%d" % i, b"v")
    for i in range(200_000):
        large.set(b"key:%d" % i, b"v")
    # A COUNT 100 call visits O(100) entries: the cursor advances by at most 10 * COUNT.
    cursor, keys = large.scan(0, 100)
    assert len(keys) == 100 and (cursor & POSITION_MASK) == 100
    for i in range(0, 200_000, 2):
        large.delete(b"key:%d" % i)  # half stale (below the compaction threshold)
    cursor, keys = large.scan(cursor, 100)
    assert 0 < (cursor & POSITION_MASK) - 100 <= 1000
    small_time = _median_call_seconds(small, 100, 60)
    large_time = _median_call_seconds(large, 100, 60)
    assert large_time < 4 * small_time + 50e-6, (small_time, large_time)


def test_order_list_costs_a_pointer_per_key():
    ks = Keyspace(1)
    db = ks.dbs[0]
    for i in range(100_000):
        db.set(b"k%d" % i, b"v")
    assert sys.getsizeof(db.order) / len(db) < 10


def test_randomkey_skips_and_removes_expired_keys(r):
    r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    try:
        with r.pipeline(transaction=False) as pipe:
            for i in range(500):
                pipe.set(f"gone:{i}", 1, px=1)
            pipe.execute()
        r.set("alive", 1)
        time.sleep(0.02)
        assert r.randomkey() == b"alive"
        assert r.dbsize() < 501
    finally:
        r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "1")


def test_randomkey_is_spread_over_keys(r):
    r.mset({f"k{i}": 1 for i in range(20)})
    seen = {r.randomkey() for _ in range(300)}
    assert len(seen) >= 15


# --------------------------------------------------------------------------- access clock


def test_object_idletime_counts_seconds_since_last_access(r):
    r.set("k", "v")
    assert r.object("idletime", "k") == 0
    time.sleep(2.1)
    assert r.object("idletime", "k") in (2, 3)
    assert r.exists("k") and r.type("k") == b"string"  # NOTOUCH lookups do not reset it
    assert r.object("idletime", "k") >= 2
    r.touch("k")
    assert r.object("idletime", "k") == 0


def test_object_freq_counts_accesses_logarithmically(r):
    r.config_set("maxmemory-policy", "allkeys-lfu")
    r.config_set("lfu-decay-time", 0)  # no decay: a minute boundary would lower the counter by one
    try:
        r.set("k", "v")
        assert r.object("freq", "k") == 5
        for _ in range(200):
            r.touch("k")
        freq = r.object("freq", "k")
        assert 6 < freq < 20  # logarithmic: 200 accesses move a factor-10 counter only a little
        r.rename("k", "k2")
        # The value keeps its counter (RENAME's own access may add one, by LFU's chance rule).
        assert freq <= r.object("freq", "k2") <= freq + 1
        r.config_set("lfu-log-factor", 0)
        for _ in range(50):
            r.touch("k2")
        assert r.object("freq", "k2") >= freq + 50
    finally:
        r.config_set("lfu-log-factor", 10)
        r.config_set("lfu-decay-time", 1)
        r.config_set("maxmemory-policy", "noeviction")


def test_copy_is_independent_for_every_value_type():
    from server.commands.keys import copy_value
    from server.datatypes.hash import HashValue
    from server.datatypes.list import ListValue
    from server.datatypes.set import SetValue
    from server.datatypes.zset import ZSetValue

    keyspace = Keyspace(1)
    for cls in (HashValue, ListValue, SetValue, ZSetValue):
        value = cls()
        duplicate = copy_value(keyspace, value)
        assert duplicate is not value and duplicate.__class__ is cls
    raw = bytearray(b"abc")
    duplicate = copy_value(keyspace, raw)
    duplicate += b"d"
    assert raw == b"abc"
    text = b"abc"
    assert copy_value(keyspace, text) is text
    small = b"12"  # a shared integer in Redis: its copy is an object of its own
    assert copy_value(keyspace, small) == small and keyspace.string_marking(copy_value(keyspace, small)) == b"int"


def test_keys_that_bypassed_set_are_found_again():
    """A loader that fills ``data`` directly: the order is rebuilt, old cursors restart, none is missed."""
    ks = Keyspace(1)
    db = ks.dbs[0]
    for i in range(3000):
        db.set(b"k%d" % i, b"v")
    cursor, _ = db.scan(0, 100)
    for i in range(3000):
        db.delete(b"k%d" % i)
    db.data.update({b"loaded%d" % i: b"v" for i in range(500)})  # bypasses set(): no order entries
    assert block_prefix(db.order, list(db.data)) is None
    ks.tidy()
    seen: set[bytes] = set()
    while True:
        cursor, keys = db.scan(cursor, 100)
        seen.update(keys)
        if cursor == 0:
            break
    assert seen == {b"loaded%d" % i for i in range(500)}


def test_cursor_map_is_built_only_when_a_scan_is_under_way():
    ks = Keyspace(1)
    db = ks.dbs[0]
    for i in range(10_000):
        db.set(b"k%d" % i, b"v")
    for i in range(8000):
        db.delete(b"k%d" % i)
    ks.tidy()  # compaction with no cursor handed out: no map to build
    assert db.old_generations == {} and len(db.order) == 2000
    cursor, _ = db.scan(0, 10)
    for i in range(8000, 9990):
        db.delete(b"k%d" % i)
    ks.tidy()
    assert len(db.order) == 10
    assert (cursor >> 32) in db.old_generations
    assert db.scan_position(cursor) == 0  # its block starts before any surviving key


def test_marked_strings_are_remembered_only_while_a_key_holds_them():
    """Strings whose encoding their bytes do not tell (COPY's small integers, INCRBYFLOAT's
    integral results) are known by identity; the record forgets the ones no key holds any
    more once it grows, and keeps the rest."""
    from server.keyspace import MARKED_RECORD_MIN

    keyspace = Keyspace(databases=1)
    kept = [keyspace.marked_string(b"%d" % n, b"int") for n in range(10)]
    for n in range(3 * MARKED_RECORD_MIN):
        keyspace.marked_string(b"%d" % (n % 10000), b"embstr")  # dropped at once (its key overwritten)
    assert len(keyspace.marked_strings) <= MARKED_RECORD_MIN
    assert all(keyspace.string_marking(copy) == b"int" for copy in kept)
    assert keyspace.string_marking(b"%d" % 3) is None  # the same bytes, another object: unmarked
    assert kept[3] == b"3"
