"""Sorted-set commands through a real socket with redis-py, and ZSetValue and the parsers directly.

Expected answers are worked out from the commands' definitions; the
differential tests compare with redis-server byte for byte. These tests pin
down meaning (ranges, ties, aggregation), ZSCAN's guarantee, the random
replies, and the value class the persistence layer builds.
"""

from __future__ import annotations

import math
import random

import pytest
import redis

from server.commands.zsets import parse_score, parse_score_range, strtod
from server.datatypes.zset import LexRange, ScoreRange, ZSetValue
from server.protocol import Error


def error_of(r: redis.Redis, *args) -> str:
    with pytest.raises(redis.ResponseError) as info:
        r.execute_command(*args)
    return str(info.value)


def test_add_score_rank_remove(r):
    assert r.zadd("z", {"a": 3, "b": 1, "c": 2}) == 3
    assert r.zrange("z", 0, -1, withscores=True) == [(b"b", 1.0), (b"c", 2.0), (b"a", 3.0)]
    assert r.zscore("z", "a") == 3.0 and r.zscore("z", "nope") is None
    assert r.zmscore("z", ["a", "nope"]) == [3.0, None]
    assert r.zrank("z", "a") == 2 and r.zrevrank("z", "a") == 0
    assert r.zcard("z") == 3 and r.type("z") == b"zset"
    assert r.zincrby("z", 2.5, "b") == 3.5
    assert r.zrange("z", 0, -1) == [b"c", b"a", b"b"]
    assert r.zrem("z", "a", "nope") == 1
    assert r.zrem("z", "b", "c") == 2
    assert r.exists("z") == 0


def test_ties_order_by_member_bytes(r):
    r.zadd("z", {"b": 1, "a": 1, "B": 1, "\xff".encode("latin1"): 1, "": 1})
    assert r.zrange("z", 0, -1) == [b"", b"B", b"a", b"b", b"\xff"]


def test_zadd_options(r):
    r.zadd("z", {"a": 5})
    assert r.zadd("z", {"a": 1}, gt=True) == 0 and r.zscore("z", "a") == 5
    assert r.zadd("z", {"a": 10}, gt=True, ch=True) == 1
    assert r.zadd("z", {"a": 20, "new": 1}, lt=True, ch=True) == 1  # only "new" is added
    assert r.zadd("z", {"a": 1}, nx=True) == 0 and r.zscore("z", "a") == 10
    assert r.zadd("z", {"zz": 1}, xx=True) == 0 and r.zscore("z", "zz") is None
    assert r.zadd("z", {"a": 1}, incr=True) == 11
    assert r.zadd("z", {"a": 1}, incr=True, nx=True) is None
    assert error_of(r, "ZADD", "z", "INCR", "1", "a", "2", "b") == \
        "INCR option supports a single increment-element pair"
    r.zadd("inf", {"x": math.inf})
    assert error_of(r, "ZINCRBY", "inf", "-inf", "x") == "resulting score is not a number (NaN)"


def test_ranges(r):
    r.zadd("z", {m: i for i, m in enumerate("abcdefghij")})
    assert r.zrangebyscore("z", "(2", 5) == [b"d", b"e", b"f"]
    assert r.zrevrangebyscore("z", "+inf", "(7") == [b"j", b"i"]
    assert r.zrangebyscore("z", "-inf", "+inf", start=2, num=3) == [b"c", b"d", b"e"]
    assert r.zrange("z", 8, 3, byscore=True, desc=True, offset=1, num=2) == [b"h", b"g"]
    assert r.zcount("z", 3, "(6") == 3
    assert r.zrange("z", -3, -1) == [b"h", b"i", b"j"]
    assert r.zrevrange("z", 0, 1) == [b"j", b"i"]
    assert r.zrange("z", 5, 100) == [b"f", b"g", b"h", b"i", b"j"]
    assert r.zrange("z", 4, 2) == []
    assert error_of(r, "ZRANGEBYSCORE", "z", "a", "1") == "min or max is not a float"


def test_lex_ranges(r):
    r.zadd("z", {m: 0 for m in ["apple", "banana", "cherry", "date", "fig"]})
    assert r.zrangebylex("z", "[banana", "(date") == [b"banana", b"cherry"]
    assert r.zrevrangebylex("z", "+", "(cherry") == [b"fig", b"date"]
    assert r.zlexcount("z", "-", "+") == 5
    assert r.zrangebylex("z", "-", "+", start=1, num=2) == [b"banana", b"cherry"]
    assert r.zremrangebylex("z", "[a", "(c") == 2
    assert r.zrange("z", 0, -1) == [b"cherry", b"date", b"fig"]
    assert error_of(r, "ZRANGEBYLEX", "z", "a", "+") == "min or max not valid string range item"


def test_remove_ranges_and_pops(r):
    r.zadd("z", {m: i for i, m in enumerate("abcdefgh")})
    assert r.zremrangebyrank("z", 0, 1) == 2
    assert r.zremrangebyscore("z", "(5", "+inf") == 2
    assert r.zrange("z", 0, -1) == [b"c", b"d", b"e", b"f"]
    assert r.zpopmin("z") == [(b"c", 2.0)]
    assert r.zpopmax("z", 2) == [(b"f", 5.0), (b"e", 4.0)]
    assert r.zmpop(1, ["z"], min=True) == [b"z", [[b"d", b"3"]]]
    assert r.exists("z") == 0
    assert r.zmpop(1, ["z"], min=True) is None
    assert r.zpopmin("z") == []


def test_algebra_weights_aggregate_and_sets(r):
    r.zadd("a", {"x": 1, "y": 2})
    r.zadd("b", {"y": 10, "z": 20})
    r.sadd("s", "y", "z", "w")
    assert r.zunion(["a", "b"], withscores=True) == [(b"x", 1.0), (b"y", 12.0), (b"z", 20.0)]
    assert r.zinter({"a": 2, "b": 3}, withscores=True) == [(b"y", 34.0)]
    assert r.zinter(["a", "b"], aggregate="MIN", withscores=True) == [(b"y", 2.0)]
    assert r.zunion(["a", "s"], aggregate="MAX", withscores=True) == [
        (b"w", 1.0), (b"x", 1.0), (b"z", 1.0), (b"y", 2.0)]
    assert r.zdiff(["b", "a"], withscores=True) == [b"z", b"20"]  # redis-py leaves ZDIFF flat
    assert r.zunionstore("dst", ["a", "b", "s"]) == 4
    assert r.zrange("dst", 0, -1, withscores=True) == [
        (b"w", 1.0), (b"x", 1.0), (b"y", 13.0), (b"z", 21.0)]
    assert r.zinterstore("dst", ["a", "nokey"]) == 0 and r.exists("dst") == 0
    assert r.zintercard(2, ["a", "b"]) == 1
    assert r.zdiffstore("dst", ["a", "b"]) == 1


def test_zrandmember(r):
    r.zadd("z", {f"m{i}": i for i in range(10)})
    assert r.zrandmember("z") in {f"m{i}".encode() for i in range(10)}
    distinct = r.zrandmember("z", 5)
    assert len(set(distinct)) == 5
    assert r.zrandmember("z", 20) == [f"m{i}".encode() for i in reversed(range(10))]
    repeated = r.zrandmember("z", -50, withscores=True)
    assert len(repeated) == 100
    for member, score in zip(repeated[::2], repeated[1::2], strict=True):
        assert float(score) == float(member[1:])


def test_encodings_and_copy(r):
    r.zadd("z", {f"m{i}": i for i in range(128)})
    assert r.object("encoding", "z") == b"listpack"
    r.zadd("z", {"m128": 128})
    assert r.object("encoding", "z") == b"skiplist"
    r.zremrangebyrank("z", 0, -3)
    assert r.object("encoding", "z") == b"skiplist"
    r.zadd("long", {"x" * 65: 1})
    assert r.object("encoding", "long") == b"skiplist"
    assert r.execute_command("COPY", "z", "z2") == 1
    r.zadd("z2", {"extra": 0})
    assert r.zcard("z") == 2 and r.zcard("z2") == 3
    assert r.object("encoding", "z2") == b"skiplist"
    assert r.memory_usage("z") > 0
    assert set(r.scan_iter(_type="zset")) == {b"z", b"z2", b"long"}


def test_resp3_replies(r3):
    r3.zadd("z", {"a": 1.5, "b": 2})
    assert r3.zscore("z", "a") == 1.5
    assert r3.execute_command("ZRANGE", "z", 0, -1, "WITHSCORES") == [[b"a", 1.5], [b"b", 2.0]]
    assert r3.execute_command("ZPOPMIN", "z") == [b"a", 1.5]
    assert r3.execute_command("ZPOPMIN", "z", 1) == [[b"b", 2.0]]


def test_zscan_small_and_large(r):
    r.zadd("small", {"a": 1, "b": 2})
    assert r.zscan("small", 0) == (0, [(b"a", 1.0), (b"b", 2.0)])
    r.zadd("big", {f"m{i}": i for i in range(1000)})
    seen: dict[bytes, float] = {}
    cursor = 0
    while True:
        cursor, items = r.zscan("big", cursor, count=37, match="m1*")
        seen.update(items)
        if cursor == 0:
            break
    assert seen == {f"m{i}".encode(): float(i) for i in range(1000) if str(i).startswith("1")}


def test_zscan_guarantee_under_removals(r):
    rng = random.Random(11)
    for _ in range(10):
        r.delete("z")
        r.zadd("z", {f"keep{i}": rng.random() for i in range(200)})
        r.zadd("z", {f"drop{i}": rng.random() for i in range(300)})
        cursor, found, calls = 0, set(), 0
        while True:
            cursor, items = r.zscan("z", cursor, count=25)
            found.update(member for member, _ in items)
            calls += 1
            if calls == 3:
                r.zrem("z", *[f"drop{i}" for i in range(300)])
            if cursor == 0:
                break
        assert {f"keep{i}".encode() for i in range(200)} <= found


def test_keyspace_events(r):
    r.config_set("notify-keyspace-events", "Kz")
    pubsub = r.pubsub()
    pubsub.psubscribe("__keyspace@0__:z")
    pubsub.get_message(timeout=1)
    r.zadd("z", {"a": 1})
    r.zincrby("z", 1, "a")
    r.zpopmin("z")
    events = []
    for _ in range(3):
        msg = pubsub.get_message(timeout=1)
        events.append(msg["data"])
    assert events == [b"zadd", b"zincr", b"zpopmin"]
    pubsub.close()


# --------------------------------------------------------------------------- parsing


def test_strtod_and_score_parsing():
    assert strtod(b"1.5") == (1.5, False)
    assert strtod(b"0x1p4") == (16.0, False)
    assert strtod(b"1e400") == (math.inf, True)
    assert strtod(b"1e-400") == (0.0, True)
    assert strtod(b"-Infinity") == (-math.inf, False)
    assert strtod(b"1_0") is None and strtod(b"1e") is None and strtod(b"") is None
    assert parse_score(b"-0.25") == -0.25
    for bad in (b" 1", b"1 ", b"nan", b"1e400", b"", b"0x", b"abc"):
        with pytest.raises(Error):
            parse_score(bad)
    spec = parse_score_range(b"(1", b"+inf")
    assert (spec.min, spec.minex, spec.max, spec.maxex) == (1.0, True, math.inf, False)
    assert parse_score_range(b"", b" 2").min == 0.0


# --------------------------------------------------------------------------- ZSetValue


def test_zsetvalue_items_copy_and_encoding():
    value = ZSetValue([(b"b", 2.0), (b"a", 1.0), (b"c", 1.0)])
    assert list(value.items()) == [(b"a", 1.0), (b"c", 1.0), (b"b", 2.0)]
    assert list(value) == [b"a", b"c", b"b"]
    assert len(value) == 3 and b"a" in value
    assert value.encoding() == b"listpack"
    assert ZSetValue([(b"x" * 65, 1.0)]).encoding() == b"skiplist"
    assert ZSetValue([(b"a", 1.0), (b"b", 2.0)], max_entries=1).encoding() == b"skiplist"
    dup = value.copy()
    dup.set_score(b"a", 5.0)
    assert value.score(b"a") == 1.0 and dup.rank(b"a") == 2
    assert sorted(value.memory_items()) == [b"a", b"b", b"c"]


def test_zsetvalue_matches_a_sorted_model():
    rng = random.Random(5)
    value = ZSetValue()
    model: dict[bytes, float] = {}
    for _ in range(2000):
        member = b"m%d" % rng.randrange(100)
        if rng.random() < 0.6:
            score = float(rng.randrange(-20, 20))
            value.set_score(member, score)
            model[member] = score
        else:
            assert value.remove(member) == (model.pop(member, None) is not None)
    ordered = sorted((s, m) for m, s in model.items())
    assert list(value.slice(0, len(value))) == ordered
    for member in model:
        assert value.rank(member) == ordered.index((model[member], member))
    lo, hi = -5.0, 7.0
    start, stop = value.score_positions(ScoreRange(lo, hi, True, False))
    assert [m for s, m in ordered if lo < s <= hi] == [m for _, m in value.slice(start, stop)]
    same = ZSetValue([(b"%03d" % i, 0.0) for i in range(50)])
    start, stop = same.lex_positions(LexRange(0, b"010", True, 0, b"020", False))
    assert [m for _, m in same.slice(start, stop)] == [b"%03d" % i for i in range(11, 21)]


def test_zscan_guarantee_under_additions_and_score_changes_of_others(r):
    """Members that stay put are all returned, whatever happens around them between calls."""
    rng = random.Random(13)
    r.zadd("z", {f"keep{i}": rng.uniform(0, 100) for i in range(400)})
    cursor, found, step = 0, set(), 0
    while True:
        cursor, items = r.zscan("z", cursor, count=30)
        found.update(member for member, _ in items)
        step += 1
        r.zadd("z", {f"low{step}-{i}": -rng.uniform(0, 100) for i in range(20)})  # shifts every rank up
        r.zadd("z", {f"high{step}-{i}": 200 + i for i in range(5)})
        r.zrem("z", *[f"low{step - 1}-{i}" for i in range(20)])
        if cursor == 0:
            break
        assert step < 200
    assert {f"keep{i}".encode() for i in range(400)} <= found


def test_concurrent_zscans_keep_their_own_cursors(r):
    r.zadd("z", {f"m{i:04d}": i for i in range(300)})
    cursors = [0, 0]
    found: list[set] = [set(), set()]
    done = [False, False]
    turn = 0
    while not all(done):
        who = turn % 2
        turn += 1
        if done[who]:
            continue
        cursors[who], items = r.zscan("z", cursors[who], count=20 + who)
        found[who].update(member for member, _ in items)
        done[who] = cursors[who] == 0
        if turn == 7:
            r.zrem("z", *[f"m{i:04d}" for i in range(0, 300, 2)])  # every other member goes
    kept = {f"m{i:04d}".encode() for i in range(1, 300, 2)}
    assert kept <= found[0] and kept <= found[1]
