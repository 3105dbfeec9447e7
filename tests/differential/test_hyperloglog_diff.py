"""HyperLogLog commands compared with redis-server: replies and the HLL strings themselves, byte for byte.

PF commands store Redis's HYLL representation in an ordinary string, so after
every step ``GET`` must return the very same bytes on both servers (sparse
opcodes, dense registers, the cached cardinality). The hypothesis machine also
moves HLLs across (GET on one server, SET on the other) and lowers
``hll-sparse-max-bytes`` so the sparse → dense promotion happens often.
"""

from __future__ import annotations

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule

from tests.differential.harness import RawConnection, parse
from tests.differential.machines import run_machine

KEYS = ["h1", "h2", "h3"]


def _elements(n: int, tag: str = "e") -> list[str]:
    return [f"{tag}{i}" for i in range(n)]


def _copy(src: RawConnection, dst: RawConnection, key: str, dst_key: str | None = None) -> None:
    value = parse(src.call("GET", key))
    assert dst.call("SET", dst_key or key, value) == b"+OK\r\n"


def test_pfadd_pfcount_and_the_strings(diff):
    diff.check("PFADD", "h")
    diff.check("GET", "h")
    diff.check("PFCOUNT", "h")
    diff.check("PFADD", "h", "a", "b", "c")
    diff.check("PFADD", "h", "a")
    diff.check("GET", "h")
    diff.check("PFCOUNT", "h")
    diff.check("GET", "h")  # the cached cardinality, now valid
    diff.check("PFCOUNT", "nokey")
    diff.check("PFADD", "big", *_elements(2000))
    diff.check("PFDEBUG", "ENCODING", "big")
    diff.check("GET", "big")
    diff.check("PFCOUNT", "big")
    diff.check("PFCOUNT", "h", "big", "nokey")
    diff.check("OBJECT", "ENCODING", "big")
    diff.check("STRLEN", "big")


def test_every_element_length_hashes_as_redis(diff):
    """MurmurHash64A reads an element under 16 bytes from one int and longer ones word by word:
    every length up to 40 bytes (each tail length, one to five words) sets the register
    redis-server sets, in the sparse encoding and then the dense one."""
    for key, extra in (("sparse", []), ("dense", ["PFDEBUG", "TODENSE", "dense"])):
        if extra:
            diff.check("PFADD", key)
            diff.check(*extra)
        for n in range(41):
            diff.check("PFADD", key, "q" * n, "".join(chr(48 + (i * 7 + n) % 75) for i in range(n)))
        diff.check("GET", key)
        diff.check("PFCOUNT", key)


def test_promotion_to_dense(diff):
    for size in ("3000", "300"):
        diff.check("CONFIG", "SET", "hll-sparse-max-bytes", size)
        diff.flush()
        for i in range(0, 4000, 250):
            diff.check("PFADD", "h", *_elements(250, f"x{i}-"))
            diff.check("PFDEBUG", "ENCODING", "h")
        diff.check("GET", "h")
        diff.check("PFCOUNT", "h")
    diff.check("CONFIG", "SET", "hll-sparse-max-bytes", "3000")


def test_pfmerge_sparse_and_dense(diff):
    diff.check("PFADD", "a", *_elements(100, "a"))
    diff.check("PFADD", "b", *_elements(150, "b"))
    diff.check("PFADD", "c", *_elements(5000, "c"))
    diff.check("PFMERGE", "s", "a", "b")
    diff.check("GET", "s")
    diff.check("PFDEBUG", "ENCODING", "s")
    diff.check("PFMERGE", "a", "b")  # into an existing sparse HLL
    diff.check("GET", "a")
    diff.check("PFMERGE", "d", "a", "c", "nokey")
    diff.check("PFDEBUG", "ENCODING", "d")
    diff.check("GET", "d")
    diff.check("PFCOUNT", "d")
    diff.check("PFCOUNT", "a", "b", "c")
    diff.check("PFMERGE", "empty")
    diff.check("GET", "empty")
    diff.check("PFMERGE", "b", "nokey")
    diff.check("GET", "b")


def test_pfdebug(diff):
    diff.check("PFDEBUG", "GETREG", "nokey")
    diff.check("PFADD", "h", "a", "b", "c", "d")
    diff.check("PFDEBUG", "DECODE", "h")
    diff.check("PFDEBUG", "ENCODING", "h")
    diff.check("PFDEBUG", "FOO", "h")
    diff.check("PFDEBUG", "TODENSE", "h")
    diff.check("PFDEBUG", "TODENSE", "h")
    diff.check("PFDEBUG", "DECODE", "h")
    diff.check("GET", "h")
    diff.check("PFADD", "g", "x", "y")
    diff.check("PFDEBUG", "GETREG", "g")
    diff.check("GET", "g")
    diff.check("PFDEBUG", "GETREG", "g", "extra")
    diff.check("PFDEBUG", "GETREG")
    diff.check("SET", "s", "plain")
    diff.check("PFDEBUG", "ENCODING", "s")


def test_wrong_types_and_corrupt_values(diff):
    diff.check("SET", "s", "not an hll at all, longer than a header")
    diff.check("SET", "short", "HYLL")
    diff.check("LPUSH", "l", "x")
    for cmd in (("PFADD", "s", "a"), ("PFCOUNT", "s"), ("PFCOUNT", "l"), ("PFADD", "l", "a"),
                ("PFMERGE", "d", "s"), ("PFMERGE", "l", "nokey"), ("PFCOUNT", "nokey", "short"),
                ("PFADD", "short", "x"), ("PFCOUNT", "s", "l")):
        diff.check(*cmd)
    # A sparse HLL whose opcodes cover too few registers, a dense one of the wrong size,
    # an unknown encoding byte, a VAL run past the last register.
    header_sparse = "HYLL\x01\x00\x00\x00" + "\x00" * 7 + "\x80"
    header_dense = "HYLL\x00\x00\x00\x00" + "\x00" * 8
    diff.check("SET", "bad1", header_sparse + "\x7f\xfe")
    diff.check("SET", "bad2", header_dense + "\x00" * 10)
    diff.check("SET", "bad3", "HYLL\x02\x00\x00\x00" + "\x00" * 8 + "\x7f\xff")
    diff.check("SET", "bad4", header_sparse + "\x7f\xfe" + "\xff")
    diff.check("SET", "bad5", header_sparse)
    for key in ("bad1", "bad2", "bad3", "bad4", "bad5"):
        diff.check("PFCOUNT", key)
        diff.check("PFCOUNT", key, "nokey")
        diff.check("PFADD", key, "a", "b")
        diff.check("PFMERGE", "dst", key)
        diff.check("PFDEBUG", "TODENSE", key)
        diff.check("PFDEBUG", "DECODE", key)
        diff.check("GET", key)
    diff.check("EXISTS", "dst")


def test_values_move_between_servers(ours, real):
    """An HLL written by either server reads the same on the other (GET/SET and DUMP/RESTORE)."""
    a, b = RawConnection(ours.port), RawConnection(real.port)
    try:
        for conn in (a, b):
            conn.call("FLUSHALL")
        for src, dst in ((a, b), (b, a)):
            src.call("PFADD", "small", *_elements(30, "s"))
            src.call("PFADD", "dense", *_elements(3000, "d"))
            for key in ("small", "dense"):
                _copy(src, dst, key, f"copy-{key}")
                assert src.call("PFCOUNT", key) == dst.call("PFCOUNT", f"copy-{key}")
                assert src.call("PFADD", key, "more", "x", "y") == dst.call("PFADD", f"copy-{key}", "more", "x", "y")
                assert src.call("GET", key) == dst.call("GET", f"copy-{key}")
                dump = parse(src.call("DUMP", key))
                assert dst.call("RESTORE", f"restored-{key}", "0", dump, "REPLACE") == b"+OK\r\n"
                assert dst.call("GET", f"restored-{key}") == src.call("GET", key)
                assert dst.call("PFCOUNT", f"restored-{key}") == src.call("PFCOUNT", key)
    finally:
        a.close()
        b.close()


def test_pfselftest(ours):
    conn = RawConnection(ours.port)
    try:
        assert conn.call("PFSELFTEST") == b"+OK\r\n"
    finally:
        conn.close()


def test_resp3_replies(ours, real):
    from tests.differential.harness import Differ

    diff = Differ(ours.port, real.port, resp=3)
    try:
        diff.flush()
        diff.check("PFADD", "h", "a", "b")
        diff.check("PFCOUNT", "h")
        diff.check("PFDEBUG", "ENCODING", "h")
        diff.check("PFDEBUG", "DECODE", "h")
        diff.check("PFDEBUG", "GETREG", "h")
        diff.check("PFMERGE", "g", "h")
        diff.check("GET", "g")
    finally:
        diff.close()


ELEMENTS = st.one_of(st.integers(0, 400).map(str), st.binary(max_size=12))


class Machine(RuleBasedStateMachine):
    """PF commands on three keys; after each step both servers hold the same bytes."""

    ours_port = 0
    real_port = 0
    sparse_max = "3000"

    def __init__(self) -> None:
        super().__init__()
        self.ours = RawConnection(self.ours_port)
        self.real = RawConnection(self.real_port)

    def both(self, *args: object) -> bytes:
        mine, theirs = self.ours.call(*args), self.real.call(*args)
        assert mine == theirs, f"{args!r}:\n ours={mine!r}\n real={theirs!r}"
        return mine

    def same_values(self) -> None:
        for key in KEYS:
            self.both("GET", key)

    @initialize()
    def start(self) -> None:
        self.both("FLUSHALL")
        self.both("CONFIG", "SET", "hll-sparse-max-bytes", self.sparse_max)

    @rule(key=st.sampled_from(KEYS), elements=st.lists(ELEMENTS, max_size=60),
          bulk=st.sampled_from([0, 0, 0, 300, 1500]), seed=st.integers(0, 10**6))
    def pfadd(self, key: str, elements: list, bulk: int, seed: int) -> None:
        self.both("PFADD", key, *elements, *(f"{seed}-{i}" for i in range(bulk)))
        self.same_values()

    @rule(dest=st.sampled_from(KEYS), sources=st.lists(st.sampled_from([*KEYS, "none"]), max_size=3))
    def pfmerge(self, dest: str, sources: list) -> None:
        self.both("PFMERGE", dest, *sources)
        self.same_values()

    @rule(keys=st.lists(st.sampled_from([*KEYS, "none"]), min_size=1, max_size=3))
    def pfcount(self, keys: list) -> None:
        self.both("PFCOUNT", *keys)
        self.same_values()

    @rule(key=st.sampled_from(KEYS), sub=st.sampled_from(["ENCODING", "DECODE", "TODENSE"]))
    def pfdebug(self, key: str, sub: str) -> None:
        self.both("PFDEBUG", sub, key)
        self.same_values()

    @rule(key=st.sampled_from(KEYS), other=st.sampled_from(KEYS), to_ours=st.booleans())
    def move(self, key: str, other: str, to_ours: bool) -> None:
        """One server's value SET on both under another key: what each then does with it agrees."""
        src = self.real if to_ours else self.ours
        value = parse(src.call("GET", key))
        if value is None:
            return
        self.both("SET", other, value)
        self.both("PFADD", other, "moved")
        self.same_values()

    def teardown(self) -> None:
        self.both("CONFIG", "SET", "hll-sparse-max-bytes", "3000")
        self.ours.close()
        self.real.close()


@pytest.mark.parametrize("sparse_max", ["3000", "200"])
def test_hyperloglog_sequences_match_redis(ours, real, sparse_max):
    run_machine(Machine, ours, real, 25, 20, sparse_max=sparse_max)
