"""Glob-style matching exactly as Redis does it (KEYS, SCAN MATCH, PSUBSCRIBE, CONFIG GET).

Redis matches with a small hand-written matcher (``stringmatchlen``). We get the
same answers by translating a pattern, once, into a regular expression that
follows the same rules:

- ``*`` any run of bytes, ``?`` any one byte;
- ``[abc]``, ``[a-z]`` (ends in either order), ``[^...]`` negation, ``\\x`` inside
  a class is a literal ``x``; a class missing its ``]`` ends at the pattern's end;
  ``[]`` matches nothing and ``[^]`` any byte;
- ``\\x`` outside a class is a literal ``x``; a trailing lone ``\\`` is a literal;
- range ends are compared as C's signed ``char``: ``[a-\\xff]`` is the range from
  -1 to 97, i.e. bytes 0x00-0x61 and 0xff;
- a non-empty pattern never matches the empty string (Redis's loop never starts),
  not even ``*``; KEYS and SCAN treat a lone ``*`` as "everything" before matching.
"""

from __future__ import annotations

import re
from functools import lru_cache


def _translate(pattern: bytes, nocase: bool) -> re.Pattern[bytes]:
    out: list[bytes] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i : i + 1]
        if c == b"*":
            while i + 1 < n and pattern[i + 1 : i + 2] == b"*":
                i += 1
            out.append(b".*")
        elif c == b"?":
            out.append(b".")
        elif c == b"[":
            i += 1
            negate = i < n and pattern[i : i + 1] == b"^"
            if negate:
                i += 1
            members: list[bytes] = []
            while True:
                if i < n and pattern[i : i + 1] == b"\\" and n - i >= 2:
                    i += 1
                    members.append(re.escape(pattern[i : i + 1]))
                elif i < n and pattern[i : i + 1] == b"]":
                    break
                elif i >= n:
                    i -= 1  # unterminated class: it ends with the pattern
                    break
                elif n - i >= 3 and pattern[i + 1 : i + 2] == b"-":
                    members.extend(_signed_range(pattern[i], pattern[i + 2]))
                    i += 2
                else:
                    members.append(re.escape(pattern[i : i + 1]))
                i += 1
            if members:
                out.append(b"[" + (b"^" if negate else b"") + b"".join(members) + b"]")
            else:
                out.append(b"(?s:.)" if negate else b"(?!)")
        elif c == b"\\":
            if n - i >= 2:
                i += 1
            out.append(re.escape(pattern[i : i + 1]))
        else:
            out.append(re.escape(c))
        i += 1
    flags = re.DOTALL | (re.IGNORECASE if nocase else 0)
    head = b"(?=.)" if pattern else b""
    return re.compile(head + b"".join(out) + rb"\Z", flags)


def _signed_range(first: int, last: int) -> list[bytes]:
    """A class range ``first-last`` as regex ranges, with Redis's signed-char comparison."""
    lo, hi = (first - 256 if first >= 128 else first), (last - 256 if last >= 128 else last)
    if lo > hi:
        lo, hi = hi, lo
    if lo < 0 <= hi:  # wraps: the high bytes (negative) then 0 up to ``hi``
        pairs = [(lo + 256, 255), (0, hi)]
    else:
        pairs = [(lo & 255, hi & 255)]
    return [re.escape(bytes([a])) + b"-" + re.escape(bytes([b])) for a, b in pairs]


@lru_cache(maxsize=1024)
def compile_glob(pattern: bytes, nocase: bool = False) -> re.Pattern[bytes]:
    return _translate(pattern, nocase)


def glob_match(pattern: bytes, subject: bytes, nocase: bool = False) -> bool:
    """True if ``subject`` matches the glob ``pattern`` the way Redis decides."""
    if pattern == b"*":
        return True
    return compile_glob(pattern, nocase).match(subject) is not None


def glob_matcher(pattern: bytes | None, nocase: bool = False):
    """A predicate for repeated matching (SCAN, KEYS); None pattern matches everything."""
    if pattern is None or pattern == b"*":
        return None
    return compile_glob(pattern, nocase).match
