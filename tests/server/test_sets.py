"""Set commands through a real socket with redis-py, and the SetValue class directly.

Expected answers come from the commands' definitions; the differential tests
compare the same ground with redis-server byte for byte. Here the focus is on
what a comparison cannot pin down: random replies, SSCAN's guarantee under
changes, and the value class the persistence layer builds.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest
import redis

from server.datatypes.set import SetValue


def error_of(r: redis.Redis, *args) -> str:
    with pytest.raises(redis.ResponseError) as info:
        r.execute_command(*args)
    return str(info.value)


def full_sscan(r: redis.Redis, key: str, **kwargs) -> list[bytes]:
    cursor, seen = 0, []
    while True:
        cursor, items = r.sscan(key, cursor, **kwargs)
        seen.extend(items)
        if cursor == 0:
            return seen


def test_basic_commands(r):
    assert r.sadd("s", "a", "b", "c", "a") == 3
    assert r.sadd("s", "c", "d") == 1
    assert r.smembers("s") == {b"a", b"b", b"c", b"d"}
    assert r.scard("s") == 4
    assert r.sismember("s", "a") and not r.sismember("s", "z")
    assert r.smismember("s", ["a", "z", "d"]) == [1, 0, 1]
    assert r.srem("s", "a", "z") == 1
    assert r.type("s") == b"set"
    assert r.srem("s", "b", "c", "d") == 3
    assert r.exists("s") == 0


def test_wrong_type_and_empty_keys(r):
    r.set("str", "x")
    assert "WRONGTYPE" in error_of(r, "SADD", "str", "a")
    assert "WRONGTYPE" in error_of(r, "SUNION", "nokey", "str")
    assert r.smembers("nokey") == set()
    assert r.spop("nokey") is None
    assert r.srandmember("nokey") is None
    assert r.srandmember("nokey", 3) == []


def test_encoding_follows_config(r):
    r.sadd("ints", *range(10))
    assert r.object("encoding", "ints") == b"intset"
    assert r.smembers("ints") == {str(i).encode() for i in range(10)}
    # An intset replies in ascending numeric order.
    r.sadd("order", 10, -3, 2, 100)
    assert r.sscan("order", 0) == (0, [b"-3", b"2", b"10", b"100"])
    r.sadd("ints", "x")
    assert r.object("encoding", "ints") == b"hashtable"
    r.srem("ints", "x")
    assert r.object("encoding", "ints") == b"hashtable"  # never converts back
    try:
        r.config_set("set-max-intset-entries", 4)
        r.sadd("four", 1, 2, 3, 4)
        assert r.object("encoding", "four") == b"intset"
        r.sadd("four", 5)
        assert r.object("encoding", "four") == b"hashtable"
    finally:
        r.config_set("set-max-intset-entries", 512)


def test_spop_removes_what_it_returns(r):
    members = {str(i).encode() for i in range(50)}
    r.sadd("s", *members)
    popped = {r.spop("s") for _ in range(10)}
    popped |= set(r.spop("s", 15))
    assert len(popped) == 25
    assert popped | r.smembers("s") == members
    assert not popped & r.smembers("s")
    assert set(r.spop("s", 100)) == members - popped
    assert r.exists("s") == 0


def test_srandmember_counts(r):
    r.sadd("s", *"abcde")
    assert len(r.srandmember("s", 3)) == 3
    assert len(set(r.srandmember("s", 3))) == 3
    assert sorted(r.srandmember("s", 10)) == [b"a", b"b", b"c", b"d", b"e"]
    repeated = r.srandmember("s", -30)
    assert len(repeated) == 30 and set(repeated) <= {b"a", b"b", b"c", b"d", b"e"}
    assert r.scard("s") == 5


def test_random_picks_are_spread(r):
    """Every member is picked about as often as the others (a loose chi-square bound)."""
    r.sadd("s", *[f"m{i}" for i in range(10)])
    counts = Counter(r.srandmember("s", -5000))
    assert len(counts) == 10
    chi2 = sum((c - 500) ** 2 / 500 for c in counts.values())
    assert chi2 < 40  # 9 degrees of freedom: p < 1e-5 that a fair pick exceeds this


def test_smove(r):
    r.sadd("a", "x", "y")
    assert r.smove("a", "b", "x") == 1
    assert r.smove("a", "b", "nope") == 0
    assert r.smembers("b") == {b"x"}
    assert r.smove("a", "b", "y") == 1
    assert r.exists("a") == 0
    r.set("str", "v")
    assert r.smove("nokey", "str", "x") == 0
    assert "WRONGTYPE" in error_of(r, "SMOVE", "b", "str", "x")


def test_algebra(r):
    r.sadd("a", 1, 2, 3, "x")
    r.sadd("b", 2, 3, 4, "x")
    r.sadd("c", 3, "x", "y")
    assert r.sinter("a", "b", "c") == {b"3", b"x"}
    assert r.sunion("a", "c") == {b"1", b"2", b"3", b"x", b"y"}
    assert r.sdiff("a", "b") == {b"1"}
    assert r.sdiff("a", "nokey") == {b"1", b"2", b"3", b"x"}
    assert r.sinter("a", "nokey") == set()
    assert r.execute_command("SINTERCARD", 3, "a", "b", "c") == 2
    assert r.execute_command("SINTERCARD", 2, "a", "b", "LIMIT", 1) == 1
    assert r.sinterstore("d", "a", "b") == 3
    assert r.smembers("d") == {b"2", b"3", b"x"}
    assert r.sunionstore("d", "c") == 3
    assert r.sdiffstore("d", "a", "a") == 0
    assert r.exists("d") == 0
    r.expire("a", 100)
    assert r.sinterstore("a", "a", "b") == 3
    assert r.ttl("a") == -1  # a stored result replaces the key, TTL included


def test_resp3_set_replies(r3):
    r3.sadd("s", 1, 2)
    assert r3.smembers("s") == {b"1", b"2"}
    assert r3.execute_command("SPOP", "s", 1).__class__ in (set, list)


def test_sscan_small_and_match(r):
    r.sadd("ints", 5, 1, 3)
    assert r.sscan("ints", 0) == (0, [b"1", b"3", b"5"])
    r.sadd("h", *[f"key:{i}" for i in range(100)], *[f"other:{i}" for i in range(20)])
    found = full_sscan(r, "h", match="key:*", count=7)
    assert sorted(set(found)) == sorted(f"key:{i}".encode() for i in range(100))
    assert error_of(r, "SSCAN", "h", "abc") == "invalid cursor"


def test_sscan_returns_members_present_throughout_under_removals(r):
    """Redis's guarantee (and its issue #4906 regression test): removals mid-scan skip nothing."""
    rng = random.Random(7)
    for _ in range(20):
        r.delete("s")
        r.sadd("s", "x")  # not an intset
        total = 101 + rng.randrange(600)
        r.sadd("s", *range(total))
        removable = list(range(100, total))
        cursor, found, calls = 0, set(), 0
        remove_at = rng.randrange(1, 8)
        while True:
            cursor, items = r.sscan("s", cursor)
            found.update(items)
            calls += 1
            if calls == remove_at:
                r.srem("s", *removable)
            if cursor == 0:
                break
        assert {str(i).encode() for i in range(100)} <= found


def test_sscan_guarantee_with_additions_and_removals(r):
    r.sadd("s", *[f"keep{i}" for i in range(300)])
    cursor, found = 0, set()
    step = 0
    while True:
        cursor, items = r.sscan("s", cursor, count=20)
        found.update(items)
        step += 1
        r.sadd("s", *[f"new{step}-{i}" for i in range(15)])
        r.srem("s", *[f"new{step - 1}-{i}" for i in range(15)])
        if cursor == 0:
            break
    assert {f"keep{i}".encode() for i in range(300)} <= found


def test_copy_memory_usage_and_scan_type(r):
    r.sadd("s", *range(20))
    assert r.execute_command("COPY", "s", "s2") == 1
    r.sadd("s2", "extra")
    assert r.scard("s") == 20 and r.scard("s2") == 21
    assert r.object("encoding", "s2") == b"hashtable"
    assert r.object("encoding", "s") == b"intset"
    assert r.memory_usage("s") > 0
    keys = set()
    for key in r.scan_iter(_type="set"):
        keys.add(key)
    assert keys == {b"s", b"s2"}


# --------------------------------------------------------------------------- SetValue


def test_setvalue_construction_iteration_and_copy():
    value = SetValue([b"1", b"2", b"2", b"3"])
    assert len(value) == 3 and b"2" in value and b"9" not in value
    assert sorted(value) == [b"1", b"2", b"3"]
    assert value.encoding() == b"intset"
    assert SetValue([b"a"]).encoding() == b"hashtable"
    assert SetValue([b"1", b"2"], max_intset=1).encoding() == b"hashtable"
    dup = value.copy()
    dup.add(b"4")
    assert len(value) == 3 and len(dup) == 4
    assert value == {b"1", b"2", b"3"}
    assert sorted(value.memory_items()) == [b"1", b"2", b"3"]


def test_setvalue_removal_keeps_positions_consistent():
    rng = random.Random(3)
    value = SetValue()
    model: set[bytes] = set()
    for _ in range(3000):
        member = str(rng.randrange(200)).encode()
        if rng.random() < 0.5:
            assert value.add(member) == (member not in model)
            model.add(member)
        else:
            assert value.remove(member) == (member in model)
            model.discard(member)
        if model and rng.random() < 0.1:
            assert value.random_member() in model
    assert set(value) == model
    assert all(value.members[i] == m for m, i in value.pos.items())
