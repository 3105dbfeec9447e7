"""Sorted-set commands compared byte for byte with redis-server, in RESP2 and RESP3.

Each test builds the same data on both servers and checks every reply,
including error texts and score formatting. Encodings are covered by
lowering ``zset-max-listpack-entries`` so both the listpack and the skiplist
paths run on small data.
"""

from __future__ import annotations

import pytest

from tests.differential.harness import parse


@pytest.fixture(params=["listpack", "skiplist"])
def zdiff(request, diff):
    """A Differ whose servers use the given sorted-set encoding for small sets."""
    entries = "128" if request.param == "listpack" else "0"
    diff.call("CONFIG", "SET", "zset-max-listpack-entries", entries, compare=False)
    yield diff
    diff.call("CONFIG", "SET", "zset-max-listpack-entries", "128", compare=False)


def check_scan(d, *args) -> None:
    """A full-page SCAN reply: same cursor and the same (member, score) pairs, in any order."""
    ours, real = (parse(reply) for reply in d.call(*args, compare=False))
    assert ours[0] == real[0]
    assert sorted(zip(ours[1][::2], ours[1][1::2], strict=True)) == sorted(zip(real[1][::2], real[1][1::2], strict=True))


def load(d, key="z", pairs="1 a 2 b 3 c 4 d 5 e"):
    d.check("ZADD", key, *pairs.split())


def test_zadd_flags_and_errors(zdiff):
    d = zdiff
    load(d)
    d.check_all([
        "ZADD z 10 a", "ZADD z CH 10 a 11 b 12 new", "ZADD z NX 20 a 21 nx", "ZADD z XX 30 a 31 xx",
        "ZADD z GT 5 a", "ZADD z GT 50 a", "ZADD z LT 60 a", "ZADD z LT 1 a", "ZADD z GT CH 100 a 1 b",
        "ZADD z INCR 5 a", "ZADD z NX INCR 5 a", "ZADD z XX INCR 5 missing", "ZADD z GT INCR -1 a",
        "ZADD z LT INCR -1 a", "ZADD z INCR 0 a", "ZADD z xx ch gt 200 a",
        "ZADD z NX XX 1 a", "ZADD z GT LT 1 a", "ZADD z GT NX 1 a", "ZADD z LT NX 1 a",
        "ZADD z INCR 1 a 2 b", "ZADD z 1 a 2", "ZADD z NX", "ZADD z abc a", "ZADD z abc a NX",
        "ZADD z nan a", "ZADD z 1e400 a", "ZADD z 1e-400 a", "ZADD z 1e-310 tiny", "ZADD z 0x10 hex",
        "ZADD z inf i1 -inf i2 +inf i3 Infinity i4", "ZADD z 1_0 a", "ZADD z 1.5e3 f",
        "ZADD nokey XX 1 a", "ZADD nokey XX INCR 1 a", "ZRANGE z 0 -1 WITHSCORES", "ZCARD z",
    ])
    d.check("ZADD", "z", " 1", "sp")
    d.check("ZADD", "z", "1 ", "sp")
    d.check("ZADD", "z", "", "sp")
    d.check("ZADD", "z", "INCR", "inf", "i1")
    d.check("ZADD", "z", "INCR", "-inf", "i1")
    d.check("SET", "str", "x")
    d.check("ZADD", "str", "1", "a")
    d.check("ZADD", "str", "abc", "a")
    d.check("ZADD", "str", "1", "a", "2")


def test_zincrby_and_negative_zero(zdiff):
    d = zdiff
    d.check_all([
        "ZINCRBY z 1 a", "ZINCRBY z 2.5 a", "ZINCRBY z -10 a", "ZINCRBY z x a", "ZINCRBY z inf a",
        "ZINCRBY z -inf a", "ZADD z -0 zero", "ZSCORE z zero", "ZINCRBY z -0 zero", "ZADD z 0 zero2",
        "ZINCRBY z -0 zero2", "ZRANGE z 0 -1 WITHSCORES",
    ])
    check_scan(d, "ZSCAN", "z", "0")
    d.check("ZINCRBY", "z", "0.1", "f")
    d.check("ZINCRBY", "z", "0.2", "f")
    d.check("ZSCORE", "z", "f")
    d.check("ZADD", "z", "3.0000000000000001", "g")
    d.check("ZADD", "z", "1234567890123456789", "h")
    d.check("ZADD", "z", "-1.7976931348623157e308", "m")
    d.check("ZRANGE", "z", "0", "-1", "WITHSCORES")


def test_zrem_zcard_zscore_zmscore_ranks(zdiff):
    d = zdiff
    load(d)
    d.check_all([
        "ZSCORE z a", "ZSCORE z nope", "ZSCORE nokey a", "ZMSCORE z a nope e", "ZMSCORE nokey a b",
        "ZRANK z a", "ZRANK z e", "ZRANK z nope", "ZRANK nokey a", "ZREVRANK z a", "ZREVRANK z e",
        "ZREVRANK z nope", "ZREM z a nope", "ZREM z nope", "ZREM nokey a", "ZCARD z", "ZCARD nokey",
        "ZREM z b c d e", "EXISTS z", "ZCARD z",
    ])
    d.check("SET", "str", "x")
    for cmd in ("ZSCORE str a", "ZMSCORE str a", "ZRANK str a", "ZREVRANK str a", "ZREM str a",
                "ZCARD str", "ZCOUNT str 0 1", "ZLEXCOUNT str - +", "ZRANGE str 0 1",
                "ZRANDMEMBER str", "ZPOPMIN str", "ZSCAN str 0", "ZINCRBY str 1 a"):
        d.check(*cmd.split())


def test_score_ranges(zdiff):
    d = zdiff
    load(d, pairs="-inf ninf 1 a 2 b 2 bb 3 c 4 d 5 e inf pinf")
    for lo, hi in [("-inf", "+inf"), ("(1", "3"), ("1", "(3"), ("(1", "(3"), ("(2", "(2"), ("2", "2"),
                   ("5", "1"), ("-inf", "-inf"), ("(-inf", "(inf"), ("inf", "inf"), ("(inf", "inf"),
                   ("", "3"), ("(", "3"), (" 2", "3"), ("1e400", "inf"), ("-1e400", "1"), ("0x2", "4")]:
        d.check("ZCOUNT", "z", lo, hi)
        d.check("ZRANGEBYSCORE", "z", lo, hi, "WITHSCORES")
        d.check("ZREVRANGEBYSCORE", "z", hi, lo)
        d.check("ZRANGE", "z", lo, hi, "BYSCORE")
        d.check("ZRANGE", "z", hi, lo, "BYSCORE", "REV", "WITHSCORES")
    for bad in ("a", "2 ", "nan", "(nan", "((1", "1e", "--1"):
        d.check("ZCOUNT", "z", bad, "1")
        d.check("ZRANGEBYSCORE", "z", "1", bad)
        d.check("ZREMRANGEBYSCORE", "z", bad, "1")
    for offset, count in [("0", "2"), ("1", "2"), ("2", "-1"), ("-1", "2"), ("0", "0"), ("10", "1"),
                          ("3", "100"), ("x", "1")]:
        d.check("ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", offset, count)
        d.check("ZREVRANGEBYSCORE", "z", "+inf", "-inf", "WITHSCORES", "LIMIT", offset, count)
        d.check("ZRANGE", "z", "(1", "5", "BYSCORE", "LIMIT", offset, count, "WITHSCORES")
    d.check("ZRANGEBYSCORE", "nokey", "0", "1")
    d.check("ZCOUNT", "nokey", "0", "1")


def test_lex_ranges(zdiff):
    d = zdiff
    load(d, pairs="0 a 0 b 0 c 0 d 0 e 0 f 0 g 0 aa 0 ab")
    for lo, hi in [("-", "+"), ("[a", "[c"), ("(a", "(c"), ("[aa", "(b"), ("+", "-"), ("-", "-"),
                   ("+", "+"), ("[c", "[a"), ("(c", "[c"), ("[c", "[c"), ("[", "+"), ("(", "(z"),
                   ("-", "[ab")]:
        d.check("ZLEXCOUNT", "z", lo, hi)
        d.check("ZRANGEBYLEX", "z", lo, hi)
        d.check("ZREVRANGEBYLEX", "z", hi, lo)
        d.check("ZRANGE", "z", lo, hi, "BYLEX")
        d.check("ZRANGE", "z", hi, lo, "BYLEX", "REV")
        d.check("ZRANGEBYLEX", "z", lo, hi, "LIMIT", "1", "2")
        d.check("ZREVRANGEBYLEX", "z", hi, lo, "LIMIT", "1", "-1")
    for bad in ("a", "-a", "+a", "", "{a"):
        d.check("ZLEXCOUNT", "z", bad, "+")
        d.check("ZRANGEBYLEX", "z", "-", bad)
        d.check("ZREMRANGEBYLEX", "z", bad, "+")
    d.check_all(["ZREMRANGEBYLEX z [a (b", "ZRANGE z 0 -1", "ZREMRANGEBYLEX z - +", "EXISTS z"])


def test_rank_ranges_and_options(zdiff):
    d = zdiff
    load(d)
    for start, stop in [("0", "-1"), ("1", "3"), ("-2", "-1"), ("-100", "100"), ("3", "1"),
                        ("5", "10"), ("-1", "-1"), ("0", "0"), ("-6", "0"), ("x", "1"), ("1", "1.5")]:
        d.check("ZRANGE", "z", start, stop)
        d.check("ZRANGE", "z", start, stop, "WITHSCORES")
        d.check("ZRANGE", "z", start, stop, "REV", "WITHSCORES")
        d.check("ZREVRANGE", "z", start, stop, "WITHSCORES")
    d.check_all([
        "ZRANGE z 0 -1 LIMIT 0 1", "ZRANGE z 0 -1 LIMIT 0 -1", "ZRANGE z - + BYLEX WITHSCORES",
        "ZRANGE z 0 -1 REV REV", "ZRANGE z 0 -1 BYSCORE BYLEX", "ZRANGEBYSCORE z 0 1 REV",
        "ZRANGEBYSCORE z 0 1 BYSCORE", "ZREVRANGE z 0 -1 LIMIT 0 1", "ZRANGE z 0 -1 FOO",
        "ZRANGE z 0 -1 LIMIT 0", "ZRANGEBYLEX z - + WITHSCORES", "ZRANGE nokey 0 -1",
        "ZRANGE z 0 -1 withscores rev", "ZREVRANGE z 0 -1 WITHSCORES WITHSCORES",
    ])


def test_zrangestore(zdiff):
    d = zdiff
    load(d)
    d.check_all([
        "ZRANGESTORE dst z 0 2", "ZRANGE dst 0 -1 WITHSCORES", "OBJECT ENCODING dst",
        "ZRANGESTORE dst z (1 4 BYSCORE LIMIT 1 2", "ZRANGE dst 0 -1 WITHSCORES",
        "ZRANGESTORE dst z 4 1 BYSCORE REV", "ZRANGE dst 0 -1 WITHSCORES",
        "ZRANGESTORE dst z [b [d BYLEX", "ZRANGE dst 0 -1", "ZRANGESTORE dst z 10 20", "EXISTS dst",
        "ZRANGESTORE dst nokey 0 -1", "ZRANGESTORE dst z 0 -1 WITHSCORES", "ZRANGESTORE z z 1 2",
        "ZRANGE z 0 -1 WITHSCORES",
    ])
    d.check("SET", "str", "x")
    d.check("ZRANGESTORE", "str", "z", "0", "-1")
    d.check("TYPE", "str")
    d.check("ZRANGESTORE", "dst", "str", "0", "-1")


def test_zremrange(zdiff):
    d = zdiff
    for cmd in ("ZREMRANGEBYRANK z 1 2", "ZREMRANGEBYRANK z -2 -1", "ZREMRANGEBYRANK z 5 10",
                "ZREMRANGEBYRANK z 3 1", "ZREMRANGEBYRANK z x 1", "ZREMRANGEBYSCORE z (1 3",
                "ZREMRANGEBYSCORE z -inf +inf", "ZREMRANGEBYSCORE z 3 1", "ZREMRANGEBYLEX z - +",
                "ZREMRANGEBYRANK z 0 -1", "ZREMRANGEBYRANK nokey 0 -1"):
        load(d)
        d.check(*cmd.split())
        d.check("ZRANGE", "z", "0", "-1", "WITHSCORES")
        d.check("EXISTS", "z")


def test_pops(zdiff, diff3):
    d = zdiff
    load(d)
    d.check_all([
        "ZPOPMIN z", "ZPOPMAX z", "ZPOPMIN z 2", "ZPOPMIN z 0", "ZPOPMIN z -1", "ZPOPMIN z x",
        "ZPOPMIN z 1 2", "ZPOPMAX z 10", "EXISTS z", "ZPOPMIN nokey", "ZPOPMAX nokey 2",
    ])
    load(d)
    d.check_all([
        "ZMPOP 1 z MIN", "ZMPOP 2 nokey z MAX COUNT 2", "ZMPOP 1 z min count 10", "ZMPOP 1 z MIN",
        "ZMPOP 0 z MIN", "ZMPOP x z MIN", "ZMPOP 2 z MIN", "ZMPOP 1 z FOO", "ZMPOP 1 z MIN COUNT 0",
        "ZMPOP 1 z MIN COUNT x", "ZMPOP 1 z MIN COUNT 1 COUNT 1", "ZMPOP 1 z MIN BAR",
    ])
    d.check("SET", "str", "x")
    load(d)
    d.check_all(["ZMPOP 2 str z MIN", "ZMPOP 2 nokey str MAX", "ZMPOP 2 z str MAX", "ZPOPMAX str 0",
                 "ZPOPMAX str -1", "ZPOPMIN nokey 0", "ZMPOP 1 str MIN COUNT 0"])
    load(diff3)
    diff3.check_all(["ZPOPMIN z", "ZPOPMAX z 1", "ZPOPMIN z 2", "ZMPOP 1 z MAX COUNT 5", "ZPOPMIN z",
                     "ZMPOP 1 z MIN"])


def test_zrandmember_deterministic_cases(zdiff, diff3):
    d = zdiff
    load(d)
    d.check_all([
        "ZRANDMEMBER z 5", "ZRANDMEMBER z 10 WITHSCORES", "ZRANDMEMBER z 0", "ZRANDMEMBER nokey",
        "ZRANDMEMBER nokey 3", "ZRANDMEMBER z x", "ZRANDMEMBER z 1 WITHSCORES x", "ZRANDMEMBER z 1 FOO",
        "ZRANDMEMBER z 4611686018427387904 WITHSCORES", "ZRANDMEMBER z -9223372036854775808",
    ])
    load(diff3)
    diff3.check("ZRANDMEMBER", "z", "50", "WITHSCORES")
    ours, real = d.call("ZRANDMEMBER", "z", "-20", compare=False)
    assert ours.startswith(b"*20\r\n") and real.startswith(b"*20\r\n")


def test_set_algebra(zdiff, diff3):
    d = zdiff
    load(d, "z1", "1 a 2 b 3 c")
    load(d, "z2", "10 b 20 c 30 d")
    d.check("SADD", "s", "c", "d", "e")
    for name in ("ZUNION", "ZINTER", "ZDIFF"):
        d.check(name, "2", "z1", "z2", "WITHSCORES")
        d.check(name, "3", "z1", "z2", "s")
        d.check(name, "3", "z1", "s", "nokey", "WITHSCORES")
        d.check(name, "1", "nokey")
        d.check(name, "0", "z1")
        d.check(name, "x", "z1")
        d.check(name, "3", "z1")
        d.check(name, "2", "z1", "z2", "WEIGHTS", "2", "3", "WITHSCORES")
        d.check(name, "2", "z1", "z2", "WEIGHTS", "2")
        d.check(name, "2", "z1", "z2", "WEIGHTS", "2", "x")
        for agg in ("SUM", "MIN", "MAX", "min", "FOO"):
            d.check(name, "2", "z1", "z2", "AGGREGATE", agg, "WITHSCORES")
        d.check(name, "2", "z1", "z2", "AGGREGATE")
        d.check(name, "2", "z1", "z2", "FOO")
        store = name + "STORE"
        d.check(store, "dst", "2", "z1", "z2")
        d.check("ZRANGE", "dst", "0", "-1", "WITHSCORES")
        d.check("OBJECT", "ENCODING", "dst")
        d.check(store, "dst", "2", "z1", "z2", "WEIGHTS", "1", "-1", "AGGREGATE", "MAX")
        d.check(store, "dst", "2", "z1", "z2", "WITHSCORES")
        d.check(store, "dst", "0", "z1")
        d.check(store, "dst", "2", "nokey", "nokey2")
        d.check("EXISTS", "dst")
    load(d, "inf1", "inf a -inf b 1 c")
    load(d, "inf2", "-inf a inf b 0 c")
    d.check("ZUNION", "2", "inf1", "inf2", "WITHSCORES")
    d.check("ZINTER", "2", "inf1", "inf2", "WEIGHTS", "0", "1", "WITHSCORES")
    d.check("ZUNION", "2", "inf1", "inf2", "WEIGHTS", "0", "0", "AGGREGATE", "MAX", "WITHSCORES")
    d.check("ZINTER", "2", "inf1", "inf1", "WITHSCORES")
    d.check_all(["ZINTERCARD 2 z1 z2", "ZINTERCARD 2 z1 z2 LIMIT 1", "ZINTERCARD 2 z1 z2 LIMIT 0",
                 "ZINTERCARD 0 z1", "ZINTERCARD x z1", "ZINTERCARD 3 z1", "ZINTERCARD 1 z1 LIMIT -1",
                 "ZINTERCARD 1 z1 LIMIT x", "ZINTERCARD 1 z1 WITHSCORES", "ZINTERCARD 2 z1 s",
                 "ZINTERCARD 1 nokey"])
    d.check("SET", "str", "x")
    d.check("ZUNION", "2", "z1", "str")
    d.check("ZUNIONSTORE", "dst", "2", "z1", "str")
    d.check("ZUNIONSTORE", "str", "1", "z1")
    d.check("TYPE", "str")
    load(diff3, "z1", "1 a 2 b 3 c")
    diff3.check("ZUNION", "1", "z1", "WITHSCORES")
    diff3.check("ZDIFF", "1", "z1", "WITHSCORES")


def test_zscan(zdiff):
    d = zdiff
    load(d)
    d.check_all(["ZSCAN z x", "ZSCAN z 0 COUNT 0", "ZSCAN z 0 COUNT x", "ZSCAN z 0 MATCH",
                 "ZSCAN z 0 FOO bar", "ZSCAN nokey 0", "ZSCAN z 18446744073709551616"])
    if d.check("OBJECT", "ENCODING", "z") == b"$8\r\nlistpack\r\n":
        d.check_all(["ZSCAN z 0", "ZSCAN z 0 MATCH [ab]", "ZSCAN z 0 COUNT 1"])
    else:
        check_scan(d, "ZSCAN", "z", "0", "COUNT", "100")


def test_encodings(diff):
    d = diff
    try:
        d.call("CONFIG", "SET", "zset-max-listpack-entries", "3", compare=False)
        d.call("CONFIG", "SET", "zset-max-listpack-value", "5", compare=False)
        d.check_all([
            "ZADD a 1 x 2 y 3 z", "OBJECT ENCODING a", "ZADD a 4 w", "OBJECT ENCODING a", "ZREM a w x",
            "OBJECT ENCODING a", "ZADD b 1 longmember", "OBJECT ENCODING b", "ZADD c 1 x 2 longmember",
            "OBJECT ENCODING c", "ZINCRBY d 1 abcdef", "OBJECT ENCODING d", "ZUNIONSTORE u 1 a",
            "OBJECT ENCODING u", "ZRANGESTORE r c 0 0", "OBJECT ENCODING r", "ZADD e -0 m1 -0 m2 -0 m3 -0 m4",
            "ZRANGE e 0 -1 WITHSCORES", "OBJECT ENCODING e", "COPY a acopy", "OBJECT ENCODING acopy",
        ])
        d.call("CONFIG", "SET", "zset-max-listpack-entries", "0", compare=False)
        d.check_all(["ZADD f 1 x", "OBJECT ENCODING f", "ZUNIONSTORE g 1 f", "OBJECT ENCODING g"])
    finally:
        d.call("CONFIG", "SET", "zset-max-listpack-entries", "128", compare=False)
        d.call("CONFIG", "SET", "zset-max-listpack-value", "64", compare=False)


def test_resp3_replies(diff3):
    d = diff3
    load(d)
    d.check_all([
        "ZSCORE z a", "ZMSCORE z a nope", "ZINCRBY z 1.5 a", "ZADD z INCR 1 a", "ZADD z NX INCR 1 a",
        "ZRANGE z 0 -1 WITHSCORES", "ZRANGE z 0 -1", "ZRANGEBYSCORE z -inf +inf WITHSCORES LIMIT 1 2",
        "ZREVRANGE z 0 1 WITHSCORES", "ZRANK z b", "ZRANK z nope", "ZSCORE z nope", "ZSCAN z 0",
        "ZRANDMEMBER nokey", "ZMPOP 1 nokey MIN", "BZPOPMIN nokey 0.01", "BZMPOP 0.01 1 nokey MIN",
        "BZPOPMIN z 0", "BZPOPMAX z 0", "BZMPOP 0 1 z MAX COUNT 2",
    ])


def test_blocking_forms_when_data_is_there(diff):
    d = diff
    load(d, pairs="1 a 2 b 3 c 4 d 5 e 6 f 7 g 8 h 9 i")
    d.check("SET", "str", "x")
    d.check_all([
        "BZPOPMIN z 0", "BZPOPMAX z 0", "BZPOPMIN nokey z 0", "BZPOPMIN str z 0", "BZPOPMIN z str 0",
        "BZMPOP 0 2 nokey z MIN COUNT 2", "BZMPOP 0 1 z MAX", "BZMPOP 0 1 str MAX",
        "BZPOPMIN z -1", "BZPOPMIN z abc", "BZPOPMIN z 1e400", "BZPOPMIN z inf", "BZPOPMIN z 9e15",
        "BZMPOP 0.1 0 z MIN", "BZMPOP x 1 z MIN", "BZMPOP 0 1 z", "BZMPOP 0 1 z FOO",
        "BZPOPMIN nokey 0.01", "BZPOPMAX nokey nokey2 0.01", "BZMPOP 0.01 1 nokey MIN",
    ])


def test_bzmpop_reads_its_timeout_after_the_other_arguments(diff):
    """As BLMPOP: numkeys, MIN|MAX and COUNT are checked before the timeout."""
    diff.check_all([
        "BZMPOP -1 1 z FOO", "BZMPOP x 1 z FOO", "BZMPOP x 0 z MIN", "BZMPOP -1 1 z MIN COUNT 0", "BZMPOP x 2 z",
        "BZMPOP x 1 z MIN COUNT 1 COUNT 1", "BZMPOP -1 1 z MIN", "BLMPOP -1 1 l FOO", "BLMPOP x 1 l LEFT COUNT 0",
    ])


def test_blocking_timeouts_are_read_as_long_doubles(diff):
    """One timeout parser for lists and sorted sets: 1e5000 is not a number, 0.0001 waits 1 ms."""
    diff.check_all([
        "BZPOPMIN nokey 1e5000", "BZMPOP 1e5000 1 nokey MIN", "BZPOPMAX nokey 1e-5000", "BZPOPMIN nokey 0.0001",
        "BZMPOP 0.0001 1 nokey MAX", "BZPOPMIN nokey -0.5", "BZPOPMIN nokey 1e400",
    ])


def test_blocking_inside_multi(diff):
    d = diff
    d.check_all(["MULTI", "BZPOPMIN nokey 0", "BZMPOP 0 1 nokey MAX", "ZADD z 1 a", "BZPOPMAX z 0", "EXEC"])


def test_many_pairs_at_once(zdiff):
    """ZADD with many pairs on an existing set (a batch path for big sets) and with repeats."""
    d = zdiff
    load(d)
    pairs = [x for i in range(40) for x in (str(i % 7 - 3), f"m{i}")]
    d.check("ZADD", "z", *pairs)
    d.check("ZADD", "z", "CH", *pairs[:30], "9", "a", "-0", "b", "0", "c", "inf", "d")
    d.check("ZADD", "z", *pairs[:30], "5", "m1", "6", "m1")
    d.check("ZADD", "z", "CH", "GT", *pairs)
    d.check("ZRANGE", "z", "0", "-1", "WITHSCORES")
    d.check("ZCARD", "z")


def test_getkeys_of_numkeys_commands(diff):
    for cmd in ("ZINTER 5 a", "ZINTER 1 a", "ZINTER 0 a", "ZUNIONSTORE d 2 a b WEIGHTS 1 2", "ZUNIONSTORE d 3 a b",
                "SINTERCARD 2 a b LIMIT 1", "SINTERCARD 3 a b", "ZMPOP 2 a b MIN", "ZMPOP 3 a b",
                "BZMPOP 0 2 a b MIN", "BZMPOP 0 3 a b", "BZPOPMIN a b 0", "ZINTERCARD 2 a b", "SMOVE a b m",
                "ZRANGESTORE d s 0 1", "SINTERSTORE d a b"):
        diff.check("COMMAND", "GETKEYS", *cmd.split())


def test_single_updates_and_pops(zdiff, diff3):
    """ZADD's one-pair fast path and ZPOPMIN/ZPOPMAX's one-member replies, on awkward scores."""
    d = zdiff
    load(d)
    for score in ("-0", "0", "-1.5", "inf", "-inf", "1e-320", "-1e-320", "007", "12345678901234567890", "0x10"):
        d.check("ZADD", "z", score, "a")
        d.check("ZADD", "z", score, "fresh" + score)
        d.check("ZRANK", "z", "a")
    d.check("ZRANGE", "z", "0", "-1", "WITHSCORES")
    d.check_all(["ZPOPMIN z", "ZPOPMAX z", "ZPOPMIN z", "ZPOPMAX z", "ZPOPMIN z"])
    for cmd in ("ZADD z -0 n", "ZPOPMIN z", "ZADD z inf p", "ZADD z -inf q", "ZPOPMAX z", "ZPOPMIN z"):
        diff3.check(*cmd.split())


def test_big_set_updates_ranks_and_pops(diff):
    """A set of a few thousand members (several index sublists): updates, ranks, ranges, pops."""
    d = diff
    d.check("ZADD", "big", *[x for i in range(3000) for x in (str(i * 37 % 1000 - 500), f"m{i}")])
    for i in range(0, 600, 3):
        d.check("ZADD", "big", str(i * 7919 % 2000 - 1000), f"m{i * 13 % 3000}")
        if i % 30 == 0:
            d.check("ZRANK", "big", f"m{i * 13 % 3000}")
    d.check("ZRANGE", "big", "1000", "1020", "WITHSCORES")
    d.check("ZRANGEBYSCORE", "big", "-10", "10", "LIMIT", "0", "15")
    for _ in range(700):
        d.check("ZPOPMIN", "big")
    d.check("ZPOPMAX", "big")
    d.check("ZRANGE", "big", "0", "9", "WITHSCORES")
    d.check("ZCARD", "big")


def test_lex_ranges_over_unequal_scores_walk_as_redis_listpack_does(diff):
    """Lexical ranges assume equal scores; with unequal ones Redis's listpack walk decides
    (from the head, or the tail for REV, to the first member past the near bound)."""
    diff.check("ZADD", "zl", "0", "a", "5", "c", "-1", "b", "3", "d", "2", "a2")
    for lo, hi in (("[a", "[a"), ("[a", "[c"), ("-", "[b"), ("[b", "+"), ("(a", "[d"), ("-", "+"), ("[c", "[a")):
        diff.check("ZRANGEBYLEX", "zl", lo, hi)
        diff.check("ZREVRANGEBYLEX", "zl", hi, lo)
        diff.check("ZRANGE", "zl", hi, lo, "BYLEX", "REV", "LIMIT", "1", "2")
        diff.check("ZLEXCOUNT", "zl", lo, hi)
    diff.check("ZREMRANGEBYLEX", "zl", "[a", "[c")
    diff.check("ZRANGE", "zl", "0", "-1", "WITHSCORES")
