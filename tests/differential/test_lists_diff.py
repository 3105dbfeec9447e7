"""List commands compared byte for byte with redis-server, in RESP2 and RESP3.

Each test builds the same lists on both servers and runs the edge cases that
matter: negative and out-of-range indexes, empty results, wrong types, count
variants, errors in Redis's order of checks, and the encoding Redis reports.
"""

from __future__ import annotations

import pytest


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def d(request, diff, diff3):
    """Both protocols: the null and array shapes of list replies differ between them."""
    return diff if request.param == 2 else diff3


def fill(d, key="l", items="a b c d e"):
    d.check("RPUSH", key, *items.split())


def test_push_and_length(d):
    d.check("LPUSH", "l", "a", "b", "c")
    d.check("RPUSH", "l", "x", "y")
    d.check("LRANGE", "l", "0", "-1")
    d.check("LLEN", "l")
    d.check("LLEN", "missing")
    d.check("LPUSHX", "missing", "a")
    d.check("RPUSHX", "missing", "a", "b")
    d.check("EXISTS", "missing")
    d.check("LPUSHX", "l", "p", "q")
    d.check("RPUSHX", "l", "r")
    d.check("LRANGE", "l", "0", "-1")
    d.check("LPUSH", "l")
    d.check("RPUSH", "l")
    d.check("TYPE", "l")
    d.check("OBJECT", "ENCODING", "l")


def test_wrong_type(d):
    d.check("SET", "s", "v")
    for cmd in (
        ("LPUSH", "s", "a"), ("RPUSH", "s", "a"), ("LPUSHX", "s", "a"), ("RPUSHX", "s", "a"),
        ("LPOP", "s"), ("RPOP", "s", "2"), ("LLEN", "s"), ("LRANGE", "s", "0", "1"),
        ("LINDEX", "s", "0"), ("LSET", "s", "0", "x"), ("LINSERT", "s", "BEFORE", "a", "b"),
        ("LREM", "s", "0", "a"), ("LTRIM", "s", "0", "1"), ("LPOS", "s", "a"),
        ("LMOVE", "s", "d", "LEFT", "RIGHT"), ("RPOPLPUSH", "s", "d"), ("LMPOP", "1", "s", "LEFT"),
        ("BLPOP", "s", "0"), ("BRPOP", "s", "0"), ("BLMOVE", "s", "d", "LEFT", "LEFT", "0"),
        ("BRPOPLPUSH", "s", "d", "0"), ("BLMPOP", "0", "1", "s", "RIGHT"),
    ):
        d.check(*cmd)
    fill(d)
    d.check("LMOVE", "l", "s", "LEFT", "RIGHT")
    d.check("RPOPLPUSH", "l", "s")
    d.check("BLMOVE", "l", "s", "LEFT", "LEFT", "0")
    d.check("LRANGE", "l", "0", "-1")
    # BLPOP serves the first non-empty list before it reaches a key of another type.
    d.check("BLPOP", "l", "s", "0")
    d.check("BLPOP", "nothing", "s", "0")


def test_pops(d):
    fill(d)
    d.check("LPOP", "l")
    d.check("RPOP", "l")
    d.check("LPOP", "l", "0")
    d.check("LPOP", "l", "2")
    d.check("RPOP", "l", "5")
    d.check("EXISTS", "l")
    d.check("LPOP", "l")
    d.check("RPOP", "l")
    d.check("LPOP", "l", "0")
    d.check("RPOP", "l", "3")
    for bad in ("-1", "abc", "1.5", "", "99999999999999999999"):
        d.check("LPOP", "l", bad)
        fill(d, "k", "a b")
        d.check("RPOP", "k", bad)
    d.check("LPOP", "l", "1", "2")
    fill(d)
    d.check("RPOP", "l", "2")
    d.check("LPOP", "l", "9223372036854775807")


def test_lrange(d):
    fill(d, items="a b c d e f g h i j")
    ranges = [
        ("0", "-1"), ("0", "0"), ("-1", "-1"), ("-3", "-1"), ("2", "5"), ("5", "2"), ("-100", "100"),
        ("100", "200"), ("-100", "-50"), ("9", "9"), ("10", "10"), ("-10", "-10"), ("-11", "0"),
        ("0", "-11"), ("3", "-3"), ("-9223372036854775808", "9223372036854775807"),
    ]
    for start, stop in ranges:
        d.check("LRANGE", "l", start, stop)
    d.check("LRANGE", "missing", "0", "-1")
    d.check("LRANGE", "l", "a", "1")
    d.check("LRANGE", "l", "0", "1.0")
    d.check("LRANGE", "missing", "x", "1")
    d.check("LRANGE", "l", "9223372036854775808", "1")


def test_lindex_and_lset(d):
    fill(d)
    for index in ("0", "4", "5", "-1", "-5", "-6", "100", "-100", "9223372036854775807"):
        d.check("LINDEX", "l", index)
    d.check("LINDEX", "l", "x")
    d.check("LINDEX", "missing", "x")
    d.check("LINDEX", "missing", "0")
    d.check("LSET", "l", "0", "A")
    d.check("LSET", "l", "-1", "E")
    d.check("LSET", "l", "2", "C")
    d.check("LSET", "l", "5", "x")
    d.check("LSET", "l", "-6", "x")
    d.check("LSET", "l", "x", "x")
    d.check("LSET", "missing", "0", "x")
    d.check("LSET", "missing", "x", "x")
    d.check("LRANGE", "l", "0", "-1")


def test_linsert(d):
    fill(d, items="a b c b a")
    d.check("LINSERT", "l", "BEFORE", "b", "X")
    d.check("LINSERT", "l", "after", "b", "Y")
    d.check("LINSERT", "l", "AFTER", "a", "Z")
    d.check("LINSERT", "l", "BEFORE", "nope", "Z")
    d.check("LINSERT", "l", "MIDDLE", "a", "Z")
    d.check("LINSERT", "missing", "BEFORE", "a", "Z")
    d.check("LINSERT", "missing", "MIDDLE", "a", "Z")
    d.check("LRANGE", "l", "0", "-1")


def test_lrem(d):
    items = "a b a c a b a"
    for count in ("0", "1", "2", "-1", "-2", "100", "-100"):
        fill(d, items=items)
        d.check("LREM", "l", count, "a")
        d.check("LRANGE", "l", "0", "-1")
        d.check("DEL", "l")
    fill(d, items="x x")
    d.check("LREM", "l", "0", "x")
    d.check("EXISTS", "l")
    d.check("LREM", "l", "0", "x")
    d.check("LREM", "l", "abc", "x")
    fill(d, items="y")
    d.check("LREM", "l", "1", "nope")


def test_ltrim(d):
    cases = [("0", "-1"), ("1", "-2"), ("2", "2"), ("-2", "-1"), ("5", "1"), ("100", "200"), ("-100", "1"),
             ("0", "100"), ("-1", "0")]
    for start, stop in cases:
        fill(d, items="a b c d e f")
        d.check("LTRIM", "l", start, stop)
        d.check("LRANGE", "l", "0", "-1")
        d.check("EXISTS", "l")
        d.check("DEL", "l")
    d.check("LTRIM", "missing", "0", "1")
    d.check("LTRIM", "missing", "a", "1")
    d.check("LTRIM", "l", "0", "b")


def test_lpos(d):
    fill(d, items="a b c a b c a x")
    cases = [
        (), ("RANK", "1"), ("RANK", "2"), ("RANK", "4"), ("RANK", "-1"), ("RANK", "-3"), ("RANK", "-4"),
        ("COUNT", "0"), ("COUNT", "2"), ("COUNT", "10"), ("RANK", "2", "COUNT", "0"),
        ("RANK", "-1", "COUNT", "2"), ("MAXLEN", "1"), ("MAXLEN", "4", "COUNT", "0"),
        ("RANK", "-1", "MAXLEN", "2", "COUNT", "0"), ("rank", "1", "count", "1", "maxlen", "0"),
        ("RANK", "0"), ("RANK", "x"), ("COUNT", "-1"), ("COUNT", "x"), ("MAXLEN", "-1"), ("MAXLEN", "x"),
        ("RANK",), ("FOO", "1"), ("COUNT", "1", "RANK"),
        ("RANK", "-9223372036854775808"), ("RANK", "-9223372036854775808", "COUNT", "2"),
        ("RANK", "9223372036854775807"),
    ]
    for opts in cases:
        d.check("LPOS", "l", "a", *opts)
    d.check("LPOS", "l", "zz")
    d.check("LPOS", "l", "zz", "COUNT", "3")
    d.check("LPOS", "missing", "a")
    d.check("LPOS", "missing", "a", "COUNT", "0")
    d.check("LPOS", "missing", "a", "RANK", "0")


def test_lmove_and_rpoplpush(d):
    fill(d, "src", "a b c")
    for a in ("LEFT", "RIGHT"):
        for b in ("LEFT", "right"):
            d.check("LMOVE", "src", "dst", a, b)
    d.check("LRANGE", "src", "0", "-1")
    d.check("LRANGE", "dst", "0", "-1")
    d.check("RPOPLPUSH", "dst", "src")
    d.check("RPOPLPUSH", "missing", "src")
    d.check("LMOVE", "missing", "src", "LEFT", "LEFT")
    d.check("LMOVE", "src", "dst", "UP", "LEFT")
    d.check("LMOVE", "src", "dst", "LEFT", "DOWN")
    # Rotation within one list, down to a single element.
    fill(d, "r", "1 2 3")
    d.check("LMOVE", "r", "r", "LEFT", "RIGHT")
    d.check("RPOPLPUSH", "r", "r")
    d.check("LRANGE", "r", "0", "-1")
    fill(d, "one", "x")
    d.check("RPOPLPUSH", "one", "one")
    d.check("LRANGE", "one", "0", "-1")
    d.check("RPOPLPUSH", "dst", "fresh")
    d.check("RPOPLPUSH", "dst", "fresh")
    d.check("EXISTS", "dst")
    d.check("LRANGE", "fresh", "0", "-1")


def test_lmpop(d):
    fill(d, "a", "1 2 3")
    fill(d, "b", "4 5")
    d.check("LMPOP", "2", "missing", "a", "LEFT")
    d.check("LMPOP", "2", "missing", "a", "RIGHT", "COUNT", "10")
    d.check("LMPOP", "3", "x", "a", "b", "right", "count", "1")
    d.check("LMPOP", "1", "b", "LEFT", "COUNT", "5")
    d.check("LMPOP", "2", "a", "b", "LEFT")
    for bad in (
        ("0", "a", "LEFT"), ("-1", "a", "LEFT"), ("x", "a", "LEFT"), ("2", "a", "LEFT"),
        ("1", "a", "MIDDLE"), ("1", "a", "LEFT", "COUNT"), ("1", "a", "LEFT", "COUNT", "0"),
        ("1", "a", "LEFT", "COUNT", "-3"), ("1", "a", "LEFT", "COUNT", "x"),
        ("1", "a", "LEFT", "COUNT", "1", "COUNT", "1"), ("1", "a", "LEFT", "FOO"),
        ("99999999999999", "a", "LEFT"), ("1", "a", "b", "LEFT"),
    ):
        d.check("LMPOP", *bad)
    d.check("LMPOP", "1")
    d.check("LMPOP", "1", "a")


def test_blocking_forms_without_waiting(d):
    fill(d, "a", "1 2 3")
    d.check("BLPOP", "missing", "a", "0")
    d.check("BRPOP", "a", "0.5")
    d.check("BLMOVE", "a", "b", "LEFT", "RIGHT", "0")
    d.check("BRPOPLPUSH", "b", "c", "0")
    d.check("BLMPOP", "0", "2", "missing", "c", "LEFT", "COUNT", "3")
    d.check("EXISTS", "a", "b", "c")
    for bad in ("-1", "abc", "-0.5", "inf", "-inf", "1e20", "nan", "", "9223372036854775807", "1e16",
                "1e5000", "1e400", "-1e400", "1e-5000", " 1", "1 ", "0x", "-0x1p70"):
        d.check("BLPOP", "missing", bad)
        d.check("BRPOPLPUSH", "missing", "x", bad)
        d.check("BLMPOP", bad, "1", "missing", "LEFT")
    d.check("BLMPOP", "0", "0", "k", "LEFT")
    d.check("BLMPOP", "x", "1", "k", "LEFT")
    d.check("BLMPOP", "x", "1", "k", "MIDDLE")
    d.check("BLMOVE", "a", "b", "LEFT", "SIDEWAYS", "0")
    d.check("BLMOVE", "a", "b", "LEFT", "LEFT", "x")


def test_sub_millisecond_timeouts_round_up(d):
    """Redis 7.0 rounds a timeout up to whole milliseconds: 0.0001 waits 1 ms, it does not block forever."""
    for args in (("BLPOP", "missing", "0.0001"), ("BRPOP", "missing", "0.0009"),
                 ("BLMOVE", "missing", "x", "LEFT", "LEFT", "0.0001"), ("BLMPOP", "0.0001", "1", "missing", "LEFT"),
                 ("BRPOPLPUSH", "missing", "x", "1e-3")):
        d.check(*args)


def test_blocking_inside_multi(d):
    """Inside EXEC blocking commands answer at once: null array for pops, null bulk for moves."""
    d.check("MULTI")
    for cmd in (
        ("BLPOP", "missing", "0"), ("BRPOP", "missing", "other", "1"), ("BLMPOP", "0", "1", "missing", "LEFT"),
        ("BLMOVE", "missing", "dst", "LEFT", "LEFT", "0"), ("BRPOPLPUSH", "missing", "dst", "0"),
        ("RPUSH", "missing", "v"), ("BLPOP", "missing", "0"),
    ):
        d.check(*cmd)
    d.check("EXEC")


def test_emptied_lists_are_deleted(d):
    for cmd in (("LPOP", "l"), ("RPOP", "l", "3"), ("LTRIM", "l", "1", "0"), ("LREM", "l", "0", "a"),
                ("LMPOP", "1", "l", "LEFT", "COUNT", "9"), ("LMOVE", "l", "o", "LEFT", "LEFT")):
        d.check("RPUSH", "l", "a")
        d.check(*cmd)
        d.check("EXISTS", "l")
        d.check("TYPE", "l")


def test_binary_and_large_elements(d):
    big = "x" * 10000
    d.check("RPUSH", "l", "", "\x00\xff", big, "-0", "12", "1e5")
    d.check("LRANGE", "l", "0", "-1")
    d.check("LPOS", "l", "")
    d.check("LPOS", "l", "12")
    d.check("LREM", "l", "0", "")
    d.check("LINSERT", "l", "AFTER", big, "y")
    d.check("LINDEX", "l", "2")
    d.check("OBJECT", "ENCODING", "l")


def test_arity(d):
    for cmd in (("LPUSH", "l"), ("LPOP",), ("LRANGE", "l", "0"), ("LINSERT", "l", "BEFORE", "a"),
                ("LMOVE", "a", "b", "LEFT"), ("BLPOP", "l"), ("BLMOVE", "a", "b", "LEFT", "LEFT"),
                ("BLMPOP", "0", "1", "a"), ("LPOS", "l"), ("LMPOP", "1", "l")):
        d.check(*cmd)


def test_keyspace_hits_and_misses_counted_like_redis(diff):
    """Reads count hits and misses (INFO stats); writes and pops look keys up without counting."""
    diff.check("CONFIG", "RESETSTAT")
    diff.check("RPUSH", "l", "a", "b")
    diff.check("HSET", "h", "f", "v")
    for cmd in ("LRANGE l 0 -1", "LRANGE nol 0 1", "LLEN l", "LINDEX l 0", "LPOS l a", "LPOS nol a", "LPOP l",
                "HGET h f", "HGET noh f", "HMGET h f", "HEXISTS h f", "HSTRLEN h f", "HKEYS h", "HGETALL noh",
                "HSCAN h 0", "HRANDFIELD h", "HINCRBY h n 1", "HSETNX h f x", "HLEN h", "LMPOP 1 l LEFT",
                "BLPOP nol 0.01", "RPOPLPUSH l l2", "LSET l2 0 x", "HDEL noh f"):
        diff.call(*cmd.split())
    counts = []
    for conn in (diff.ours, diff.real):
        info = conn.call("INFO", "stats").decode()
        counts.append([line for line in info.split("\r\n") if line.startswith(("keyspace_hits", "keyspace_misses"))])
    assert counts[0] == counts[1]


def test_keyspace_event_stream_matches(diff):
    """Every event (keyspace and keyevent, new keys and misses included) in Redis's order."""
    from tests.differential.harness import RawConnection

    diff.check("CONFIG", "SET", "notify-keyspace-events", "KEAmn")
    subs = [RawConnection(port) for port in (diff.ours.sock.getpeername()[1], diff.real.sock.getpeername()[1])]
    try:
        for sub in subs:
            sub.call("PSUBSCRIBE", "*")
        script = [
            "RPUSH l a b c", "LPUSH l z", "LPUSHX l y", "RPUSHX nol y", "LINSERT l BEFORE a x", "LSET l 0 Z",
            "LREM l 1 x", "LTRIM l 0 2", "LMOVE l m RIGHT LEFT", "RPOPLPUSH m m", "LPOP l 1", "RPOP l",
            "LRANGE nol 0 1", "LMPOP 2 nol m LEFT COUNT 5", "BLPOP nol 0.01", "RPUSH q 1", "BRPOPLPUSH q q2 0",
            "BLMOVE q2 q3 LEFT RIGHT 0", "BLMPOP 0 1 q3 RIGHT", "HSET h a 1 b 2", "HSETNX h a 1", "HSETNX h c 3",
            "HMSET h d 4", "HINCRBY h a 5", "HINCRBYFLOAT h b 0.5", "HDEL h zz", "HDEL h a b", "HGET noh a",
            "HDEL h c d", "LTRIM m 5 10", "LREM nol 0 a",
        ]
        for cmd in script:
            diff.check(*cmd.split())
        diff.check("PING")
        streams = []
        for sub in subs:
            sub.sock.settimeout(0.3)
            events = []
            try:
                while True:
                    events.append(sub.read_reply())
            except TimeoutError:
                pass
            streams.append(events)
        assert streams[0] == streams[1]
        assert len(streams[0]) > 50
    finally:
        for sub in subs:
            sub.close()
        diff.check("CONFIG", "SET", "notify-keyspace-events", "")
