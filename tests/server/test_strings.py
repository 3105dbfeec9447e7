"""String and bit commands through a real socket with redis-py: values, options, expiry, errors.

Expected answers are worked out by hand from the commands' definitions (the
differential tests compare with redis-server; these pin the meaning down).
The long double helpers behind INCRBYFLOAT are tested directly at the end.
"""

from __future__ import annotations

import time
from fractions import Fraction

import pytest
import redis

from server.longdouble import LongDoubleError, format_human, parse, round_extended

BIG = 2**63 - 1


def error_of(r: redis.Redis, *args) -> str:
    with pytest.raises(redis.ResponseError) as info:
        r.execute_command(*args)
    return str(info.value)


# --------------------------------------------------------------------------- GET / SET


def test_set_get_binary_and_empty(r):
    value = bytes(range(256)) * 3
    assert r.set(b"\x00key\xff", value) is True
    assert r.get(b"\x00key\xff") == value
    assert r.set("empty", "") is True
    assert r.get("empty") == b""
    assert r.exists("empty") == 1
    assert r.get("missing") is None


def test_set_conditions_and_get(r):
    assert r.set("k", "a", nx=True) is True
    assert r.set("k", "b", nx=True) is None
    assert r.set("k", "c", xx=True) is True
    assert r.set("other", "c", xx=True) is None
    assert r.exists("other") == 0
    assert r.set("k", "d", get=True) == b"c"
    assert r.set("new", "v", get=True) is None
    assert r.get("new") == b"v"
    # NX with GET: the old value comes back and nothing is written.
    assert r.set("k", "e", nx=True, get=True) == b"d"
    assert r.get("k") == b"d"
    assert error_of(r, "SET", "k", "v", "NX", "XX") == "syntax error"
    assert error_of(r, "SET", "k", "v", "EX") == "syntax error"
    assert error_of(r, "SET", "k", "v", "EX", "10", "KEEPTTL") == "syntax error"
    assert error_of(r, "SET", "k", "v", "EX", "10", "PX", "10") == "syntax error"
    # The same option twice is accepted; the last expiry wins.
    assert r.execute_command("SET", "k", "v", "NX", "NX") is None
    r.execute_command("SET", "k", "w", "GET", "GET")  # (redis-py turns SET's reply into a bool)
    assert r.get("k") == b"w"


def test_set_expiry_errors(r):
    assert error_of(r, "SET", "k", "v", "EX", "0") == "invalid expire time in 'set' command"
    assert error_of(r, "SET", "k", "v", "PX", "-5") == "invalid expire time in 'set' command"
    assert error_of(r, "SET", "k", "v", "EX", str(BIG)) == "invalid expire time in 'set' command"
    assert error_of(r, "SET", "k", "v", "PX", str(BIG)) == "invalid expire time in 'set' command"
    assert error_of(r, "SET", "k", "v", "EX", "1.5") == "value is not an integer or out of range"
    assert error_of(r, "SETEX", "k", "0", "v") == "invalid expire time in 'setex' command"
    assert error_of(r, "PSETEX", "k", "-1", "v") == "invalid expire time in 'psetex' command"
    assert r.execute_command("GETEX", "k", "EX", "0") is None  # a missing key: the expiry is not looked at
    assert r.exists("k") == 0


def test_expiry_options_take_effect(r):
    r.set("px", "v", px=150)
    r.set("keep", "v", px=150)
    r.set("keep", "w", keepttl=True)
    r.set("drop", "v", px=150)
    r.set("drop", "w")
    r.psetex("ps", 150, "v")
    r.set("pxat", "v", pxat=int(time.time() * 1000) + 150)
    r.set("past", "v", exat=1)
    assert r.get("past") is None
    assert r.get("px") == b"v"
    time.sleep(0.3)
    assert r.get("px") is None
    assert r.get("keep") is None
    assert r.get("drop") == b"w"
    assert r.get("ps") is None
    assert r.get("pxat") is None


def test_incr_keeps_ttl_and_set_family_drops_it(r):
    r.set("n", "1", px=150)
    r.incr("n")
    r.append("n", "0")
    r.setrange("n", 0, "3")
    r.set("m", "1", px=150)
    r.getset("m", "2")
    time.sleep(0.3)
    assert r.get("n") is None
    assert r.get("m") == b"2"


def test_getex_getdel_getset(r):
    assert r.getex("missing", px=100) is None
    r.set("k", "v")
    assert r.getex("k", px=150) == b"v"
    r.set("p", "v", px=150)
    assert r.getex("p", persist=True) == b"v"
    assert error_of(r, "GETEX", "k", "PERSIST", "EX", "10") == "syntax error"
    assert error_of(r, "GETEX", "k", "KEEPTTL") == "syntax error"
    time.sleep(0.3)
    assert r.get("k") is None
    assert r.get("p") == b"v"
    r.set("past", "v")
    assert r.getex("past", exat=1) == b"v"
    assert r.exists("past") == 0
    assert r.getset("g", "1") is None
    assert r.getset("g", "2") == b"1"
    assert r.getdel("g") == b"2"
    assert r.getdel("g") is None
    assert r.exists("g") == 0


def test_mget_mset_msetnx(r):
    assert r.mset({"a": "1", "b": "2"}) is True
    assert r.mget("a", "b", "c") == [b"1", b"2", None]
    assert r.msetnx({"c": "3", "a": "x"}) is False
    assert r.get("c") is None
    assert r.msetnx({"c": "3", "d": "4"}) is True
    assert r.mget("c", "d") == [b"3", b"4"]
    # The last value for a repeated key wins.
    r.execute_command("MSET", "e", "1", "e", "2")
    assert r.get("e") == b"2"
    assert error_of(r, "MSET", "a", "1", "b") == "wrong number of arguments for 'mset' command"
    assert error_of(r, "MSETNX", "a") == "wrong number of arguments for 'msetnx' command"


def test_setnx(r):
    assert r.setnx("k", "a") is True
    assert r.setnx("k", "b") is False
    assert r.get("k") == b"a"


# --------------------------------------------------------------------------- numbers


def test_incr_family(r):
    assert r.incr("n") == 1
    assert r.incrby("n", 10) == 11
    assert r.decr("n") == 10
    assert r.decrby("n", 15) == -5
    assert r.get("n") == b"-5"
    r.set("n", str(BIG))
    assert error_of(r, "INCR", "n") == "increment or decrement would overflow"
    r.set("n", str(-(2**63)))
    assert error_of(r, "DECR", "n") == "increment or decrement would overflow"
    assert error_of(r, "DECRBY", "x", str(-(2**63))) == "decrement would overflow"
    for bad in ("abc", " 1", "1 ", "01", "1.0", "", "+1", "99999999999999999999"):
        r.set("s", bad)
        assert error_of(r, "INCR", "s") == "value is not an integer or out of range", bad
    assert error_of(r, "INCRBY", "n", "1x") == "value is not an integer or out of range"


@pytest.mark.parametrize(("start", "increment", "expected"), [
    (None, "0.1", b"0.1"),
    ("0.1", "0.2", b"0.3"),
    ("10.50", "0.1", b"10.6"),
    ("5.0e3", "2.0e2", b"5200"),
    ("3", "-1.1", b"1.9"),
    ("1", "-1", b"0"),
    ("0", "-0.000000000000000001", b"0"),
    ("0", "0x10", b"16"),
    ("7", ".5", b"7.5"),
    ("1e20", "1", b"100000000000000000000"),  # 1e20 + 1 needs 67 bits: rounds back
])
def test_incrbyfloat_values(r, start, increment, expected):
    if start is not None:
        r.set("f", start)
    assert r.execute_command("INCRBYFLOAT", "f", increment) == float(expected)  # redis-py parses the reply
    assert r.get("f") == expected


def test_incrbyfloat_errors(r):
    for bad in ("abc", "", " 1", "1 ", "nan", "1e", "1e5000", "1_0"):
        assert error_of(r, "INCRBYFLOAT", "f", bad) == "value is not a valid float", bad
    assert error_of(r, "INCRBYFLOAT", "f", "inf") == "increment would produce NaN or Infinity"
    r.set("f", "abc")
    assert error_of(r, "INCRBYFLOAT", "f", "1") == "value is not a valid float"


# --------------------------------------------------------------------------- ranges


def test_append_strlen(r):
    assert r.append("k", "Hello") == 5
    assert r.append("k", " World") == 11
    assert r.get("k") == b"Hello World"
    assert r.strlen("k") == 11
    assert r.strlen("missing") == 0
    assert r.append("e", "") == 0
    assert r.exists("e") == 1


def test_getrange(r):
    r.set("k", "This is a string")
    assert r.getrange("k", 0, 3) == b"This"
    assert r.getrange("k", -3, -1) == b"ing"
    assert r.getrange("k", 0, -1) == b"This is a string"
    assert r.getrange("k", 10, 100) == b"string"
    assert r.getrange("k", 5, 3) == b""
    assert r.getrange("k", -1, -5) == b""
    assert r.getrange("missing", 0, -1) == b""
    assert r.execute_command("SUBSTR", "k", 0, 3) == b"This"


def test_setrange(r):
    r.set("k", "Hello World")
    assert r.setrange("k", 6, "Redis") == 11
    assert r.get("k") == b"Hello Redis"
    assert r.setrange("pad", 3, "x") == 4
    assert r.get("pad") == b"\x00\x00\x00x"
    assert r.setrange("nothing", 5, "") == 0
    assert r.exists("nothing") == 0
    assert r.setrange("k", 100, "") == 11
    assert error_of(r, "SETRANGE", "k", "-1", "x") == "offset is out of range"
    assert error_of(r, "SETRANGE", "k", str(512 * 1024 * 1024), "x") == (
        "string exceeds maximum allowed size (proto-max-bulk-len)")
    assert error_of(r, "SETRANGE", "new", str(512 * 1024 * 1024 - 1), "xy") == (
        "string exceeds maximum allowed size (proto-max-bulk-len)")
    assert r.exists("new") == 0


def test_lcs(r, r3):
    r.mset({"key1": "ohmytext", "key2": "mynewtext"})
    assert r.execute_command("LCS", "key1", "key2") == b"mytext"
    assert r.execute_command("LCS", "key1", "key2", "LEN") == 6
    assert r.execute_command("LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN") == [
        b"matches", [[[4, 7], [5, 8], 4]], b"len", 6]
    assert r.execute_command("LCS", "key1", "key2", "IDX") == [
        b"matches", [[[4, 7], [5, 8]], [[2, 3], [0, 1]]], b"len", 6]
    assert r.execute_command("LCS", "key1", "missing") == b""
    assert error_of(r, "LCS", "key1", "key2", "LEN", "IDX") == (
        "If you want both the length and indexes, please just use IDX.")
    r3.mset({"key1": "ohmytext", "key2": "mynewtext"})
    assert r3.execute_command("LCS", "key1", "key2", "IDX") == {
        b"matches": [[[4, 7], [5, 8]], [[2, 3], [0, 1]]], b"len": 6}


# --------------------------------------------------------------------------- bits


def test_setbit_getbit(r):
    assert r.setbit("b", 7, 1) == 0
    assert r.get("b") == b"\x01"
    assert r.setbit("b", 7, 1) == 1
    assert r.getbit("b", 7) == 1
    assert r.getbit("b", 1000) == 0
    assert r.setbit("b", 17, 1) == 0
    assert r.get("b") == b"\x01\x00\x40"
    assert r.getbit("missing", 3) == 0
    r.set("n", "1")  # "1" is 0x31: bits 2, 3 and 7 set
    assert [r.getbit("n", i) for i in range(8)] == [0, 0, 1, 1, 0, 0, 0, 1]
    assert error_of(r, "SETBIT", "b", "0", "2") == "bit is not an integer or out of range"
    assert error_of(r, "SETBIT", "b", "-1", "1") == "bit offset is not an integer or out of range"
    assert error_of(r, "SETBIT", "b", str(2**32), "1") == "bit offset is not an integer or out of range"


def test_bitcount_bitpos(r):
    r.set("k", "foobar")
    assert r.bitcount("k") == 26
    assert r.bitcount("k", 0, 0) == 4
    assert r.bitcount("k", 1, 1) == 6
    assert r.execute_command("BITCOUNT", "k", 5, 30, "BIT") == 17
    assert r.bitcount("missing") == 0
    r.set("p", b"\xff\xf0\x00")
    assert r.bitpos("p", 0) == 12
    assert r.bitpos("p", 1, 2) == -1
    assert r.bitpos("p", 0, 0, 0) == -1
    assert r.execute_command("BITPOS", "p", 1, 7, 15, "BIT") == 7
    r.set("ones", b"\xff")
    assert r.bitpos("ones", 0) == 8  # past the end: the string continues with zeros
    assert r.bitpos("ones", 0, 0, -1) == -1  # an explicit end does not
    assert r.bitpos("missing", 0) == 0
    assert r.bitpos("missing", 1) == -1
    assert error_of(r, "BITPOS", "p", "2") == "The bit argument must be 1 or 0."


def test_bitop(r):
    r.set("a", b"\x0f\xff")
    r.set("b", b"\xf0")
    assert r.bitop("AND", "d", "a", "b") == 2
    assert r.get("d") == b"\x00\x00"
    assert r.bitop("OR", "d", "a", "b") == 2
    assert r.get("d") == b"\xff\xff"
    assert r.bitop("XOR", "d", "a", "b") == 2
    assert r.get("d") == b"\xff\xff"
    assert r.bitop("NOT", "d", "b") == 1
    assert r.get("d") == b"\x0f"
    assert r.bitop("OR", "d", "missing") == 0
    assert r.exists("d") == 0
    assert error_of(r, "BITOP", "NOT", "d", "a", "b") == "BITOP NOT must be called with a single source key."
    assert error_of(r, "BITOP", "NAND", "d", "a") == "syntax error"


def test_bitfield(r):
    bf = r.bitfield("k")
    assert bf.set("u8", 0, 255).get("u8", 0).incrby("u8", 0, 1).execute() == [0, 255, 0]
    assert r.bitfield("k").set("i8", "#1", -100).get("i8", "#1").get("u8", 8).execute() == [0, -100, 156]
    assert r.bitfield("k", default_overflow="SAT").incrby("u8", 0, 300).incrby("i8", 8, -300).execute() == [255, -128]
    assert r.bitfield("k", default_overflow="FAIL").incrby("u8", 0, 1).execute() == [None]
    assert r.bitfield("k").incrby("u2", 100, 5).execute() == [1]  # 5 wraps to 1 in two bits
    assert r.bitfield("k").set("i64", 0, -(2**63)).incrby("i64", 0, -1).execute() == [
        int.from_bytes(b"\xff\x80\x00\x00\x00\x00\x00\x00", "big", signed=True), BIG]
    assert r.execute_command("BITFIELD_RO", "k", "GET", "u8", "8") == [255]
    # Redis's overflow test computes max - value in 64 bits, which wraps for values near -2**63:
    # such a value saturates to the field's maximum, not its minimum.
    assert r.bitfield("q", default_overflow="SAT").set("i8", 0, -(2**63)).get("i8", 0).execute() == [0, 127]
    assert r.bitfield("q", default_overflow="SAT").set("i8", 0, -1000).get("i8", 0).execute() == [127, -128]
    assert error_of(r, "BITFIELD_RO", "k", "SET", "u8", "0", "1") == "BITFIELD_RO only supports the GET subcommand"
    assert error_of(r, "BITFIELD", "k", "GET", "u64", "0") == (
        "Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.")
    assert error_of(r, "BITFIELD", "k", "OVERFLOW", "MAYBE") == "Invalid OVERFLOW type specified"
    assert error_of(r, "BITFIELD", "k", "GET", "u8", "#x") == "bit offset is not an integer or out of range"


def test_wrong_type_is_refused(r):
    """Every string command refuses a key of another type (where our server has one)."""
    makers = [("RPUSH", "w", "x"), ("SADD", "w", "x"), ("HSET", "w", "f", "v")]
    for maker in makers:
        try:
            r.execute_command(*maker)
            break
        except redis.ResponseError:
            continue
    else:
        pytest.fail("a collection command is needed to stand for a wrong type")
    wrongtype = "WRONGTYPE Operation against a key holding the wrong kind of value"
    for cmd in (("GET", "w"), ("APPEND", "w", "x"), ("INCR", "w"), ("INCRBYFLOAT", "w", "1"), ("STRLEN", "w"),
                ("GETRANGE", "w", "0", "1"), ("SETRANGE", "w", "0", "x"), ("GETDEL", "w"), ("GETEX", "w"),
                ("SET", "w", "v", "GET"), ("SETBIT", "w", "0", "1"), ("GETBIT", "w", "0"), ("BITCOUNT", "w"),
                ("BITPOS", "w", "1"), ("BITOP", "OR", "d", "w"), ("BITFIELD", "w", "GET", "u8", "0")):
        assert error_of(r, *cmd) == wrongtype, cmd
    assert r.mget("w") == [None]
    assert error_of(r, "LCS", "w", "x") == "The specified keys must contain string values"


def test_pipeline_mixes_commands(r):
    pipe = r.pipeline(transaction=False)
    pipe.set("a", "1").incr("a").append("a", "0").getrange("a", 0, -1).setbit("a", 0, 1).bitcount("a")
    assert pipe.execute() == [True, 2, 2, b"20", 0, 6]


# --------------------------------------------------------------------------- long double helpers


def test_long_double_parse_and_format():
    assert format_human(round_extended(parse(b"0.1") + parse(b"0.2"))) == b"0.3"
    assert format_human(parse(b"-0.0")) == b"0"
    assert format_human(parse(b"1e-20")) == b"0"
    assert format_human(parse(b"-1e-20")) == b"0"
    assert format_human(parse(b"123456789.125")) == b"123456789.125"
    assert parse(b"0x1p-2") == Fraction(1, 4)
    assert parse(b"inf") == float("inf") and parse(b"-Infinity") == float("-inf")
    for bad in (b"", b" 1", b"1 ", b"nan", b"1e", b".", b"e5", b"0x", b"1e99999", b"1e-99999", b"1/2"):
        with pytest.raises(LongDoubleError):
            parse(bad)
    # 64 significant bits: 2**64 + 1 is not representable and rounds to even.
    assert round_extended(Fraction(2**64 + 1)) == 2**64
    assert round_extended(Fraction(2**64 + 3)) == 2**64 + 4
    assert round_extended(Fraction(2**16384)) == float("inf")


def test_set_strings_leaves_what_a_set_per_key_leaves():
    """MSET's ``Database.set_strings`` is ``set``'s steps in one loop: on two servers, the same
    keys set by it and by a ``set`` per key leave the same data, memory count, SCAN order (its
    compaction included), dirty count, WATCH marks and "new" events."""
    from server.datatypes.list import ListValue
    from server.keyspace import MIN_STALE, NOTIFY_NEW
    from server.main import build_server

    states = []
    for bulk in (True, False):
        server = build_server(["--save", ""])
        db = server.keyspace.dbs[0]
        events: list[bytes] = []
        server.keyspace.notify_hook = lambda kind, event, key, dbid, events=events: events.append(event + b":" + key)
        server.keyspace.notify_flags = NOTIFY_NEW
        for i in range(40):
            db.set(b"old%d" % i, b"x" * i)
        db.set(b"list", ListValue([b"a", b"b"]))
        for i in range(30):
            db.delete(b"old%d" % i)
        db.order.extend([b"gone"] * (MIN_STALE + 100))  # stale SCAN entries: the loop below compacts them
        watcher = server.new_client("127.0.0.1:1")
        server.watches.watch(watcher, b"old35")
        db.order_limit = len(db.order) + 3
        dirty = server.keyspace.dirty
        pairs = [(b"old35", b"new"), (b"list", b"now a string"), *[(b"k%d" % i, b"v%d" % i) for i in range(10)]]
        if bulk:
            db.set_strings(iter(pairs))
        else:
            for key, value in pairs:
                db.set(key, value)
        states.append((dict(db.data), db.used, list(db.order), server.keyspace.dirty - dirty, events,
                       watcher.watch_dirty, db.generation))
    assert states[0] == states[1]
    assert len(states[0][2]) < MIN_STALE  # (compacted)
    assert states[0][3] == 12 and states[0][4][-1] == b"new:k9" and states[0][5] is True
