"""Generated sequences of string and bit commands, run on our server and on redis-server.

A hypothesis state machine draws commands over three keys (values, numbers,
offsets, options and deliberately wrong arguments), sends each to both
servers over raw connections and requires byte-identical replies. Expiry is
drawn far in the future or already past, so no reply depends on timing.
"""

from __future__ import annotations

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule

from tests.differential.harness import RawConnection
from tests.differential.machines import run_machine

KEYS = st.sampled_from(["a", "b", "c"])
VALUES = st.one_of(
    st.binary(max_size=12),
    st.sampled_from([b"0", b"1", b"-7", b"42", b"9223372036854775807", b"-9223372036854775808", b"1.5",
                     b"ohmytext", b"mynewtext", b"\xff\xf0\x00", b" 3", b"1e3"]),
)
INTS = st.one_of(st.integers(-20, 20), st.sampled_from([2**63 - 1, -(2**63), 2**62, -(2**62), 1000]))
OFFSETS = st.integers(-3, 40)
NUMBER_TEXT = st.one_of(
    INTS.map(str),
    st.sampled_from(["x", "", "1.5", "01", "+1", " 1", "9223372036854775808"]),
)
FLOAT_TEXT = st.one_of(
    st.decimals(min_value=-1000, max_value=1000, places=3, allow_nan=False).map(str),
    st.sampled_from(["0.1", "-0.1", "1e3", "5.0e-2", "inf", "abc", "1e400", "0x10", "3", ".5"]),
)
EXPIRY = st.sampled_from([
    [], ["EX", "1000"], ["PX", "1000000"], ["EXAT", "99999999999"], ["PXAT", "99999999999999"],
    ["EXAT", "1"], ["PXAT", "1"], ["EX", "0"], ["EX", "x"], ["EX"], ["KEEPTTL"], ["PERSIST"],
])
CONDITION = st.sampled_from([[], ["NX"], ["XX"], ["GET"], ["NX", "GET"], ["XX", "GET"], ["NX", "XX"], ["FOO"]])
UNIT = st.sampled_from([[], ["BYTE"], ["BIT"], ["bit"], ["FOO"]])
BF_TYPE = st.sampled_from(["u1", "u3", "u8", "i4", "i8", "i16", "u63", "i64", "u64", "x8"])
BF_OFFSET = st.one_of(st.integers(0, 40).map(str), st.integers(0, 5).map(lambda n: f"#{n}"), st.just("-1"))
BF_OP = st.one_of(
    st.tuples(st.just("GET"), BF_TYPE, BF_OFFSET),
    st.tuples(st.just("SET"), BF_TYPE, BF_OFFSET, INTS.map(str)),
    st.tuples(st.just("INCRBY"), BF_TYPE, BF_OFFSET, INTS.map(str)),
    st.tuples(st.just("OVERFLOW"), st.sampled_from(["WRAP", "SAT", "FAIL", "BAD"])),
)


class StringMachine(RuleBasedStateMachine):
    """Each rule sends one command to both servers and compares the raw replies."""

    ours_port = 0
    real_port = 0

    def __init__(self) -> None:
        super().__init__()
        self.ours = RawConnection(self.ours_port)
        self.real = RawConnection(self.real_port)
        # A non-string value for WRONGTYPE paths, if our server has a collection type yet.
        self.maker = next((m for m in (("RPUSH", "x"), ("SADD", "x"), ("HSET", "f", "v"))
                           if self.ours.call("COMMAND", "INFO", m[0])[4:5] == b"*"), None)

    def same(self, *args) -> None:
        mine = self.ours.call(*args)
        theirs = self.real.call(*args)
        assert mine == theirs, f"{args!r}:\n  ours={mine!r}\n  real={theirs!r}"

    def teardown(self) -> None:
        self.ours.close()
        self.real.close()

    @initialize()
    def empty(self) -> None:
        self.ours.call("FLUSHALL")
        self.real.call("FLUSHALL")

    @rule(key=KEYS)
    def wrong_type(self, key):
        if self.maker is not None:
            self.same("DEL", key)
            self.same(self.maker[0], key, *self.maker[1:])

    @rule(key=KEYS, value=VALUES, condition=CONDITION, expiry=EXPIRY)
    def set(self, key, value, condition, expiry):
        self.same("SET", key, value, *condition, *expiry)

    @rule(key=KEYS, command=st.sampled_from(["GET", "STRLEN", "GETDEL", "EXISTS"]))
    def read(self, key, command):
        self.same(command, key)

    @rule(key=KEYS, expiry=EXPIRY)
    def getex(self, key, expiry):
        self.same("GETEX", key, *expiry)

    @rule(key=KEYS, value=VALUES, command=st.sampled_from(["GETSET", "SETNX", "APPEND"]))
    def write(self, key, value, command):
        self.same(command, key, value)

    @rule(key=KEYS, ttl=st.sampled_from(["1000", "0", "-5", "x"]), value=VALUES,
          command=st.sampled_from(["SETEX", "PSETEX"]))
    def setex(self, key, ttl, value, command):
        self.same(command, key, ttl if command == "SETEX" or ttl != "1000" else "1000000", value)

    @rule(keys=st.lists(KEYS, min_size=1, max_size=4))
    def mget(self, keys):
        self.same("MGET", *keys)

    @rule(pairs=st.lists(st.tuples(KEYS, VALUES), min_size=1, max_size=3), nx=st.booleans())
    def mset(self, pairs, nx):
        self.same("MSETNX" if nx else "MSET", *[x for pair in pairs for x in pair])

    @rule(key=KEYS, command=st.sampled_from(["INCR", "DECR"]))
    def incr(self, key, command):
        self.same(command, key)

    @rule(key=KEYS, amount=NUMBER_TEXT, command=st.sampled_from(["INCRBY", "DECRBY"]))
    def incrby(self, key, amount, command):
        self.same(command, key, amount)

    @rule(key=KEYS, amount=FLOAT_TEXT)
    def incrbyfloat(self, key, amount):
        self.same("INCRBYFLOAT", key, amount)

    @rule(key=KEYS, start=INTS, end=INTS, command=st.sampled_from(["GETRANGE", "SUBSTR"]))
    def getrange(self, key, start, end, command):
        self.same(command, key, start, end)

    @rule(key=KEYS, offset=OFFSETS, value=VALUES)
    def setrange(self, key, offset, value):
        self.same("SETRANGE", key, offset, value)

    @rule(a=KEYS, b=KEYS, options=st.lists(st.sampled_from(["LEN", "IDX", "WITHMATCHLEN", "MINMATCHLEN"]), max_size=3),
          min_len=st.integers(-1, 4))
    def lcs(self, a, b, options, min_len):
        args = []
        for opt in options:
            args.append(opt)
            if opt == "MINMATCHLEN":
                args.append(min_len)
        self.same("LCS", a, b, *args)

    @rule(key=KEYS, offset=st.integers(-1, 100), bit=st.sampled_from(["0", "1", "2", "x"]))
    def setbit(self, key, offset, bit):
        self.same("SETBIT", key, offset, bit)

    @rule(key=KEYS, offset=st.integers(-1, 100))
    def getbit(self, key, offset):
        self.same("GETBIT", key, offset)

    @rule(key=KEYS, bounds=st.lists(INTS, max_size=2), unit=UNIT)
    def bitcount(self, key, bounds, unit):
        self.same("BITCOUNT", key, *bounds, *(unit if len(bounds) == 2 else []))

    @rule(key=KEYS, bit=st.sampled_from(["0", "1", "2"]), bounds=st.lists(st.integers(-20, 40), max_size=2),
          unit=UNIT)
    def bitpos(self, key, bit, bounds, unit):
        self.same("BITPOS", key, bit, *bounds, *(unit if len(bounds) == 2 else []))

    @rule(op=st.sampled_from(["AND", "OR", "XOR", "NOT", "nand"]), dest=KEYS,
          sources=st.lists(KEYS, min_size=1, max_size=3))
    def bitop(self, op, dest, sources):
        self.same("BITOP", op, dest, *sources)

    @rule(key=KEYS, value=VALUES, offset=OFFSETS)
    def transaction(self, key, value, offset):
        """Replies queued in MULTI are the values at the time each command ran."""
        for cmd in (("MULTI",), ("GET", key), ("APPEND", key, value), ("MGET", key), ("SETRANGE", key, offset, value),
                    ("GETEX", key), ("SETBIT", key, 1, 1), ("GET", key), ("EXEC",)):
            self.same(*cmd)

    @rule(key=KEYS, ops=st.lists(BF_OP, max_size=4), read_only=st.booleans())
    def bitfield(self, key, ops, read_only):
        self.same("BITFIELD_RO" if read_only else "BITFIELD", key, *[x for op in ops for x in op])


@pytest.mark.parametrize("resp", [2, 3])
def test_string_commands_match_redis(ours, real, resp):
    class Machine(StringMachine):
        def __init__(self) -> None:
            super().__init__()
            if resp == 3:
                self.ours.call("HELLO", "3")
                self.real.call("HELLO", "3")

    run_machine(Machine, ours, real, 30, 30)
