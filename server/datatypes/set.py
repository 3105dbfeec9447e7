"""The set type: unique byte strings with O(1) membership, insertion, removal and random pick.

Redis 7.0 stores a set either as an *intset* (a sorted array of integers, used
while every member is an integer and there are at most
``set-max-intset-entries`` of them) or as a *hashtable*; once a set has become a
hashtable it stays one. ``intset`` records which side of that line the set is
on, so OBJECT ENCODING answers like Redis, and an intset replies in ascending
numeric order, as Redis's sorted array does.

Storage is two structures kept in step:

- ``pos``: a dict member → its index in ``members`` (membership in O(1));
- ``members``: a list of the members (random pick in O(1), for SPOP and SRANDMEMBER).

Removing a member moves the last member into its slot, so both stay dense.

SSCAN walks ``members`` from the end towards the start; the cursor is the
number of slots still to visit. A removal only ever moves the *last* member
into a lower slot, and additions go to the end, so a member present for the
whole scan is never jumped over: at worst it is reported twice, which SCAN's
contract allows.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Iterable, Iterator
from math import floor

from server.commands.args import to_int

DEFAULT_MAX_INTSET = 512
_random = random.random


class SetValue:
    """A Redis set of byte strings."""

    __slots__ = ("pos", "members", "intset")
    TYPE_NAME = b"set"

    def __init__(self, members: Iterable[bytes] = (), max_intset: int = DEFAULT_MAX_INTSET):
        self.members: list[bytes] = list(dict.fromkeys(members))
        self.pos: dict[bytes, int] = {m: i for i, m in enumerate(self.members)}
        self.intset = self.fits_intset(max_intset)

    # -- encoding ------------------------------------------------------------

    def fits_intset(self, max_intset: int) -> bool:
        """Would Redis keep these members as an intset under this limit?"""
        if len(self.members) > max_intset:
            return False
        for member in self.members:
            if to_int(member) is None:
                return False
        return True

    def encoding(self) -> bytes:
        return b"intset" if self.intset else b"hashtable"

    # -- container protocol ----------------------------------------------------

    def __len__(self) -> int:
        return len(self.members)

    def __contains__(self, member: object) -> bool:
        return member in self.pos

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.members)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SetValue):
            return self.pos.keys() == other.pos.keys()
        if isinstance(other, (set, frozenset)):
            return self.pos.keys() == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, unhashable like the builtin set

    def __repr__(self) -> str:
        return f"SetValue({self.members!r})"

    # -- changes ---------------------------------------------------------------

    def add(self, member: bytes) -> bool:
        """Add ``member``; True if it was new. The caller keeps ``intset`` up to date."""
        pos = self.pos
        if member in pos:
            return False
        pos[member] = len(self.members)
        self.members.append(member)
        return True

    def remove(self, member: bytes) -> bool:
        """Remove ``member``; True if it was there. The last member fills its slot."""
        index = self.pos.pop(member, None)
        if index is None:
            return False
        members = self.members
        last = members.pop()
        if index < len(members):
            members[index] = last
            self.pos[last] = index
        return True

    def note_added(self, member: bytes, max_intset: int) -> None:
        """After adding ``member``: leave the intset encoding if Redis would."""
        if self.intset and (len(self.members) > max_intset or to_int(member) is None):
            self.intset = False

    # -- reading ---------------------------------------------------------------

    def ordered(self) -> list[bytes]:
        """The members in the order Redis replies with them: ascending for an intset."""
        if self.intset:
            return sorted(self.members, key=int)
        return list(self.members)

    def random_member(self) -> bytes:
        members = self.members
        return members[floor(_random() * len(members))]  # uniform; floor is cheaper than int() or randrange

    def pop_random(self) -> bytes:
        """Remove and return a random member (SPOP's hot path: ``random_member`` and ``remove``
        inlined; its position is known, so no lookup finds it)."""
        members = self.members
        index = floor(_random() * len(members))
        member = members[index]
        last = members.pop()  # the last member fills the slot
        if index < len(members):
            members[index] = last
            self.pos[last] = index
        del self.pos[member]
        return member

    def sample(self, count: int) -> list[bytes]:
        """``count`` distinct random members (``count`` < len)."""
        return random.sample(self.members, count)

    def copy(self) -> SetValue:
        """A new set with the same members and encoding (COPY keeps the encoding)."""
        dup = SetValue.__new__(SetValue)
        dup.pos = dict(self.pos)
        dup.members = list(self.members)
        dup.intset = self.intset
        return dup

    def memory_items(self) -> Iterator[bytes]:
        return iter(self.members)

    def __sizeof__(self) -> int:
        """The object and its two containers (members are measured through ``memory_items``)."""
        return object.__sizeof__(self) + sys.getsizeof(self.pos) + sys.getsizeof(self.members)

    def scan(self, cursor: int, count: int) -> tuple[int, list[bytes]]:
        """Up to ``count`` members below slot ``cursor`` (0: start), and the next cursor (0: done)."""
        members = self.members
        end = len(members) if cursor == 0 else min(cursor, len(members))
        start = max(end - count, 0)
        return start, members[start:end][::-1]
