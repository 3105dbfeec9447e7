"""Keyspace notifications against redis-server: the same commands, the same event streams.

A subscriber on each server listens with ``PSUBSCRIBE __key*__:*`` (keyspace and
keyevent channels of every database); a second connection runs a scenario on
both servers (replies compared as usual), then publishes a fence message, and
the two notification streams up to the fence must be identical: same events,
same keys, same channels, same order. Scenarios cover each command family that
exists in ``server/commands``, expiry (lazy and active), and the ``n`` (new key)
and ``m`` (key miss) classes.
"""

from __future__ import annotations

import time

import pytest

from tests.differential.live import Pair, new_fence

FENCE_CHANNEL = "notifications-fence"


@pytest.fixture
def streams(ours, real):
    """``run(commands, flags)``: run commands on both servers and compare their event streams."""
    cmd = Pair(ours.port, real.port)
    sub = Pair(ours.port, real.port)
    cmd.call("FLUSHALL")
    sub.call("PSUBSCRIBE", "__key*__:*")
    sub.call("SUBSCRIBE", FENCE_CHANNEL)

    def run(commands: list[tuple], flags: str = "KEA", sort: bool = False) -> list[object]:
        cmd.check("CONFIG", "SET", "notify-keyspace-events", flags)
        for command in commands:
            if command[0] == "sleep":
                time.sleep(command[1])
            else:
                cmd.check(*command)
        fence = new_fence()
        cmd.check("PUBLISH", FENCE_CHANNEL, fence)
        mine, theirs = sub.read_until(fence)
        if sort:  # events whose order is the servers' own (active expiry walks a hash table)
            mine, theirs = sorted(mine), sorted(theirs)
        assert mine == theirs, f"\n  ours={mine!r}\n  real={theirs!r}"
        return mine

    yield run
    cmd.call("CONFIG", "SET", "notify-keyspace-events", "", compare=False)
    cmd.call("DEBUG", "SET-ACTIVE-EXPIRE", "1", compare=False)
    cmd.close()
    sub.close()


STRINGS = [
    ("SET", "s", "v"),
    ("SET", "s", "v2", "XX"),
    ("SET", "s", "v3", "NX"),
    ("SET", "s", "v4", "GET"),
    ("SET", "s", "v5", "EX", "100"),
    ("SET", "s", "v6", "KEEPTTL"),
    ("SETNX", "s", "x"),
    ("SETNX", "s2", "x"),
    ("SETEX", "s3", "100", "v"),
    ("PSETEX", "s4", "100000", "v"),
    ("GETSET", "s", "g"),
    ("GETDEL", "s"),
    ("GETDEL", "s"),
    ("GETEX", "s2", "EX", "100"),
    ("GETEX", "s2", "PERSIST"),
    ("GETEX", "s2"),
    ("APPEND", "s2", "more"),
    ("SETRANGE", "s2", "1", "zz"),
    ("SETRANGE", "s5", "0", ""),
    ("INCR", "n"),
    ("INCRBY", "n", "5"),
    ("DECR", "n"),
    ("DECRBY", "n", "2"),
    ("INCRBYFLOAT", "n", "1.5"),
    ("INCR", "s2"),
    ("MSET", "m1", "a", "m2", "b"),
    ("MSETNX", "m1", "x", "m3", "y"),
    ("MSETNX", "m4", "x", "m5", "y"),
    ("GET", "m1"),
    ("STRLEN", "m1"),
]

KEYS = [
    ("SET", "a", "1"),
    ("SET", "b", "2"),
    ("EXPIRE", "a", "100"),
    ("PEXPIRE", "a", "100000"),
    ("EXPIREAT", "a", "9999999999"),
    ("EXPIRE", "a", "100", "NX"),
    ("PERSIST", "a"),
    ("PERSIST", "a"),
    ("RENAME", "a", "c"),
    ("RENAME", "c", "c"),
    ("RENAMENX", "c", "b"),
    ("RENAMENX", "c", "d"),
    ("COPY", "d", "e"),
    ("COPY", "d", "e", "REPLACE"),
    ("MOVE", "e", "1"),
    ("TOUCH", "b", "d"),
    ("DEL", "b", "d", "nokey"),
    ("SET", "f", "1"),
    ("UNLINK", "f"),
    ("SET", "g", "1"),
    ("EXPIRE", "g", "-1"),  # a deadline in the past deletes
    ("SET", "h", "1"),
    ("PEXPIREAT", "h", "1"),
    ("SELECT", "1"),
    ("SET", "in-db-1", "x"),
    ("DEL", "in-db-1", "e"),
    ("SELECT", "0"),
]

BITS = [
    ("SETBIT", "bits", "7", "1"),
    ("SETBIT", "bits", "7", "1"),
    ("SETBIT", "bits", "100", "0"),
    ("BITOP", "NOT", "dest", "bits"),
    ("BITOP", "AND", "dest", "nokey"),
    ("BITFIELD", "bf", "SET", "u8", "0", "255"),
    ("BITFIELD", "bf", "GET", "u8", "0"),
    ("BITFIELD", "bf", "INCRBY", "u8", "0", "1"),
]

SETS = [
    ("SADD", "set", "a", "b", "c"),
    ("SADD", "set", "a"),
    ("SREM", "set", "a", "zz"),
    ("SREM", "set", "zz"),
    ("SMOVE", "set", "other", "b"),
    ("SMOVE", "set", "other", "nope"),
    ("SADD", "s1", "x", "y"),
    ("SADD", "s2", "y", "z"),
    ("SINTERSTORE", "dst", "s1", "s2"),
    ("SUNIONSTORE", "dst", "s1", "s2"),
    ("SDIFFSTORE", "dst", "s1", "s1"),
    ("SINTERSTORE", "s1", "nokey"),
    ("SREM", "s2", "y"),
    ("SPOP", "s2"),  # one member left: the pop is not random, and it empties the set
    ("SPOP", "s2"),
    ("SADD", "one", "a"),
    ("SPOP", "one", "5"),
    ("SREM", "set", "c"),
]

ZSETS = [
    ("ZADD", "z", "1", "a", "2", "b", "3", "c"),
    ("ZADD", "z", "1", "a"),
    ("ZADD", "z", "XX", "5", "nope"),
    ("ZINCRBY", "z", "1", "a"),
    ("ZREM", "z", "a", "nope"),
    ("ZPOPMIN", "z"),
    ("ZPOPMAX", "z", "5"),
    ("ZADD", "z2", "1", "a", "2", "b", "3", "c", "4", "d"),
    ("ZREMRANGEBYSCORE", "z2", "1", "1"),
    ("ZREMRANGEBYRANK", "z2", "0", "0"),
    ("ZREMRANGEBYLEX", "z2", "-", "+"),
    ("ZADD", "z3", "1", "a", "2", "b"),
    ("ZADD", "z4", "2", "b"),
    ("ZUNIONSTORE", "zd", "2", "z3", "z4"),
    ("ZINTERSTORE", "zd", "2", "z3", "z4"),
    ("ZDIFFSTORE", "zd", "1", "z4"),
    ("ZRANGESTORE", "zd2", "z3", "0", "-1"),
    ("ZRANGESTORE", "zd2", "nokey", "0", "-1"),
    ("ZINTERSTORE", "zd", "2", "z3", "nokey"),
    ("BZPOPMIN", "z3", "0"),
    ("ZMPOP", "1", "z3", "MIN"),
]


LISTS = [
    ("LPUSH", "l", "a", "b"),
    ("RPUSH", "l", "c"),
    ("LPUSHX", "nolist", "x"),
    ("RPUSHX", "l", "d"),
    ("LINSERT", "l", "BEFORE", "c", "x"),
    ("LINSERT", "l", "BEFORE", "nope", "x"),
    ("LSET", "l", "0", "first"),
    ("LPOP", "l"),
    ("RPOP", "l", "2"),
    ("LREM", "l", "0", "x"),
    ("LREM", "l", "0", "nope"),
    ("RPUSH", "l2", "1", "2", "3", "4"),
    ("LTRIM", "l2", "1", "2"),
    ("LTRIM", "l2", "5", "10"),  # trimmed to nothing: deleted
    ("RPUSH", "src", "1", "2"),
    ("RPOPLPUSH", "src", "dst"),
    ("LMOVE", "src", "dst", "LEFT", "RIGHT"),  # src emptied
    ("LMOVE", "dst", "dst", "LEFT", "RIGHT"),
    ("BLPOP", "dst", "0"),
    ("BRPOPLPUSH", "dst", "other", "0"),
    ("LMPOP", "1", "other", "LEFT", "COUNT", "5"),
    ("RPUSH", "p", "a"),
    ("LPOS", "p", "a"),
    ("LPOP", "p", "5"),
]

HASHES = [
    ("HSET", "h", "a", "1", "b", "2"),
    ("HSET", "h", "a", "1"),
    ("HSETNX", "h", "a", "x"),
    ("HSETNX", "h", "c", "x"),
    ("HMSET", "h", "d", "4"),
    ("HINCRBY", "h", "n", "5"),
    ("HINCRBYFLOAT", "h", "f", "1.5"),
    ("HDEL", "h", "a", "nope"),
    ("HDEL", "h", "nope"),
    ("HGET", "h", "b"),
    ("HDEL", "h", "b", "c", "d", "n", "f"),  # emptied: deleted
]


@pytest.mark.parametrize("flags", ["KEA", "K$g", "E$", "Ex"])
def test_string_commands(streams, flags):
    streams(STRINGS, flags)


@pytest.mark.parametrize("flags", ["KEA", "Eg"])
def test_generic_key_commands(streams, flags):
    streams(KEYS, flags)


def test_bit_commands(streams):
    streams(BITS)


@pytest.mark.parametrize("flags", ["KEA", "Elg"])
def test_list_commands(streams, flags):
    streams(LISTS, flags)


def test_hash_commands(streams):
    streams(HASHES)


def test_served_blocked_pop(streams, ours, real):
    blocked = Pair(ours.port, real.port)
    try:
        blocked.send("BLPOP", "waited", "5")
        time.sleep(0.1)
        streams([("RPUSH", "waited", "a", "b")])
        blocked.read(1)
        streams([("LPOP", "waited")])
    finally:
        blocked.close()


def test_set_commands(streams):
    streams(SETS)


def test_sorted_set_commands(streams):
    streams(ZSETS)


def test_new_key_and_key_miss_classes(streams):
    events = streams(
        [("SET", "k", "1"), ("SET", "k", "2"), ("GET", "missing"), ("GET", "k"), ("MGET", "k", "m1", "m2"),
         ("SADD", "s", "a"), ("APPEND", "ap", "x"), ("INCR", "cnt")],
        "KEAmn",
    )
    assert [b"pmessage", b"__key*__:*", b"__keyevent@0__:new", b"k"] in events
    assert [b"pmessage", b"__key*__:*", b"__keyevent@0__:keymiss", b"missing"] in events
    streams([("SET", "k2", "1"), ("GET", "missing")], "En")
    streams([("GET", "missing"), ("SET", "k3", "1")], "Km")


@pytest.mark.parametrize("access", [("GET", "e"), ("EXISTS", "e"), ("TTL", "e"), ("APPEND", "e", "x")])
def test_lazy_expiry(streams, access):
    events = streams(
        [("DEBUG", "SET-ACTIVE-EXPIRE", "0"), ("SET", "e", "v", "PX", "20"), ("sleep", 0.04), access],
        "KEA",
    )
    assert [b"pmessage", b"__key*__:*", b"__keyevent@0__:expired", b"e"] in events


def test_active_expiry(streams, ours, real):
    from tests.differential.harness import RawConnection

    waiter = [RawConnection(ours.port), RawConnection(real.port)]
    try:
        streams([("SET", "ae", "v", "PX", "10"), ("SET", "ae2", "v", "PX", "15")], "Ex")
        for conn in waiter:  # wait for the expiry cycles without touching the keys
            for _ in range(300):
                if conn.call("DBSIZE") == b":0\r\n":
                    break
                time.sleep(0.01)
        events = streams([], "Ex", sort=True)
        assert sorted(e[3] for e in events) == [b"ae", b"ae2"]
    finally:
        for conn in waiter:
            conn.close()


def test_other_databases_use_their_number(streams):
    streams([("SELECT", "5"), ("SET", "x", "1"), ("DEL", "x"), ("SELECT", "0")], "KEA")


def test_nothing_when_disabled_or_class_missing(streams):
    assert streams([("SET", "k", "1"), ("DEL", "k")], "") == []
    assert streams([("SET", "k", "1"), ("DEL", "k")], "A") == []  # neither K nor E
    assert streams([("SET", "k", "1")], "Kg") == []  # set is a $ event


def test_resp3_own_notifications_precede_the_reply(ours, real):
    """Redis 7.0.15 writes a RESP3 subscriber's own keyspace pushes before its command's reply
    (7.2 reversed this): byte for byte, in and out of MULTI."""
    c = Pair(ours.port, real.port, resp=3)
    try:
        c.check("CONFIG", "SET", "notify-keyspace-events", "KA")
        c.call("SUBSCRIBE", "__keyspace@0__:self-notified", replies=1)
        c.call("SET", "self-notified", "v", replies=2)
        c.call("DEL", "self-notified", replies=2)
        c.check("MULTI")
        c.check("SET", "self-notified", "w")
        c.check("EXEC")
        c.call("DEL", "self-notified", replies=2)
    finally:
        c.call("CONFIG", "SET", "notify-keyspace-events", "", compare=False)
        c.close()
