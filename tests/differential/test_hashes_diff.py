"""Hash commands compared byte for byte with redis-server, in RESP2 and RESP3.

Small hashes are listpacks in Redis and keep insertion order, so their
HGETALL/HKEYS/HVALS/HSCAN replies must match exactly; big (hashtable) ones
are compared as multisets. Random replies (HRANDFIELD) are checked for shape
and membership, and exactly wherever Redis's answer is deterministic.
"""

from __future__ import annotations

import pytest

from tests.differential.harness import parse


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def d(request, diff, diff3):
    return diff if request.param == 2 else diff3


@pytest.fixture
def small_limits(diff):
    """Lower the listpack limits on both servers; restored afterwards."""
    diff.check("CONFIG", "SET", "hash-max-listpack-entries", "4", "hash-max-listpack-value", "8")
    yield
    diff.check("CONFIG", "SET", "hash-max-listpack-entries", "512", "hash-max-listpack-value", "64")


def test_set_get_and_friends(d):
    d.check("HSET", "h", "a", "1", "b", "2", "c", "3")
    d.check("HSET", "h", "a", "10", "d", "4")
    d.check("HMSET", "h", "e", "5", "a", "11")
    d.check("HSETNX", "h", "a", "x")
    d.check("HSETNX", "h", "f", "6")
    d.check("HSETNX", "new", "f", "6")
    for field in ("a", "f", "zz", ""):
        d.check("HGET", "h", field)
        d.check("HEXISTS", "h", field)
        d.check("HSTRLEN", "h", field)
    d.check("HMGET", "h", "a", "zz", "b", "a")
    d.check("HMGET", "missing", "a", "b")
    d.check("HGET", "missing", "a")
    d.check("HEXISTS", "missing", "a")
    d.check("HSTRLEN", "missing", "a")
    d.check("HLEN", "h")
    d.check("HLEN", "missing")
    d.check("HGETALL", "h")
    d.check("HKEYS", "h")
    d.check("HVALS", "h")
    d.check("HGETALL", "missing")
    d.check("HKEYS", "missing")
    d.check("HVALS", "missing")
    d.check("TYPE", "h")
    d.check("OBJECT", "ENCODING", "h")


def test_arity_and_wrong_type(d):
    d.check("HSET", "h", "a")
    d.check("HSET", "h", "a", "1", "b")
    d.check("HMSET", "h", "a", "1", "b")
    d.check("EXISTS", "h")
    d.check("HSETNX", "h", "a")
    d.check("HDEL", "h")
    d.check("SET", "s", "v")
    for cmd in (
        ("HSET", "s", "a", "1"), ("HMSET", "s", "a", "1"), ("HSETNX", "s", "a", "1"), ("HGET", "s", "a"),
        ("HMGET", "s", "a"), ("HDEL", "s", "a"), ("HLEN", "s"), ("HSTRLEN", "s", "a"), ("HEXISTS", "s", "a"),
        ("HKEYS", "s"), ("HVALS", "s"), ("HGETALL", "s"), ("HINCRBY", "s", "a", "1"),
        ("HINCRBYFLOAT", "s", "a", "1"), ("HRANDFIELD", "s"), ("HRANDFIELD", "s", "2"), ("HSCAN", "s", "0"),
        ("HINCRBY", "s", "a", "x"), ("HINCRBYFLOAT", "s", "a", "x"), ("HSCAN", "s", "x"),
        ("HRANDFIELD", "s", "x"), ("HSCAN", "s", "0", "COUNT", "0"),
    ):
        d.check(*cmd)


def test_random_count_limits(d):
    """HRANDFIELD, SRANDMEMBER and ZRANDMEMBER read their count with one rule: +-LONG_MAX, half with pairs."""
    d.check_all(["HSET h a 1", "SADD s a", "ZADD z 1 a"])
    for count in ("-9223372036854775808", "9223372036854775807", "-9223372036854775807", "4611686018427387904",
                  "-4611686018427387904", "9223372036854775808", "x"):
        d.check("HRANDFIELD", "nokey", count)
        d.check("HRANDFIELD", "nokey", count, "WITHVALUES")
        d.check("HRANDFIELD", "h", count, "WITHVALUES", "x")
        d.check("ZRANDMEMBER", "nokey", count, "WITHSCORES")
        d.check("ZRANDMEMBER", "z", count, "FOO")
        d.check("SRANDMEMBER", "nokey", count)


def test_hdel(d):
    d.check("HSET", "h", "a", "1", "b", "2", "c", "3")
    d.check("HDEL", "h", "a", "a", "zz")
    d.check("HDEL", "h", "zz")
    d.check("HGETALL", "h")
    d.check("HDEL", "h", "b", "c", "b")
    d.check("EXISTS", "h")
    d.check("HDEL", "h", "b")
    d.check("HDEL", "missing", "a")


def test_hincrby(d):
    d.check("HINCRBY", "h", "n", "5")
    d.check("HINCRBY", "h", "n", "-7")
    d.check("HINCRBY", "h", "n", "0")
    d.check("HSET", "h", "s", "abc", "big", "9223372036854775806", "sp", " 1", "f", "1.5")
    d.check("HINCRBY", "h", "big", "1")
    d.check("HINCRBY", "h", "big", "1")
    d.check("HINCRBY", "h", "big", "-9223372036854775807")
    d.check("HSET", "h", "small", "-9223372036854775807")
    d.check("HINCRBY", "h", "small", "-1")
    d.check("HINCRBY", "h", "small", "-1")
    for field in ("s", "sp", "f"):
        d.check("HINCRBY", "h", field, "1")
    for bad in ("x", "1.0", "", " 1", "9223372036854775808", "+1"):
        d.check("HINCRBY", "h", "n", bad)
        d.check("HINCRBY", "fresh", "n", bad)
    d.check("EXISTS", "fresh")
    d.check("HGETALL", "h")


def test_hincrbyfloat(d):
    steps = ["0.1", "0.2", "1e-5", "-3", "10.5e2", "1.23456789012345678", "0", "-0", "3.0", "0x10", "1e300",
             "-1e300", ".5", "5."]
    for step in steps:
        d.check("HINCRBYFLOAT", "h", "f", step)
    d.check("HGET", "h", "f")
    d.check("HSET", "h", "i", "7", "s", "abc", "inf", "inf", "sp", " 1", "e", "1e3")
    for field in ("i", "s", "inf", "sp", "e", "new"):
        d.check("HINCRBYFLOAT", "h", field, "1.5")
    for bad in ("x", "", "inf", "-inf", "nan", "1e5000", " 1", "1 "):
        d.check("HINCRBYFLOAT", "h", "f", bad)
        d.check("HINCRBYFLOAT", "fresh", "f", bad)
    d.check("EXISTS", "fresh")
    d.check("HSET", "h", "max", "1.7e308")
    d.check("OBJECT", "ENCODING", "h")  # 1e300 printed in full made a 301-byte value
    d.check("HGETALL", "h", sort=True)
    d.check("HINCRBYFLOAT", "h", "max", "1.7e308")
    d.check("HGET", "h", "max")
    d.check("OBJECT", "ENCODING", "h")  # the 309-digit value ends the listpack


def test_encoding_conversions(diff, small_limits):
    d = diff
    d.check("HSET", "a", "f1", "v", "f2", "v", "f3", "v", "f4", "v")
    d.check("OBJECT", "ENCODING", "a")
    d.check("HSET", "a", "f5", "v")
    d.check("OBJECT", "ENCODING", "a")
    d.check("HDEL", "a", "f1", "f2", "f3", "f4")
    d.check("OBJECT", "ENCODING", "a")  # never back to listpack
    d.check("HSET", "b", "f", "123456789")
    d.check("OBJECT", "ENCODING", "b")
    d.check("HSET", "c", "field-too-long", "v")
    d.check("OBJECT", "ENCODING", "c")
    d.check("HSET", "e", "f", "1")
    d.check("HINCRBY", "e", "f", "123456789")
    d.check("OBJECT", "ENCODING", "e")
    d.check("HSET", "g", "f", "1")
    d.check("HINCRBYFLOAT", "g", "f", "0.000001")
    d.check("OBJECT", "ENCODING", "g")
    d.check("HSET", "i", "f", "1")
    d.check("HSETNX", "i", "f", "long-long-value")
    d.check("OBJECT", "ENCODING", "i")
    d.check("HSETNX", "i", "g", "long-long-value")
    d.check("OBJECT", "ENCODING", "i")
    d.check("HSET", "j", "f", "12345678")
    d.check("OBJECT", "ENCODING", "j")
    d.check("COPY", "a", "a2")
    d.check("OBJECT", "ENCODING", "a2")
    # Lowering the limit converts a hash at its next write, even one that only updates a field.
    d.check("HSET", "u", "f1", "v", "f2", "v", "f3", "v")
    d.check("CONFIG", "SET", "hash-max-listpack-entries", "2")
    d.check("OBJECT", "ENCODING", "u")
    d.check("HSETNX", "u", "f1", "v")
    d.check("OBJECT", "ENCODING", "u")
    d.check("HSET", "u", "f1", "w")
    d.check("OBJECT", "ENCODING", "u")
    d.check("CONFIG", "SET", "hash-max-listpack-entries", "0")
    d.check("HSET", "k", "f", "v")
    d.check("OBJECT", "ENCODING", "k")


def test_hscan_small_hash_is_returned_whole(d):
    d.check("HSET", "h", "a", "1", "b", "2", "ab", "3", "", "4")
    for args in (("0",), ("123",), ("0", "COUNT", "1"), ("0", "MATCH", "a*"), ("0", "MATCH", "*"),
                 ("0", "MATCH", "?", "COUNT", "100"), ("0", "match", "zz*"), ("-1",), ("+7",), ("",)):
        d.check("HSCAN", "h", *args)
    for bad in (("abc",), (" 1",), ("18446744073709551616",), ("0", "COUNT", "0"), ("0", "COUNT", "-1"),
                ("0", "COUNT", "x"), ("0", "MATCH"), ("0", "TYPE", "string"), ("0", "FOO", "1")):
        d.check("HSCAN", "h", *bad)
    # A missing key: the cursor is checked, the options are not.
    d.check("HSCAN", "missing", "0", "COUNT", "0")
    d.check("HSCAN", "missing", "x")
    d.check("HSCAN", "missing", "18446744073709551615")


def test_hscan_big_hash_full_iteration(d):
    pairs = []
    for i in range(700):
        pairs += [f"field:{i}", f"v{i}"]
    d.check("HSET", "big", *pairs)
    d.check("OBJECT", "ENCODING", "big")
    for count, pattern in ((10, None), (100, None), (1000, "field:1*")):
        results = []
        for conn in (d.ours, d.real):
            cursor, seen, calls = b"0", {}, 0
            while True:
                args = ["HSCAN", "big", cursor, "COUNT", str(count)]
                if pattern:
                    args += ["MATCH", pattern]
                reply = parse(conn.call(*args))
                cursor, flat = reply[0], reply[1]
                seen.update(zip(flat[::2], flat[1::2]))
                calls += 1
                assert calls < 2000
                if cursor == b"0":
                    break
            results.append(seen)
        assert results[0] == results[1]
    d.check("HLEN", "big")
    d.check("HGETALL", "big", sort=True)
    d.check("HKEYS", "big", sort=True)
    d.check("HVALS", "big", sort=True)


def test_hrandfield(d):
    d.check("HRANDFIELD", "missing")
    d.check("HRANDFIELD", "missing", "3")
    d.check("HRANDFIELD", "missing", "-3", "WITHVALUES")
    d.check("HSET", "h", "a", "1", "b", "2", "c", "3")
    # Deterministic: the whole hash (a listpack: in insertion order), or nothing.
    for args in (("3",), ("10",), ("3", "WITHVALUES"), ("100", "withvalues"), ("0",), ("0", "WITHVALUES")):
        d.check("HRANDFIELD", "h", *args)
    for bad in (("x",), ("1", "FOO"), ("1", "WITHVALUES", "x"), ("-9223372036854775808",),
                ("9223372036854775807", "WITHVALUES"), ("-4611686018427387904", "WITHVALUES"), ("1.5",)):
        d.check("HRANDFIELD", "h", *bad)
    d.check("HRANDFIELD", "missing", "x")
    # Random ones: same shape, members of the hash.
    members = {b"a": b"1", b"b": b"2", b"c": b"3"}
    for args in ((), ("1",), ("2",), ("-5",), ("2", "WITHVALUES"), ("-5", "WITHVALUES"), ("1", "WITHVALUES")):
        mine, theirs = d.call("HRANDFIELD", "h", *args, compare=False)
        ours_value, real_value = parse(mine), parse(theirs)
        if not args:
            assert ours_value in members and real_value in members
            continue
        assert type(ours_value) is type(real_value) and len(ours_value) == len(real_value), (mine, theirs)
        if "WITHVALUES" in args:
            pairs = ours_value if d.resp == 3 else list(zip(ours_value[::2], ours_value[1::2]))
            if d.resp == 3:
                assert all(isinstance(p, list) and len(p) == 2 for p in pairs)
            assert all(members[f] == v for f, v in pairs)
        else:
            assert all(f in members for f in ours_value)
        if args and int(args[0]) > 0:
            fields = ours_value if "WITHVALUES" not in args else [p[0] for p in pairs]
            assert len(set(fields)) == len(fields)
