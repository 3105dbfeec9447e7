"""Hypothesis state machines: random command sequences sent to our server and redis-server.

One machine per family. Each rule sends one command with generated arguments
to both servers and asserts byte-identical replies (as multisets for the
replies whose order Redis leaves to its hash table). Keys, elements and
indexes come from small pools so that commands collide on the same data, hit
both ends of lists, empty them, and meet the wrong type. Bounded: a few dozen
sequences of a few dozen steps each.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test

from tests.differential.harness import Differ, parse

KEYS = st.sampled_from(["k1", "k2", "k3", "str"])
ELEMENTS = st.sampled_from(["a", "b", "c", "", "1", "-2", "x" * 70])
INDEXES = st.integers(min_value=-8, max_value=8)
SIDES = st.sampled_from(["LEFT", "RIGHT", "left", "MIDDLE"])
COUNTS = st.integers(min_value=-3, max_value=6)
FIELDS = st.sampled_from(["f1", "f2", "f3", "n", "", "long-field-" + "y" * 60])
NUMBERS = st.sampled_from(["1", "-5", "0", "2.5", "1e3", "abc", "9223372036854775807", "-0.1", "inf"])
SETTINGS = settings(max_examples=25, stateful_step_count=30, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


class Family(RuleBasedStateMachine):
    """Shared set-up: one connection pair, flushed, with a string key for WRONGTYPE cases."""

    ports: tuple[int, int] = (0, 0)
    resp: int = 2

    def __init__(self) -> None:
        super().__init__()
        self.d = Differ(*self.ports, resp=self.resp)

    @initialize()
    def start(self) -> None:
        self.d.flush()
        self.d.check("SET", "str", "v")

    def teardown(self) -> None:
        self.d.close()

    def unordered(self, *args) -> None:
        """Compare a reply whose order Redis leaves to its hash table: errors exactly, else as multisets."""
        mine, theirs = self.d.call(*args, compare=False)
        if mine[:1] == b"-" or theirs[:1] == b"-":
            assert mine == theirs, (args, mine, theirs)
            return
        assert _multiset(parse(mine)) == _multiset(parse(theirs)), (args, mine, theirs)


def _multiset(value) -> object:
    """A reply with every array (and map) sorted, recursively, so order does not matter."""
    if isinstance(value, dict):
        value = [x for pair in value.items() for x in pair]
    if isinstance(value, list):
        return sorted((_multiset(v) for v in value), key=repr)
    return value


class Lists(Family):
    @rule(key=KEYS, left=st.booleans(), items=st.lists(ELEMENTS, min_size=1, max_size=4), x=st.booleans())
    def push(self, key, left, items, x):
        name = ("L" if left else "R") + "PUSH" + ("X" if x else "")
        self.d.check(name, key, *items)

    @rule(key=KEYS, left=st.booleans(), count=st.none() | COUNTS)
    def pop(self, key, left, count):
        args = [] if count is None else [str(count)]
        self.d.check("LPOP" if left else "RPOP", key, *args)

    @rule(key=KEYS, start=INDEXES, stop=INDEXES)
    def lrange(self, key, start, stop):
        self.d.check("LRANGE", key, start, stop)

    @rule(key=KEYS, start=INDEXES, stop=INDEXES)
    def ltrim(self, key, start, stop):
        self.d.check("LTRIM", key, start, stop)

    @rule(key=KEYS, index=INDEXES, value=ELEMENTS)
    def index_and_set(self, key, index, value):
        self.d.check("LINDEX", key, index)
        self.d.check("LSET", key, index, value)

    @rule(key=KEYS, where=st.sampled_from(["BEFORE", "AFTER", "after", "NEAR"]), pivot=ELEMENTS, value=ELEMENTS)
    def linsert(self, key, where, pivot, value):
        self.d.check("LINSERT", key, where, pivot, value)

    @rule(key=KEYS, count=COUNTS, value=ELEMENTS)
    def lrem(self, key, count, value):
        self.d.check("LREM", key, count, value)

    @rule(key=KEYS, value=ELEMENTS, rank=st.sampled_from([None, 1, 2, -1, -2, 0]),
          count=st.sampled_from([None, 0, 1, 3]), maxlen=st.sampled_from([None, 0, 2]))
    def lpos(self, key, value, rank, count, maxlen):
        args = []
        for name, v in (("RANK", rank), ("COUNT", count), ("MAXLEN", maxlen)):
            if v is not None:
                args += [name, v]
        self.d.check("LPOS", key, value, *args)

    @rule(src=KEYS, dst=KEYS, a=SIDES, b=SIDES, blocking=st.booleans())
    def lmove(self, src, dst, a, b, blocking):
        if blocking:
            # Inside MULTI so an empty source answers at once instead of waiting.
            self.d.check("MULTI")
            self.d.check("BLMOVE", src, dst, a, b, "0")
            self.d.check("EXEC")
        else:
            self.d.check("LMOVE", src, dst, a, b)

    @rule(src=KEYS, dst=KEYS)
    def rpoplpush(self, src, dst):
        self.d.check("RPOPLPUSH", src, dst)

    @rule(keys=st.lists(KEYS, min_size=1, max_size=3), side=SIDES, count=st.none() | COUNTS)
    def mpop(self, keys, side, count):
        args = [] if count is None else ["COUNT", count]
        self.d.check("LMPOP", len(keys), *keys, side, *args)

    @rule(keys=st.lists(KEYS, min_size=1, max_size=3), left=st.booleans())
    def bpop(self, keys, left):
        self.d.check("BLPOP" if left else "BRPOP", *keys, "0.01")

    @rule(key=KEYS)
    def inspect(self, key):
        self.d.check("LLEN", key)
        self.d.check("TYPE", key)
        self.d.check("EXISTS", key)


class Hashes(Family):
    @rule(key=KEYS, pairs=st.lists(st.tuples(FIELDS, ELEMENTS), min_size=1, max_size=3), old=st.booleans())
    def hset(self, key, pairs, old):
        flat = [x for pair in pairs for x in pair]
        self.d.check("HMSET" if old else "HSET", key, *flat)

    @rule(key=KEYS, field=FIELDS, value=ELEMENTS)
    def hsetnx(self, key, field, value):
        self.d.check("HSETNX", key, field, value)

    @rule(key=KEYS, fields=st.lists(FIELDS, min_size=1, max_size=3))
    def hdel(self, key, fields):
        self.d.check("HDEL", key, *fields)

    @rule(key=KEYS, field=FIELDS, amount=NUMBERS, floating=st.booleans())
    def hincr(self, key, field, amount, floating):
        self.d.check("HINCRBYFLOAT" if floating else "HINCRBY", key, field, amount)

    @rule(key=KEYS, fields=st.lists(FIELDS, min_size=1, max_size=3))
    def reads(self, key, fields):
        self.d.check("HGET", key, fields[0])
        self.d.check("HMGET", key, *fields)
        self.d.check("HEXISTS", key, fields[0])
        self.d.check("HSTRLEN", key, fields[0])

    @rule(key=KEYS)
    def whole(self, key):
        self.d.check("HLEN", key)
        self.d.check("OBJECT", "ENCODING", key)
        for name in ("HGETALL", "HKEYS", "HVALS"):
            self.unordered(name, key)
        # Small enough that both servers return everything in one call, cursor 0.
        self.unordered("HSCAN", key, "0", "COUNT", "100")

    @rule(key=KEYS, count=st.sampled_from([0, 50, -0]), withvalues=st.booleans())
    def hrandfield_whole(self, key, count, withvalues):
        """Only the deterministic cases: nothing, or the whole hash."""
        args = [count] + (["WITHVALUES"] if withvalues else [])
        self.unordered("HRANDFIELD", key, *args)


def _run(machine: type[Family], ours, real, resp: int) -> None:
    machine.ports = (ours.port, real.port)
    machine.resp = resp
    run_state_machine_as_test(machine, settings=SETTINGS)


def test_list_state_machine(ours, real):
    _run(Lists, ours, real, 2)


def test_list_state_machine_resp3(ours, real):
    _run(Lists, ours, real, 3)


def test_hash_state_machine(ours, real):
    _run(Hashes, ours, real, 2)


def test_hash_state_machine_resp3(ours, real):
    _run(Hashes, ours, real, 3)
