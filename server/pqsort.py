"""Redis's pqsort (pqsort.c): the partial quicksort behind GEOSEARCH ... COUNT and SORT ... LIMIT.

Redis sorts only the positions a reply will show; how that quicksort places
elements that compare equal shows in the reply, so it is reproduced step by
step (median-of-three pivots, Bentley-McIlroy three-way partitioning, recursion
only into the parts that overlap the wanted positions).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def partial_sort(items: list[T], cmp: Callable[[T, T], int], lrange: int, rrange: int) -> None:
    """Redis's pqsort: a quicksort (Bentley-McIlroy) that only recurses into parts overlapping
    positions ``lrange..rrange`` (inclusive)."""

    def swap(i: int, j: int) -> None:
        items[i], items[j] = items[j], items[i]

    def med3(a: int, b: int, c: int) -> int:
        if cmp(items[a], items[b]) < 0:
            return b if cmp(items[b], items[c]) < 0 else (c if cmp(items[a], items[c]) < 0 else a)
        return b if cmp(items[b], items[c]) > 0 else (a if cmp(items[a], items[c]) < 0 else c)

    def overlaps(start: int, size: int) -> bool:
        return not (rrange < start or lrange >= start + size)

    def sort(a: int, n: int) -> None:
        while True:
            if n < 7:
                for pm in range(a + 1, a + n):
                    pl = pm
                    while pl > a and cmp(items[pl - 1], items[pl]) > 0:
                        swap(pl, pl - 1)
                        pl -= 1
                return
            pm = a + n // 2
            if n > 7:
                pl = a
                pn = a + n - 1
                if n > 40:
                    d = n // 8
                    pl = med3(pl, pl + d, pl + 2 * d)
                    pm = med3(pm - d, pm, pm + d)
                    pn = med3(pn - 2 * d, pn - d, pn)
                pm = med3(pl, pm, pn)
            swap(a, pm)
            pa = pb = a + 1
            pc = pd = a + n - 1
            while True:
                while pb <= pc:
                    c = cmp(items[pb], items[a])
                    if c > 0:
                        break
                    if c == 0:
                        swap(pa, pb)
                        pa += 1
                    pb += 1
                while pb <= pc:
                    c = cmp(items[pc], items[a])
                    if c < 0:
                        break
                    if c == 0:
                        swap(pc, pd)
                        pd -= 1
                    pc -= 1
                if pb > pc:
                    break
                swap(pb, pc)
                pb += 1
                pc -= 1
            pn = a + n
            r = min(pa - a, pb - pa)
            for i in range(r):
                swap(a + i, pb - r + i)
            r = min(pd - pc, pn - pd - 1)
            for i in range(r):
                swap(pb + i, pn - r + i)
            r = pb - pa
            if r > 1 and overlaps(a, r):
                sort(a, r)
            r = pd - pc
            if r <= 1:
                return
            a, n = pn - r, r
            if not overlaps(a, n):
                return

    sort(0, len(items))
