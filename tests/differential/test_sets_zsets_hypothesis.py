"""Generated sequences of set and sorted-set commands, run on our server and on redis-server.

Two hypothesis state machines draw commands over a few keys, send each to
both servers over raw connections and require the same replies. Replies that
Redis gives in hash order (SMEMBERS of a hashtable set, SINTER ...) are
compared as multisets; commands whose choice is random (SPOP, SRANDMEMBER,
ZRANDMEMBER) are only drawn in their deterministic forms (a count covering
the whole set), so both servers keep the same data. Member-range commands
run on keys whose scores are all equal, where Redis defines their result.
One run lowers the encoding thresholds so conversions happen on small data.
"""

from __future__ import annotations

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule

from tests.differential.harness import RawConnection, parse
from tests.differential.machines import run_machine

SET_KEYS = st.sampled_from(["s1", "s2", "s3"])
ZSET_KEYS = st.sampled_from(["z1", "z2", "z3"])
LEX_KEYS = st.sampled_from(["l1", "l2"])
ANY_KEYS = st.sampled_from(["s1", "s2", "z1", "z2", "l1", "str", "none"])
MEMBERS = st.one_of(
    st.sampled_from(["a", "b", "c", "d", "e", "aa", "ab", "", "1", "2", "3", "10", "-5", "007"]),
    st.integers(-3, 30).map(str),
)
SCORES = st.one_of(
    st.integers(-20, 20).map(str),
    st.sampled_from(["0", "-0", "2.5", "-7.25", "0.5", "inf", "-inf", "+inf", "1e3", "x", "nan", ""]),
)
BOUNDS = st.one_of(
    st.integers(-5, 25).map(str),
    st.integers(-5, 25).map(lambda n: f"({n}"),
    st.sampled_from(["-inf", "+inf", "(-inf", "inf", "2.5", "(2.5", "x", "(", ""]),
)
LEX_BOUNDS = st.one_of(MEMBERS.map(lambda m: "[" + m), MEMBERS.map(lambda m: "(" + m),
                       st.sampled_from(["-", "+", "x", ""]))
RANKS = st.integers(-8, 8)
COUNTS = st.one_of(st.integers(-3, 8), st.sampled_from(["x", "-0"]))
LIMIT = st.one_of(st.just([]), st.tuples(st.integers(-1, 4), st.integers(-1, 4)).map(lambda t: ["LIMIT", *t]))


class Machine(RuleBasedStateMachine):
    """Each rule sends commands to both servers and compares the raw replies."""

    ours_port = 0
    real_port = 0
    resp = 2
    small_encodings = False

    def __init__(self) -> None:
        super().__init__()
        self.ours = RawConnection(self.ours_port)
        self.real = RawConnection(self.real_port)
        if self.resp == 3:
            self.both("HELLO", "3")

    def both(self, *args) -> tuple[bytes, bytes]:
        return self.ours.call(*args), self.real.call(*args)

    def same(self, *args) -> bytes:
        mine, theirs = self.both(*args)
        assert mine == theirs, f"{args!r}:\n  ours={mine!r}\n  real={theirs!r}"
        return mine

    def same_unordered(self, *args) -> None:
        mine, theirs = self.both(*args)
        a, b = parse(mine), parse(theirs)
        if isinstance(a, list) and isinstance(b, list):
            assert sorted(a, key=repr) == sorted(b, key=repr), f"{args!r}: ours={a!r} real={b!r}"
        else:
            assert mine == theirs, f"{args!r}:\n  ours={mine!r}\n  real={theirs!r}"

    def teardown(self) -> None:
        if self.small_encodings:
            self.both("CONFIG", "SET", "zset-max-listpack-entries", "128")
            self.both("CONFIG", "SET", "set-max-intset-entries", "512")
        self.ours.close()
        self.real.close()

    @initialize()
    def start(self) -> None:
        self.both("FLUSHALL")
        self.both("SET", "str", "x")
        if self.small_encodings:
            self.both("CONFIG", "SET", "zset-max-listpack-entries", "3")
            self.both("CONFIG", "SET", "set-max-intset-entries", "3")

    # -- sets -------------------------------------------------------------------

    @rule(key=SET_KEYS, members=st.lists(MEMBERS, min_size=1, max_size=5))
    def sadd(self, key, members):
        self.same("SADD", key, *members)

    @rule(key=SET_KEYS, members=st.lists(MEMBERS, min_size=1, max_size=4))
    def srem(self, key, members):
        self.same("SREM", key, *members)

    @rule(key=ANY_KEYS, member=MEMBERS)
    def set_reads(self, key, member):
        for args in (("SCARD", key), ("SISMEMBER", key, member), ("SMISMEMBER", key, member, "a"),
                     ("OBJECT", "ENCODING", key), ("TYPE", key)):
            self.same(*args)
        self.same_unordered("SMEMBERS", key)

    @rule(keys=st.lists(st.sampled_from(["s1", "s2", "s3", "none", "str"]), min_size=1, max_size=3),
          command=st.sampled_from(["SINTER", "SUNION", "SDIFF"]), dest=SET_KEYS, store=st.booleans())
    def algebra(self, keys, command, dest, store):
        if store:
            self.same(command + "STORE", dest, *keys)
            self.same_unordered("SMEMBERS", dest)
            self.same("OBJECT", "ENCODING", dest)
        else:
            self.same_unordered(command, *keys)

    @rule(keys=st.lists(st.sampled_from(["s1", "s2", "s3", "none"]), min_size=1, max_size=3),
          limit=st.integers(-1, 4))
    def sintercard(self, keys, limit):
        self.same("SINTERCARD", len(keys), *keys, "LIMIT", limit)

    @rule(src=SET_KEYS, dst=st.sampled_from(["s1", "s2", "s3", "str"]), member=MEMBERS)
    def smove(self, src, dst, member):
        self.same("SMOVE", src, dst, member)

    @rule(key=SET_KEYS, extra=st.integers(0, 3), command=st.sampled_from(["SPOP", "SRANDMEMBER"]))
    def whole_set_random(self, key, extra, command):
        size = parse(self.same("SCARD", key))
        if not isinstance(size, int):  # the key holds another type now
            self.same(command, key, extra)
            return
        self.same_unordered(command, key, size + extra)

    @rule(key=SET_KEYS)
    def sscan_whole(self, key):
        if self.same("TYPE", key) != b"+set\r\n":
            self.same("SSCAN", key, "0")
            return
        results = []
        for conn in (self.ours, self.real):
            cursor, seen = b"0", []
            for _ in range(100):
                cursor, items = parse(conn.call("SSCAN", key, cursor, "COUNT", "3"))
                seen.extend(items)
                if cursor == b"0":
                    break
            results.append(set(seen))
        assert results[0] == results[1]

    # -- sorted sets --------------------------------------------------------------

    @rule(key=ZSET_KEYS, flags=st.lists(st.sampled_from(["NX", "XX", "GT", "LT", "CH", "INCR"]), max_size=2),
          pairs=st.lists(st.tuples(SCORES, MEMBERS), min_size=1, max_size=4))
    def zadd(self, key, flags, pairs):
        self.same("ZADD", key, *flags, *[x for pair in pairs for x in pair])

    @rule(key=ZSET_KEYS, increment=SCORES, member=MEMBERS)
    def zincrby(self, key, increment, member):
        self.same("ZINCRBY", key, increment, member)

    @rule(key=ZSET_KEYS, members=st.lists(MEMBERS, min_size=1, max_size=3))
    def zrem(self, key, members):
        self.same("ZREM", key, *members)

    @rule(key=ANY_KEYS, member=MEMBERS)
    def zset_reads(self, key, member):
        for args in (("ZCARD", key), ("ZSCORE", key, member), ("ZMSCORE", key, member, "a"),
                     ("ZRANK", key, member), ("ZREVRANK", key, member), ("OBJECT", "ENCODING", key)):
            self.same(*args)

    @rule(key=ZSET_KEYS, start=RANKS, stop=RANKS, rev=st.booleans(), withscores=st.booleans())
    def zrange_rank(self, key, start, stop, rev, withscores):
        self.same("ZRANGE", key, start, stop, *(["REV"] if rev else []), *(["WITHSCORES"] if withscores else []))
        self.same("ZREVRANGE" if rev else "ZRANGE", key, start, stop)

    @rule(key=ZSET_KEYS, lo=BOUNDS, hi=BOUNDS, rev=st.booleans(), limit=LIMIT, withscores=st.booleans())
    def zrange_score(self, key, lo, hi, rev, limit, withscores):
        scores = ["WITHSCORES"] if withscores else []
        self.same("ZCOUNT", key, lo, hi)
        if rev:
            self.same("ZREVRANGEBYSCORE", key, hi, lo, *scores, *limit)
            self.same("ZRANGE", key, hi, lo, "BYSCORE", "REV", *limit, *scores)
        else:
            self.same("ZRANGEBYSCORE", key, lo, hi, *limit, *scores)
            self.same("ZRANGE", key, lo, hi, "BYSCORE", *scores, *limit)

    @rule(key=LEX_KEYS, members=st.lists(MEMBERS, min_size=1, max_size=4))
    def lex_add(self, key, members):
        self.same("ZADD", key, *[x for m in members for x in ("0", m)])

    @rule(key=LEX_KEYS, lo=LEX_BOUNDS, hi=LEX_BOUNDS, rev=st.booleans(), limit=LIMIT)
    def lex_ranges(self, key, lo, hi, rev, limit):
        self.same("ZLEXCOUNT", key, lo, hi)
        if rev:
            self.same("ZREVRANGEBYLEX", key, hi, lo, *limit)
            self.same("ZRANGE", key, hi, lo, "BYLEX", "REV", *limit)
        else:
            self.same("ZRANGEBYLEX", key, lo, hi, *limit)

    @rule(key=LEX_KEYS, lo=LEX_BOUNDS, hi=LEX_BOUNDS)
    def lex_remove(self, key, lo, hi):
        self.same("ZREMRANGEBYLEX", key, lo, hi)

    @rule(key=ZSET_KEYS, kind=st.sampled_from(["RANK", "SCORE"]), a=RANKS, b=RANKS, lo=BOUNDS, hi=BOUNDS)
    def zremrange(self, key, kind, a, b, lo, hi):
        if kind == "RANK":
            self.same("ZREMRANGEBYRANK", key, a, b)
        else:
            self.same("ZREMRANGEBYSCORE", key, lo, hi)

    @rule(key=st.sampled_from(["z1", "z2", "z3", "l1", "none", "str"]), count=st.one_of(st.none(), COUNTS),
          highest=st.booleans())
    def zpop(self, key, count, highest):
        cmd = "ZPOPMAX" if highest else "ZPOPMIN"
        self.same(cmd, key, *([] if count is None else [count]))

    @rule(keys=st.lists(st.sampled_from(["z1", "z2", "none", "str"]), min_size=1, max_size=3),
          where=st.sampled_from(["MIN", "MAX", "max"]), count=st.one_of(st.none(), st.integers(0, 4)),
          blocking=st.booleans())
    def zmpop(self, keys, where, count, blocking):
        head = ["BZMPOP", "0.01"] if blocking else ["ZMPOP"]
        self.same(*head, len(keys), *keys, where, *([] if count is None else ["COUNT", count]))

    @rule(keys=st.lists(st.sampled_from(["z1", "z2", "l1", "none", "str"]), min_size=1, max_size=2),
          highest=st.booleans())
    def bzpop(self, keys, highest):
        self.same("BZPOPMAX" if highest else "BZPOPMIN", *keys, "0.01")

    @rule(keys=st.lists(st.sampled_from(["z1", "z2", "z3", "s1", "none", "str"]), min_size=1, max_size=3),
          op=st.sampled_from(["ZUNION", "ZINTER", "ZDIFF"]), weights=st.booleans(),
          aggregate=st.sampled_from([None, "SUM", "MIN", "MAX"]), withscores=st.booleans(),
          dest=st.one_of(st.none(), ZSET_KEYS))
    def zalgebra(self, keys, op, weights, aggregate, withscores, dest):
        opts: list = []
        if weights and op != "ZDIFF":
            opts += ["WEIGHTS", *[str(w) for w in (2, -1, 0.5)[: len(keys)]]]
        if aggregate and op != "ZDIFF":
            opts += ["AGGREGATE", aggregate]
        if dest is None:
            self.same(op, len(keys), *keys, *opts, *(["WITHSCORES"] if withscores else []))
        else:
            self.same(op + "STORE", dest, len(keys), *keys, *opts)
            self.same("ZRANGE", dest, 0, -1, "WITHSCORES")
            self.same("OBJECT", "ENCODING", dest)

    @rule(keys=st.lists(st.sampled_from(["z1", "z2", "s1", "none"]), min_size=1, max_size=3),
          limit=st.integers(0, 3))
    def zintercard(self, keys, limit):
        self.same("ZINTERCARD", len(keys), *keys, "LIMIT", limit)

    @rule(dst=ZSET_KEYS, src=ZSET_KEYS, start=RANKS, stop=RANKS, lo=BOUNDS, hi=BOUNDS,
          byscore=st.booleans(), rev=st.booleans(), limit=LIMIT)
    def zrangestore(self, dst, src, start, stop, lo, hi, byscore, rev, limit):
        rev_opt = ["REV"] if rev else []
        if byscore:
            self.same("ZRANGESTORE", dst, src, hi if rev else lo, lo if rev else hi, "BYSCORE", *rev_opt, *limit)
        else:
            self.same("ZRANGESTORE", dst, src, start, stop, *rev_opt)
        self.same("ZRANGE", dst, 0, -1, "WITHSCORES")

    @rule(key=ZSET_KEYS, extra=st.integers(0, 3), withscores=st.booleans())
    def zrandmember_whole(self, key, extra, withscores):
        size = parse(self.same("ZCARD", key))
        if not isinstance(size, int):  # the key holds another type now
            self.same("ZRANDMEMBER", key, extra)
            return
        self.same("ZRANDMEMBER", key, size + extra, *(["WITHSCORES"] if withscores else []))

    @rule(src=st.sampled_from(["s1", "z1", "l1"]), dst=st.sampled_from(["s2", "z2", "l2"]),
          how=st.sampled_from(["COPY", "RENAME", "EXPIRE"]))
    def generic_on_collections(self, src, dst, how):
        """Generic key commands keep values, encodings and TTLs as Redis does."""
        if how == "EXPIRE":
            self.same("EXPIRE", src, "1000")
            self.same("TTL", src)
            return
        if how == "COPY":
            self.same("COPY", src, dst, "REPLACE")
        else:
            self.same("RENAME", src, dst)
        self.same("TYPE", dst)
        self.same("OBJECT", "ENCODING", dst)
        self.same("TTL", dst)
        self.same_unordered("SMEMBERS", dst)
        self.same("ZRANGE", dst, 0, -1, "WITHSCORES")

    @rule(key=ZSET_KEYS)
    def zscan_whole(self, key):
        if self.same("TYPE", key) != b"+zset\r\n":
            self.same("ZSCAN", key, "0")
            return
        results = []
        for conn in (self.ours, self.real):
            cursor, seen = b"0", []
            for _ in range(100):
                cursor, items = parse(conn.call("ZSCAN", key, cursor, "COUNT", "2"))
                seen.extend(zip(items[::2], items[1::2], strict=True))
                if cursor == b"0":
                    break
            results.append(set(seen))
        assert results[0] == results[1]


@pytest.mark.parametrize("resp,small", [(2, False), (3, False), (2, True)])
def test_sets_and_sorted_sets_match_redis(ours, real, resp, small):
    run_machine(Machine, ours, real, 40, 40, resp=resp, small_encodings=small)
