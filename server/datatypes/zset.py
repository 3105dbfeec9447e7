"""The sorted-set type: members with scores, ordered by (score, member).

Two structures are kept in step, as in Redis's skiplist encoding:

- ``scores``: a dict member → score, for O(1) ZSCORE and membership;
- ``index``: a ``SortedList`` of *keys*, one byte string per member: 8 bytes
  that encode the score so that byte order is numeric order (``score_key``),
  followed by the member. Comparing two keys is then one ``memcmp``, and it
  orders by score first and by member bytes second: exactly Redis's order.
  (Tuples ``(score, member)`` give the same order at about twice the cost per
  comparison.) It gives O(log n) insertion, removal and rank, and O(log n + m)
  ranges by rank, score or member.

The methods speak in ``(score, member)`` entries; keys stay inside the class.

Redis 7.0 stores a small sorted set as a *listpack* and converts it to a
*skiplist* for good once it holds more than ``zset-max-listpack-entries``
members or a member longer than ``zset-max-listpack-value`` bytes. ``listpack``
records which side of that line the set is on, so OBJECT ENCODING answers
like Redis. One visible difference between the two encodings is kept too: a
listpack stores the score ``-0`` as the integer 0, so it reads back as ``0``.

Score ranges are given as ``ScoreRange`` and member ranges as ``LexRange``;
both turn into a pair of positions in ``index``.
"""

from __future__ import annotations

import math
import random
import struct
import sys
from collections.abc import Iterable, Iterator

from sortedcontainers import SortedList

DEFAULT_MAX_ENTRIES = 128
DEFAULT_MAX_VALUE = 64

_INF = math.inf
_nextafter = math.nextafter
_pack_double = struct.Struct(">d").pack
_unpack_signed = struct.Struct(">q").unpack
_pack_unsigned = struct.Struct(">Q").pack
_MAX_CURSORS = 64  # ZSCAN cursors remembered per sorted set
_RANK_BITS = 40
_RANK_MASK = (1 << _RANK_BITS) - 1


def score_key(score: float) -> bytes:
    """8 bytes whose byte order is the numeric order of scores (-0 and 0 are the same).

    A double's bits read as a signed integer sort positive numbers correctly
    and negative ones backwards; flipping the bits of negatives and setting the
    top bit of positives turns that into one ascending unsigned order. Setting
    the top bit of a non-negative double is negating it, so that common case
    is a single ``pack`` (``+ 0.0`` first turns -0 into 0).
    """
    if score >= 0:
        return _pack_double(-(score + 0.0))
    (bits,) = _unpack_signed(_pack_double(score))
    return _pack_unsigned(~bits)


class SortedKeys(SortedList):
    """The index: a ``SortedList`` whose sublists hold 250 to 1000 keys instead of 500 to 2000.

    Adding or removing a key shifts the pointers after it in its sublist (a
    ZPOPMIN shifts a whole one), so shorter sublists make ZADD and ZPOPMIN
    cheaper (about 5% and 15% at 100k members). Shorter also means more of
    them, so a deeper tree to walk for positions: ZRANK and ZRANGE pay ~4%.
    """

    DEFAULT_LOAD_FACTOR = 500


class ScoreRange:
    """A score interval: ``min``/``max`` with exclusive flags (``(1.5`` is exclusive)."""

    __slots__ = ("min", "max", "minex", "maxex")

    def __init__(self, lo: float, hi: float, minex: bool = False, maxex: bool = False):
        self.min = lo
        self.max = hi
        self.minex = minex
        self.maxex = maxex

    def is_empty(self) -> bool:
        return self.min > self.max or (self.min == self.max and (self.minex or self.maxex))


class LexRange:
    """A member interval. ``min``/``max`` are bytes, or ``None`` with ``-``/``+`` meaning.

    ``lo_kind``/``hi_kind`` are -1 for ``-`` (below everything), 1 for ``+``
    (above everything) and 0 for a real bound held in ``min``/``max``.
    """

    __slots__ = ("lo_kind", "hi_kind", "min", "max", "minex", "maxex")

    def __init__(self, lo_kind: int, lo: bytes, minex: bool, hi_kind: int, hi: bytes, maxex: bool):
        self.lo_kind, self.min, self.minex = lo_kind, lo, minex
        self.hi_kind, self.max, self.maxex = hi_kind, hi, maxex

    def above_min(self, member: bytes) -> bool:
        if self.lo_kind:
            return self.lo_kind < 0
        return member > self.min if self.minex else member >= self.min

    def below_max(self, member: bytes) -> bool:
        if self.hi_kind:
            return self.hi_kind > 0
        return member < self.max if self.maxex else member <= self.max


class ZSetValue:
    """A Redis sorted set."""

    __slots__ = ("scores", "index", "listpack", "cursors")
    TYPE_NAME = b"zset"

    def __init__(
        self,
        items: Iterable[tuple[bytes, float]] = (),
        max_entries: int = DEFAULT_MAX_ENTRIES,
        max_value: int = DEFAULT_MAX_VALUE,
    ):
        self.scores: dict[bytes, float] = dict(items)
        self.listpack = self.fits_listpack(max_entries, max_value)
        if self.listpack:
            for member, score in self.scores.items():
                if score == 0:
                    self.scores[member] = 0.0
        self.index = SortedKeys([score_key(score) + member for member, score in self.scores.items()])
        self.cursors: dict[int, bytes] | None = None  # ZSCAN cursor → key it stopped at

    # -- encoding ------------------------------------------------------------

    def fits_listpack(self, max_entries: int, max_value: int) -> bool:
        """Would Redis keep these members as a listpack under these limits?"""
        if len(self.scores) > max_entries:
            return False
        for member in self.scores:
            if len(member) > max_value:
                return False
        return True

    def encoding(self) -> bytes:
        return b"listpack" if self.listpack else b"skiplist"

    def make_room(self, member: bytes, max_entries: int, max_value: int) -> None:
        """Before adding the new ``member``: leave the listpack encoding if Redis would.

        Redis converts *before* inserting, so the member that tips a listpack
        over is already stored the skiplist way (a ``-0`` score stays ``-0``).
        """
        if self.listpack and (len(self.scores) + 1 > max_entries or len(member) > max_value):
            self.listpack = False

    # -- container protocol ----------------------------------------------------

    def __len__(self) -> int:
        return len(self.scores)

    def __contains__(self, member: object) -> bool:
        return member in self.scores

    def __iter__(self) -> Iterator[bytes]:
        """Members in rank order."""
        for key in self.index:
            yield key[8:]

    def items(self) -> Iterator[tuple[bytes, float]]:
        """(member, score) pairs in rank order (what persistence writes)."""
        scores = self.scores
        for key in self.index:
            member = key[8:]
            yield member, scores[member]

    def _entries(self, keys: Iterable[bytes]) -> Iterator[tuple[float, bytes]]:
        """Index keys → (score, member) entries."""
        scores = self.scores
        for key in keys:
            member = key[8:]
            yield scores[member], member

    def __repr__(self) -> str:
        return f"ZSetValue({list(self.items())!r})"

    def copy(self) -> ZSetValue:
        """A new sorted set with the same members and encoding (COPY keeps the encoding)."""
        dup = ZSetValue.__new__(ZSetValue)
        dup.scores = dict(self.scores)
        dup.index = SortedKeys(self.index)
        dup.listpack = self.listpack
        dup.cursors = None
        return dup

    def memory_items(self) -> Iterator[bytes]:
        return iter(self.scores)

    def __sizeof__(self) -> int:
        """The object, the score dict and the index with its keys (members come from ``memory_items``)."""
        n = len(self.index)
        # Per member: a pointer in the index's lists, the fixed part of its key (a bytes
        # object of 8 + len(member) bytes) and the score's float object.
        per_member = 8 + sys.getsizeof(b"") + 8 + sys.getsizeof(0.0)
        return object.__sizeof__(self) + sys.getsizeof(self.scores) + n * per_member

    # -- changes ---------------------------------------------------------------

    def score(self, member: bytes) -> float | None:
        return self.scores.get(member)

    def set_score(self, member: bytes, score: float) -> None:
        """Give ``member`` a score, adding it if absent."""
        old = self.scores.get(member)
        if old is None:
            if self.listpack and score == 0:
                score = 0.0  # a listpack keeps -0 as the integer 0
            self.scores[member] = score
            self.index.add(score_key(score) + member)
        elif old != score:  # Redis compares with ==, so 0 and -0 count as unchanged
            self.rescore(member, old, score)

    def rescore(self, member: bytes, old: float, score: float) -> None:
        """Move ``member`` from its current score ``old`` to a different ``score``.

        ZADD's common case, an update of a known member, calls this directly.
        """
        if self.listpack and score == 0:
            score = 0.0
        index = self.index
        index.remove(score_key(old) + member)
        self.scores[member] = score
        index.add(score_key(score) + member)

    def add_many(self, members: Iterable[bytes], scores: Iterable[float]) -> tuple[int, int]:
        """Set the scores of distinct members at once (a skiplist set); returns (added, updated).

        The index takes the new keys in one sorted batch, which is much cheaper
        than inserting them one at a time.
        """
        current = self.scores
        index = self.index
        fresh: list[bytes] = []
        added = updated = 0
        for member, score in zip(members, scores, strict=True):
            old = current.get(member)
            if old is None:
                added += 1
            elif old == score:
                continue
            else:
                index.remove(score_key(old) + member)
                updated += 1
            current[member] = score
            fresh.append(score_key(score) + member)
        index.update(fresh)
        return added, updated

    def remove(self, member: bytes) -> bool:
        score = self.scores.pop(member, None)
        if score is None:
            return False
        self.index.remove(score_key(score) + member)
        return True

    def pop(self, count: int, highest: bool) -> list[tuple[float, bytes]]:
        """Remove and return up to ``count`` members from the low (or high) end."""
        index = self.index
        n = len(index)
        count = min(count, n)
        if count == 1:
            keys = [index.pop(-1 if highest else 0)]
        elif highest:
            keys = list(index.islice(n - count, n, reverse=True))
            del index[n - count:]
        else:
            keys = list(index.islice(0, count))
            del index[:count]
        scores = self.scores
        taken = []
        for key in keys:
            member = key[8:]
            taken.append((scores.pop(member), member))
        return taken

    def pop_one(self, highest: bool) -> tuple[float, bytes]:
        """Remove and return the lowest (or highest) entry of a non-empty set."""
        member = self.index.pop(-1 if highest else 0)[8:]
        return self.scores.pop(member), member

    def remove_positions(self, start: int, stop: int) -> int:
        """Remove the members at ranks ``start`` to ``stop - 1``; returns how many."""
        if start >= stop:
            return 0
        index = self.index
        scores = self.scores
        for key in index.islice(start, stop):
            del scores[key[8:]]
        del index[start:stop]
        return stop - start

    # -- reading ---------------------------------------------------------------

    def rank(self, member: bytes) -> int | None:
        """0-based position of ``member`` in ascending order, or None."""
        score = self.scores.get(member)
        if score is None:
            return None
        return self.index.bisect_left(score_key(score) + member)

    def slice(self, start: int, stop: int, reverse: bool = False) -> Iterator[tuple[float, bytes]]:
        """(score, member) at ranks ``start`` to ``stop - 1``, ascending (or descending)."""
        return self._entries(self.index.islice(start, stop, reverse=reverse))

    def at(self, position: int) -> tuple[float, bytes]:
        member = self.index[position][8:]
        return self.scores[member], member

    def random_entry(self) -> tuple[float, bytes]:
        return self.at(random.randrange(len(self.index)))

    def score_positions(self, spec: ScoreRange) -> tuple[int, int]:
        """The ranks [start, stop) whose scores lie in ``spec``."""
        index = self.index
        n = len(index)
        lo = spec.min
        if spec.minex:
            if lo == _INF:
                return n, n
            lo = _nextafter(lo, _INF)
        start = 0 if lo == -_INF else index.bisect_left(score_key(lo))
        hi = spec.max
        if spec.maxex:
            stop = index.bisect_left(score_key(hi))
        elif hi == _INF:
            stop = n
        else:
            stop = index.bisect_left(score_key(_nextafter(hi, _INF)))
        return start, max(start, stop)

    def lex_positions(self, spec: LexRange, reverse: bool = False) -> tuple[int, int]:
        """The ranks [start, stop) whose members lie in ``spec`` (members of equal score).

        With unequal scores the members are not in lexical order and the answer is
        whatever Redis's walk gives: for a listpack, from the head (from the tail when
        ``reverse``) to the first member past the near bound, which must also be within
        the far one, then on while members stay within the far bound. (A skiplist's walk
        depends on its random levels; there the bisection below stands.)
        """
        index = self.index
        n = len(index)
        if self.listpack and n:
            return self._listpack_lex_walk(spec, reverse)
        lo, hi = 0, n
        above_min = spec.above_min
        while lo < hi:  # first rank at or above the minimum
            mid = (lo + hi) // 2
            if above_min(index[mid][8:]):
                hi = mid
            else:
                lo = mid + 1
        start = lo
        hi = n
        below_max = spec.below_max
        while lo < hi:  # first rank past the maximum
            mid = (lo + hi) // 2
            if below_max(index[mid][8:]):
                lo = mid + 1
            else:
                hi = mid
        return start, max(start, lo)

    def _listpack_lex_walk(self, spec: LexRange, reverse: bool) -> tuple[int, int]:
        """zzlFirstInLexRange / zzlLastInLexRange and the loops that follow them."""
        members = [key[8:] for key in self.index]
        n = len(members)
        above_min, below_max = spec.above_min, spec.below_max
        if not above_min(members[-1]) or not below_max(members[0]):  # zzlIsInLexRange
            return 0, 0
        if not reverse:
            start = next((i for i in range(n) if above_min(members[i])), n)
            if start == n or not below_max(members[start]):
                return 0, 0
            stop = start
            while stop < n and below_max(members[stop]):
                stop += 1
            return start, stop
        last = next((i for i in range(n - 1, -1, -1) if below_max(members[i])), -1)
        if last < 0 or not above_min(members[last]):
            return 0, 0
        start = last
        while start > 0 and above_min(members[start - 1]):
            start -= 1
        return start, last + 1

    def scan(self, cursor: int, count: int) -> tuple[int, list[tuple[float, bytes]]]:
        """Up to ``count`` entries after ``cursor`` (0: start), and the next cursor (0: done).

        The walk goes up the index. Each cursor handed out is remembered with
        the key of the last entry returned (a few dozen per set, oldest dropped
        first), and the next call resumes just past that key. Keys of members
        that stay put do not move whatever else is added or removed, so a
        member present for the whole scan is returned, unless its own score
        changes to fall behind the cursor. A cursor that is no longer
        remembered is read as a rank, which can only skip members if some
        were removed meanwhile.
        """
        index = self.index
        n = len(index)
        cursors = self.cursors
        if cursor == 0:
            start = 0
        else:
            boundary = cursors.get(cursor) if cursors is not None else None
            start = min(cursor & _RANK_MASK, n) if boundary is None else index.bisect_right(boundary)
        stop = min(start + count, n)
        entries = list(self._entries(index.islice(start, stop)))
        if stop >= n:
            return 0, entries
        if cursors is None:
            cursors = self.cursors = {}
        elif len(cursors) >= _MAX_CURSORS:
            del cursors[next(iter(cursors))]
        # The rank in the low bits, and a random tag above it so concurrent scans
        # that reach the same rank keep their own cursors.
        next_cursor = (random.getrandbits(23) + 1) << _RANK_BITS | stop
        cursors[next_cursor] = index[stop - 1]
        return next_cursor, entries
