"""Glob-style matching with Redis's answers and a bounded cost (KEYS, SCAN MATCH, PSUBSCRIBE,
CONFIG GET, ACL patterns, COMMAND LIST FILTERBY PATTERN).

Redis matches with a hand-written backtracking matcher (``stringmatchlen`` in util.c). Its
tokens are read the same way whatever the subject is, so a pattern is first cut into tokens:

- ``*`` any run of bytes (consecutive stars are one), ``?`` any one byte;
- ``[abc]``, ``[a-z]`` (ends in either order), ``[^...]`` negation, ``\\x`` inside a class is a
  literal ``x``; a class missing its ``]`` ends at the pattern's end; ``[]`` matches nothing,
  ``[^]`` and a trailing ``[^`` any byte, a trailing ``[`` nothing; ``[a-]`` is the range from
  ``a`` to ``]``;
- ``\\x`` outside a class is a literal ``x``; a trailing lone ``\\`` is a literal;
- bytes compare as C's signed ``char``: ``[a-\\xff]`` is the range from -1 to 97;
- without case (CONFIG GET ...), ASCII letters are folded, range ends after ordering them
  (so ``[Z-a]`` becomes the empty range z..a), and an escaped byte in a class is still exact;
- a non-empty pattern never matches the empty string (Redis's loop never starts), not even
  ``*``; KEYS and SCAN treat a lone ``*`` as "everything" before matching.

Every token but ``*`` matches exactly one byte, so each becomes the set of bytes it accepts.
Between stars the pattern is then a fixed-length segment, and the earliest place a segment fits
is always the best one: the regular expression built here finds each middle segment inside an
atomic group (no backtracking into it) and anchors the last one at the end. That gives Redis's
answers (its ``skipLongerMatches`` pruning decides the same) in O(pattern × subject) time, where
a plain ``.*`` translation backtracks exponentially on ``a*a*a*...b``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

_STAR = None  # the token for ``*``; every other token is the frozenset of bytes it matches
Token = frozenset[int] | None


def _signed(c: int) -> int:
    return c - 256 if c >= 128 else c


def _lower(c: int) -> int:
    """C's tolower in the C locale on a signed char: only A-Z change."""
    return c + 32 if 65 <= c <= 90 else c


def _range_set(lo: int, hi: int, nocase: bool) -> frozenset[int]:
    """Bytes within signed ``lo..hi``; without case, both ends and the byte are folded first."""
    if nocase:
        lo, hi = _lower(lo), _lower(hi)
        return frozenset(c for c in range(256) if lo <= _lower(_signed(c)) <= hi)
    return frozenset(c for c in range(256) if lo <= _signed(c) <= hi)


def _same_letter(c: int) -> frozenset[int]:
    """Bytes equal to ``c`` once ASCII letters are folded."""
    want = _lower(c)
    return frozenset(b for b in range(256) if _lower(b) == want)


def tokenize(pattern: bytes, nocase: bool = False) -> list[Token]:
    """The pattern as stars and one-byte sets, read as Redis's matcher reads it."""
    tokens: list[Token] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == 0x2A:  # '*'
            if not tokens or tokens[-1] is not _STAR:
                tokens.append(_STAR)
        elif c == 0x3F:  # '?'
            tokens.append(frozenset(range(256)))
        elif c == 0x5B:  # '['
            i += 1
            negate = i < n and pattern[i] == 0x5E  # '^'
            if negate:
                i += 1
            members: set[int] = set()
            while True:
                if i < n and pattern[i] == 0x5C and n - i >= 2:  # escaped: exact even without case
                    i += 1
                    members.add(pattern[i])
                elif i < n and pattern[i] == 0x5D:  # ']'
                    break
                elif i >= n:  # unterminated: the class ends with the pattern
                    i -= 1
                    break
                elif n - i >= 3 and pattern[i + 1] == 0x2D:  # 'x-y'
                    lo, hi = _signed(pattern[i]), _signed(pattern[i + 2])
                    if lo > hi:
                        lo, hi = hi, lo
                    members |= _range_set(lo, hi, nocase)
                    i += 2
                elif nocase:
                    members |= _same_letter(pattern[i])
                else:
                    members.add(pattern[i])
                i += 1
            tokens.append(frozenset(range(256)) - members if negate else frozenset(members))
        else:
            if c == 0x5C and n - i >= 2:  # '\\': the next byte is literal
                i += 1
                c = pattern[i]
            if nocase:
                tokens.append(_same_letter(c))
            else:
                tokens.append(frozenset((c,)))
        i += 1
    return tokens


def _class(members: frozenset[int]) -> bytes:
    """A regex item matching exactly the bytes in ``members``."""
    if len(members) == 256:
        return b"(?s:.)"
    if not members:
        return b"(?!)"
    if len(members) == 1:
        return re.escape(bytes(members))
    parts: list[bytes] = []
    ordered = sorted(members)
    start = prev = ordered[0]
    for c in [*ordered[1:], -1]:
        if c == prev + 1:
            prev = c
            continue
        lo, hi = b"\\x%02x" % start, b"\\x%02x" % prev
        parts.append(lo if start == prev else lo + b"-" + hi)
        start = prev = c
    return b"[" + b"".join(parts) + b"]"


def _translate(pattern: bytes, nocase: bool) -> re.Pattern[bytes]:
    segments: list[list[bytes]] = [[]]
    for token in tokenize(pattern, nocase):
        if token is _STAR:
            segments.append([])
        else:
            segments[-1].append(_class(token))
    parts = [b"(?=.)" if pattern else b""]  # only the empty pattern matches the empty string
    parts.extend(segments[0])
    if len(segments) == 1:
        parts.append(rb"\Z")
    else:
        for middle in segments[1:-1]:
            if middle:  # the earliest fit is the best: never come back to try a later one
                parts.append(b"(?>.*?" + b"".join(middle) + b")")
        if segments[-1]:
            parts.append(b".*" + b"".join(segments[-1]) + rb"\Z")
    return re.compile(b"".join(parts), re.DOTALL)


@lru_cache(maxsize=1024)
def compile_glob(pattern: bytes, nocase: bool = False) -> re.Pattern[bytes]:
    return _translate(pattern, nocase)


def glob_match(pattern: bytes, subject: bytes, nocase: bool = False) -> bool:
    """True if ``subject`` matches the glob ``pattern`` the way Redis decides."""
    if pattern == b"*":
        return True
    return compile_glob(pattern, nocase).match(subject) is not None


def glob_matcher(pattern: bytes | None, nocase: bool = False) -> Callable[[bytes], object] | None:
    """A predicate for repeated matching (SCAN, KEYS); None pattern matches everything."""
    if pattern is None or pattern == b"*":
        return None
    return compile_glob(pattern, nocase).match
