"""XADD counts the listpack bytes of the usual entry lazily (``Node.lp_bound``, ``Node.settle``);
nodes must still split exactly where the exact count splits them, which the differential tests
hold to Redis's. Two servers in process, same clock: one adds with ``*`` (XADD's common path),
the other with the IDs the first generated and the lazy bound made useless (an entry's bound
so large that every split is decided on the exact count); node boundaries, exact sizes and
XINFO STREAM must agree, with deletions and other fields mixed in."""

from __future__ import annotations

import random

import pytest

import server.datatypes.stream as stream_type
from server.datatypes.stream import StreamValue
from server.dispatch import execute
from server.keyspace import clock
from server.main import build_server

VALUES = [b"", b"x", b"0", b"7", b"-5", b"007", b"12345678901", b"-9223372036854775808", b"abc" * 21,
          b"y" * 64, b"z" * 200, b"w" * 5000, b"value1"]


@pytest.mark.parametrize(("max_bytes", "max_entries"), [(4096, 100), (200, 0), (1000, 7), (120, 100), (0, 50)])
def test_lazy_sizes_split_nodes_like_exact_ones(monkeypatch: pytest.MonkeyPatch, max_bytes: int,
                                                max_entries: int) -> None:
    lazy = stream_type.UNSIZED_ENTRY

    def bound(value: int) -> None:
        monkeypatch.setattr(stream_type, "UNSIZED_ENTRY", value)  # (XADD's path uses Node.add_usual too)

    rng = random.Random(max_bytes * 1000 + max_entries)
    servers = [build_server(["--save", "", "--stream-node-max-bytes", str(max_bytes),
                             "--stream-node-max-entries", str(max_entries)]) for _ in range(2)]
    fast, exact = (s.new_client("127.0.0.1:1") for s in servers)
    now = 1_700_000_000_000
    try:
        for i in range(600):
            now += rng.choice([0, 0, 0, 1, 5, 130, 40000])  # ID deltas of every listpack size
            clock.frozen = now
            value = rng.choice(VALUES)
            field = b"f" if rng.random() < 0.9 else b"other"
            bound(lazy)
            sid = execute(fast, [b"XADD", b"s", b"*", field, value])
            assert isinstance(sid, bytes)
            bound(1 << 40)
            assert execute(exact, [b"XADD", b"s", sid, field, value]) == sid
            if rng.random() < 0.05:  # a tombstone in the open node (it settles the lazy count)
                for client in (fast, exact):
                    execute(client, [b"XDEL", b"s", sid])
            if i % 50 == 49:
                info = [execute(client, [b"XINFO", b"STREAM", b"s"]) for client in (fast, exact)]
                assert info[0] == info[1]
        streams = [c.db.lookup(b"s") for c in (fast, exact)]
        assert all(isinstance(s, StreamValue) for s in streams)
        a, b = streams
        assert isinstance(a, StreamValue) and isinstance(b, StreamValue)
        assert a.keys == b.keys
        assert [n.lp_bytes() for n in a.nodes] == [n.lp_bytes() for n in b.nodes]
        assert execute(fast, [b"XRANGE", b"s", b"-", b"+"]) == execute(exact, [b"XRANGE", b"s", b"-", b"+"])
    finally:
        clock.frozen = None
