"""``IdSet`` (server/datatypes/stream.py), the sorted ID set behind every PEL, against a plain
sorted list: random adds, runs, discards and acknowledgements of the oldest IDs, with blocks
small enough that splits and emptied blocks happen often."""

from __future__ import annotations

import random
from bisect import bisect_left, bisect_right

import pytest

from server.datatypes import stream
from server.datatypes.stream import IdSet


@pytest.mark.parametrize("seed", range(6))
def test_idset_matches_a_sorted_list(monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    monkeypatch.setattr(stream, "ID_BLOCK", 4)
    rng = random.Random(seed)
    ids = IdSet(rng.sample(range(200), 20))
    ref = sorted(ids)
    assert len(ref) == 20
    for _ in range(3000):
        op = rng.randrange(6)
        if op == 0:
            sid = rng.randrange(300)
            ids.add(sid)
            if sid not in ref:
                ref.insert(bisect_left(ref, sid), sid)
        elif op == 1:  # a run above everything held
            base = (ref[-1] if ref else 0) + rng.randrange(1, 5)
            run = list(range(base, base + rng.randrange(1, 12)))
            ids.add_run(run)
            ref.extend(run)
        elif op == 2:
            sid = rng.randrange(300)
            assert ids.discard(sid) == (sid in ref)
            if sid in ref:
                ref.remove(sid)
        elif op == 3 and ref:  # acknowledgements: the oldest IDs, or any held ones
            k = rng.randrange(1, min(len(ref), 12) + 1)
            gone = ref[:k] if rng.random() < 0.6 else sorted(rng.sample(ref, k))
            ids.discard_sorted(list(gone))
            ref = [x for x in ref if x not in gone]
        elif op == 4:
            lo = rng.randrange(-5, 320)
            hi = lo + rng.randrange(-3, 60)
            assert list(ids.irange(lo, hi)) == ref[bisect_left(ref, lo):bisect_right(ref, hi)]
            assert list(ids.irange(lo)) == ref[bisect_left(ref, lo):]
        else:
            sid = rng.randrange(320)
            assert (sid in ids) == (sid in ref)
        assert len(ids) == len(ref)
        assert list(ids) == ref
        if ref:
            assert (ids.first(), ids.last()) == (ref[0], ref[-1])
        assert all(ids.blocks) and ids.maxes == [block[-1] for block in ids.blocks]
        assert all(len(block) <= 2 * 4 for block in ids.blocks)
