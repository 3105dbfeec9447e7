"""The list type: a ``collections.deque`` with Redis's list vocabulary.

Redis 7.0 stores every list as a quicklist (a linked list of listpacks), so
OBJECT ENCODING always says ``quicklist``; the listpack encoding for small
lists only arrived in 7.2. A deque gives the same costs that matter: O(1)
pushes and pops at both ends, and index access that walks from the nearer end.
``window`` reads a range from whichever end is closer, so ``LRANGE -10 -1`` on
a million-element list touches ten elements, not a million.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from itertools import islice


class ListValue(deque):
    """A Redis list of byte strings, head at the left."""

    __slots__ = ()
    TYPE_NAME = b"list"

    def encoding(self) -> bytes:
        """OBJECT ENCODING: always quicklist in Redis 7.0."""
        return b"quicklist"

    def copy(self) -> ListValue:
        return ListValue(self)

    def memory_items(self) -> Iterator[bytes]:
        return iter(self)

    def window(self, start: int, stop: int) -> list[bytes]:
        """Elements ``start`` to ``stop`` inclusive (valid, non-negative indexes, start <= stop).

        Walks from the head or from the tail, whichever is nearer to the range.
        """
        n = len(self)
        if start <= n - 1 - stop:
            return list(islice(self, start, stop + 1))
        out = list(islice(reversed(self), n - 1 - stop, n - start))
        out.reverse()
        return out

    def trim(self, left: int, right: int) -> None:
        """Drop ``left`` elements from the head and ``right`` from the tail."""
        n = len(self)
        if left + right >= n:
            self.clear()
            return
        if left + right > n // 2:
            kept = list(islice(self, left, n - right))
            self.clear()
            self.extend(kept)
            return
        popleft = self.popleft
        for _ in range(left):
            popleft()
        pop = self.pop
        for _ in range(right):
            pop()

    def remove_matching(self, element: bytes, limit: int, from_tail: bool) -> int:
        """Remove up to ``limit`` (0 = all) elements equal to ``element``; return how many."""
        removed = 0
        kept: list[bytes] = []
        source = reversed(self) if from_tail else iter(self)
        for item in source:
            if item == element and (limit == 0 or removed < limit):
                removed += 1
            else:
                kept.append(item)
        if removed:
            if from_tail:
                kept.reverse()
            self.clear()
            self.extend(kept)
        return removed
