"""The C loops of PFADD, geo searches and stream replies (``server/datatypes/_hllgeo.c``) against their
Python references.

The differential tests compare the server with redis-server; these compare the two
implementations inside it on many more random inputs than a server round trip allows:
the HLL bytes after every single add (sparse splits, merges, promotion, corrupt opcodes)
every search's members and distances, bit for bit, and every stream range's reply bytes.
"""

from __future__ import annotations

import math
import random
from array import array
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.commands import geo
from server.commands.streams import entry_reply
from server.datatypes import geohash as gh
from server.datatypes import hyperloglog as hll
from server.datatypes import stream as streams
from server.datatypes.zset import ZSetValue

NOT_BUILT = "server/datatypes/_hllgeo.c is not built: run `make ext` (or pip install -e .)"


def test_the_extension_is_built():
    assert hll.native_add is not None, NOT_BUILT
    assert geo.native_scan is not None, NOT_BUILT
    assert streams.encode_entries is not streams.encode_entries_py, NOT_BUILT


def test_murmur64a_matches_the_python_one():
    from server.datatypes._hllgeo import murmur64a

    rng = random.Random(7)
    for length in range(0, 70):
        for _ in range(20):
            data = rng.randbytes(length)
            assert murmur64a(data) == hll.murmur64a(data), data


def _both_add(native: bytearray, python: bytearray, element: bytes, max_bytes: int) -> None:
    try:
        expected: object = hll.add_python(python, element, max_bytes)
    except hll.Corrupt:
        expected = hll.Corrupt
    try:
        got: object = hll.add(native, element, max_bytes)
    except hll.Corrupt:
        got = hll.Corrupt
    assert got == expected, element
    assert native == python, element


@pytest.mark.parametrize("max_bytes", [3000, 300, 40, 17])
def test_pfadd_leaves_the_same_bytes(max_bytes):
    """Thousands of adds, compared after each: splits of ZERO/XZERO/VAL runs, merges, values
    above 32 and promotion when the sparse string would outgrow ``max_bytes``."""
    rng = random.Random(max_bytes)
    native, python = hll.new_sparse(), hll.new_sparse()
    for i in range(6000):
        element = b"%d" % i if rng.random() < 0.5 else rng.randbytes(rng.randrange(20))
        _both_add(native, python, element, max_bytes)
    assert native[4] == hll.DENSE  # the run went through the promotion
    # Elements with long runs of zeros in their hash (large register values), in VAL runs.
    native, python = hll.new_sparse(), hll.new_sparse()
    big = [e for e in (b"x%d" % i for i in range(100000)) if hll.pattern(e)[1] > 10][:40]
    for element in big:
        _both_add(native, python, element, 100000)
    assert len(big) == 40


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=40), elements=st.lists(st.binary(max_size=6), max_size=8),
       max_bytes=st.sampled_from([20, 60, 3000]))
def test_pfadd_on_arbitrary_sparse_bytes(body, elements, max_bytes):
    """A sparse header followed by any bytes (as a client may SET): the same result, the same
    bytes, or Corrupt from both."""
    native = bytearray(b"HYLL\x01\x00\x00\x00" + bytes(8) + body)
    python = bytearray(native)
    for element in elements:
        _both_add(native, python, element, max_bytes)


def _geo_set(rng: random.Random, n: int, lon: float, lat: float, spread: float) -> ZSetValue:
    entries = []
    for i in range(n):
        x = min(max(lon + rng.uniform(-spread, spread), gh.LONG_MIN), gh.LONG_MAX)
        y = min(max(lat + rng.uniform(-spread, spread), gh.LAT_MIN), gh.LAT_MAX)
        entries.append((b"m%d" % i, float(gh.score_of(x, y))))
    # Members sharing a score, and one stored as -0: ties and the score read back for STORE.
    entries += [(b"twin-a", entries[0][1]), (b"twin-b", entries[0][1]), (b"zero", -0.0)]
    return ZSetValue(entries)


CENTRES = [(15.0, 37.0), (0.0, 0.0), (179.9, 10.0), (-179.95, -20.0), (30.0, 84.9), (-60.0, -84.5)]


@pytest.mark.parametrize("lon,lat", CENTRES)
def test_geo_scan_matches_the_python_one(lon, lat):
    rng = random.Random(int(lon * 100 + lat))
    zs = _geo_set(rng, 3000, lon, lat, 3.0)
    hits = 0
    for _ in range(40):
        shape = gh.Shape(lon=lon + rng.uniform(-0.5, 0.5), lat=max(min(lat + rng.uniform(-0.5, 0.5), 85.0), -85.0),
                         conversion=rng.choice([1.0, 1000.0, 0.3048, 1609.34]))
        if rng.random() < 0.5:
            shape.kind = gh.CIRCULAR
            shape.radius = math.exp(rng.uniform(0, 13)) / shape.conversion
        else:
            shape.kind = gh.RECTANGLE
            shape.width = math.exp(rng.uniform(0, 13)) / shape.conversion
            shape.height = math.exp(rng.uniform(0, 13)) / shape.conversion
        limit = rng.choice([0, 0, 1, 7])
        got = geo._search(zs, shape, limit)
        expected = geo._search(zs, shape, limit, native=False)
        assert got == expected, (shape, limit)
        # Bit for bit: == would let -0.0 pass for 0.0.
        assert [math.copysign(1, d) for d, _ in got] == [math.copysign(1, d) for d, _ in expected]
        hits += len(got)
    assert hits > 200


def _stream(rng: random.Random, n: int, node_entries: int) -> streams.StreamValue:
    """Entries of one to three fields (the node's master field or others), values empty to 300
    bytes, IDs from small to the largest; some deleted: tombstones in frozen and open nodes."""
    sv = streams.StreamValue()
    ms = rng.choice([0, 1, 1733150000000, (1 << 64) - 40000])
    seq = rng.choice([0, 7, (1 << 64) - 30])
    for _ in range(n):
        if rng.random() < 0.3:
            ms, seq = ms + rng.randrange(1, 3), rng.choice([0, 5])
        else:
            seq += 1
        if seq > streams.SEQ_MASK:
            ms, seq = ms + 1, 0
        row = tuple(rng.choice([b"f", b"field-%d" % rng.randrange(3), rng.randbytes(rng.randrange(30)),
                                b"v" * rng.choice([0, 1, 63, 64, 300])]) for _ in range(2 * rng.choice([1, 1, 2, 3])))
        sv.append(ms, seq, row, sum(map(len, row)), 4096, node_entries)
    for sid in rng.sample([sid for sid, _row in sv.range(0, streams.MAX_ID)], n // 4):
        sv.delete(sid)
    return sv


@pytest.mark.parametrize("seed", range(6))
def test_stream_entries_match_the_python_ones(seed):
    rng = random.Random(seed)
    sv = _stream(rng, 700, rng.choice([3, 7, 100]))
    ids = [sid for sid, _row in sv.range(0, streams.MAX_ID)]
    assert any(node.frozen and node.gone for node in sv.nodes)
    for node in sv.nodes:  # node by node: every slice, both directions, limits
        rows = node.blob if node.frozen else node.rows
        for _ in range(30):
            j = rng.randrange(len(node) + 1)
            k = rng.randrange(j, len(node) + 1)
            rev = rng.random() < 0.5
            limit = rng.choice([0, 0, 1, 3, 1000])
            args = (node.ms, node.seq, rows, node.offs, node.gone, j, k, rev, limit)
            assert streams.encode_entries(*args) == streams.encode_entries_py(*args), (j, k, rev, limit)
    for _ in range(200):  # whole replies, against the (ID, row) pairs encoded one by one
        start, end = sorted(rng.choice([0, streams.MAX_ID, *ids, *(i + 1 for i in ids)]) for _ in range(2))
        count = rng.choice([0, 1, 10, 100])
        rev = rng.random() < 0.5
        assert sv.range_reply(start, end, count, rev) == entry_reply(sv.range(start, end, count, rev))


def test_stream_entries_cover_both_widths_of_sequence_numbers():
    """A frozen node keeps its sequence numbers in 32 bits when they all fit, else 64: the seeds
    above give both, and the C encoder reads both."""
    widths = {node.seq.typecode for seed in range(6)
              for node in _stream(random.Random(seed), 700, 7).nodes if node.frozen and isinstance(node.seq, array)}
    assert widths == {"I", "Q"}


def test_stream_entries_refuse_what_is_not_a_node():
    from server.datatypes._hllgeo import entries

    ms, seq = [1, 2], [0, 0]
    rows: list[bytes | None] = [b"*0\r\n", None]
    assert entries(ms, seq, rows, streams._EMPTY_Q, set(), 0, 2, False, 0) == (1, b"*2\r\n$3\r\n1-0\r\n*0\r\n")
    with pytest.raises(ValueError):
        entries(ms, seq, rows, streams._EMPTY_Q, set(), 0, 3, False, 0)  # past the end
    with pytest.raises(ValueError):
        entries(ms, [0], rows, streams._EMPTY_Q, set(), 0, 1, False, 0)  # halves of different lengths
    with pytest.raises(OverflowError):
        entries([-1, 2], seq, rows, streams._EMPTY_Q, set(), 0, 2, False, 0)
    with pytest.raises(TypeError):
        entries(ms, seq, cast(Any, [b"x", 3]), streams._EMPTY_Q, set(), 0, 2, False, 0)
    with pytest.raises(TypeError):  # a frozen node's offsets are array('I')
        entries(ms, seq, b"abc", streams._EMPTY_Q, set(), 0, 2, False, 0)
    with pytest.raises(ValueError):  # offsets past the blob
        entries(ms, seq, b"abc", array("I", [0, 2, 9]), set(), 0, 2, False, 0)
