"""A hypothesis state machine over the stream commands, compared with redis-server byte for byte.

IDs come from a small pool (milliseconds 0-12, sequences 0-3, ``<ms>-*``), so
additions collide, go backwards and hit ``0-0``; nodes hold 3 entries
(``stream-node-max-entries``), so approximate trims, XDEL tombstones and the
radix-tree figures of XINFO STREAM cross node boundaries. Consumer groups are
created, read (new entries and history, NOACK), acknowledged, claimed and
destroyed. Replies carrying clock readings (idle times, delivery times,
seen-times) are left out; everything else, errors included, must be identical.
"""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import initialize, rule, run_state_machine_as_test

from tests.differential.test_lists_hashes_hypothesis import SETTINGS, Family

KEYS = st.sampled_from(["s1", "s2", "str"])
MS = st.integers(min_value=0, max_value=12)
IDS = st.one_of(
    st.builds(lambda ms, seq: f"{ms}-{seq}", MS, st.integers(min_value=0, max_value=3)),
    st.builds(lambda ms: f"{ms}-*", MS),
    st.builds(str, MS),
)
BOUNDS = st.one_of(st.sampled_from(["-", "+", "(0-1", "(5", "x"]), st.builds(str, MS),
                   st.builds(lambda ms, seq: f"({ms}-{seq}", MS, st.integers(min_value=0, max_value=3)))
FIELDS = st.sampled_from(["f", "g", "n"])
VALUES = st.sampled_from(["v", "1", "-7", "", "x" * 70])
GROUPS = st.sampled_from(["g1", "g2"])
CONSUMERS = st.sampled_from(["alice", "bob", "carol"])
COUNTS = st.sampled_from([None, 0, 1, 2, 5, -1])
TRIM = st.one_of(
    st.none(),
    st.tuples(st.just("MAXLEN"), st.sampled_from(["", "~", "="]), st.sampled_from(["0", "2", "5", "-1"])),
    st.tuples(st.just("MINID"), st.sampled_from(["", "~", "="]), st.builds(str, MS)),
)


def trim_args(trim) -> list[str]:
    if trim is None:
        return []
    strategy, op, value = trim
    return [strategy, *([op] if op else []), value]


class Streams(Family):
    @initialize()
    def small_nodes(self) -> None:
        self.d.call("CONFIG", "SET", "stream-node-max-entries", "3", compare=False)

    def teardown(self) -> None:
        self.d.call("CONFIG", "SET", "stream-node-max-entries", "100", compare=False)
        super().teardown()

    @rule(key=KEYS, sid=IDS, pairs=st.lists(st.tuples(FIELDS, VALUES), min_size=1, max_size=3), trim=TRIM,
          nomk=st.booleans())
    def xadd(self, key, sid, pairs, trim, nomk):
        flat = [x for pair in pairs for x in pair]
        self.d.check("XADD", key, *(["NOMKSTREAM"] if nomk else []), *trim_args(trim), sid, *flat)

    @rule(key=KEYS, ids=st.lists(IDS, min_size=1, max_size=3))
    def xdel(self, key, ids):
        self.d.check("XDEL", key, *ids)

    @rule(key=KEYS, trim=TRIM, limit=st.sampled_from([None, 0, 1, 100]))
    def xtrim(self, key, trim, limit):
        self.d.check("XTRIM", key, *trim_args(trim), *([] if limit is None else ["LIMIT", limit]))

    @rule(key=KEYS, start=BOUNDS, end=BOUNDS, count=COUNTS, rev=st.booleans())
    def xrange(self, key, start, end, count, rev):
        args = [] if count is None else ["COUNT", count]
        if rev:
            self.d.check("XREVRANGE", key, end, start, *args)
        else:
            self.d.check("XRANGE", key, start, end, *args)

    @rule(keys=st.lists(KEYS, min_size=1, max_size=2, unique=True), ids=st.lists(
        st.one_of(st.sampled_from(["$", "0"]), st.builds(str, MS)), min_size=2, max_size=2), count=COUNTS)
    def xread(self, keys, ids, count):
        args = [] if count is None else ["COUNT", count]
        self.d.check("XREAD", *args, "STREAMS", *keys, *ids[: len(keys)])

    @rule(key=KEYS, group=GROUPS, sid=st.sampled_from(["$", "0", "3-0", "+"]), mk=st.booleans(),
          entries=st.sampled_from([None, "-1", "2"]))
    def xgroup_create(self, key, group, sid, mk, entries):
        extra = (["MKSTREAM"] if mk else []) + ([] if entries is None else ["ENTRIESREAD", entries])
        self.d.check("XGROUP", "CREATE", key, group, sid, *extra)

    @rule(key=KEYS, group=GROUPS, sid=st.sampled_from(["$", "0", "4-1", "-"]))
    def xgroup_setid(self, key, group, sid):
        self.d.check("XGROUP", "SETID", key, group, sid)

    @rule(key=KEYS, group=GROUPS, consumer=CONSUMERS, what=st.sampled_from(["CREATECONSUMER", "DELCONSUMER"]))
    def xgroup_consumer(self, key, group, consumer, what):
        self.d.check("XGROUP", what, key, group, consumer)

    @rule(key=KEYS, group=GROUPS)
    def xgroup_destroy(self, key, group):
        self.d.check("XGROUP", "DESTROY", key, group)

    @rule(key=KEYS, group=GROUPS, consumer=CONSUMERS, sid=st.sampled_from([">", ">", "0", "2-0"]), count=COUNTS,
          noack=st.booleans())
    def xreadgroup(self, key, group, consumer, sid, count, noack):
        args = ([] if count is None else ["COUNT", count]) + (["NOACK"] if noack else [])
        self.d.check("XREADGROUP", "GROUP", group, consumer, *args, "STREAMS", key, sid)

    @rule(key=KEYS, group=GROUPS, ids=st.lists(IDS, min_size=1, max_size=3))
    def xack(self, key, group, ids):
        self.d.check("XACK", key, group, *ids)

    @rule(key=KEYS, group=GROUPS, consumer=CONSUMERS, ids=st.lists(IDS, min_size=1, max_size=3),
          force=st.booleans(), lastid=st.sampled_from([None, "9-0"]))
    def xclaim(self, key, group, consumer, ids, force, lastid):
        extra = (["FORCE"] if force else []) + ([] if lastid is None else ["LASTID", lastid])
        self.d.check("XCLAIM", key, group, consumer, "0", *ids, "TIME", "1000", "JUSTID", *extra)

    @rule(key=KEYS, group=GROUPS, consumer=CONSUMERS, start=st.sampled_from(["0", "3", "(2-0"]),
          count=st.sampled_from([None, 1, 2]))
    def xautoclaim(self, key, group, consumer, start, count):
        args = [] if count is None else ["COUNT", count]
        self.d.check("XAUTOCLAIM", key, group, consumer, "0", start, *args, "JUSTID")

    @rule(key=KEYS, sid=st.sampled_from(["12-9", "20-0", "1-0"]), added=st.sampled_from([None, "0", "40"]),
          maxdel=st.sampled_from([None, "3-0"]))
    def xsetid(self, key, sid, added, maxdel):
        extra = ([] if added is None else ["ENTRIESADDED", added]) + ([] if maxdel is None else ["MAXDELETEDID", maxdel])
        self.d.check("XSETID", key, sid, *extra)

    @rule(key=KEYS, group=GROUPS)
    def inspect(self, key, group):
        self.d.check("XLEN", key)
        self.d.check("TYPE", key)
        self.d.check("XINFO", "STREAM", key)
        self.d.check("XINFO", "GROUPS", key)
        self.d.check("XPENDING", key, group)


def _run(resp: int, ours, real) -> None:
    Streams.ports = (ours.port, real.port)
    Streams.resp = resp
    run_state_machine_as_test(Streams, settings=SETTINGS)


def test_stream_state_machine(ours, real):
    _run(2, ours, real)


def test_stream_state_machine_resp3(ours, real):
    _run(3, ours, real)
