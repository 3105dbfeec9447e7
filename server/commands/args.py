"""Argument parsing shared by all commands, with Redis's exact error texts.

Redis parses numbers strictly (``string2ll``: no spaces, no ``+``, no leading
zeros, within 64 bits) and reports each failure with a fixed message. Every
command goes through these helpers so the messages stay identical.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from server.longdouble import LongDoubleError, round_extended
from server.longdouble import parse as parse_long_double
from server.protocol import Error

LLONG_MIN = -(2**63)
LLONG_MAX = 2**63 - 1
INT_MIN, INT_MAX = -(2**31), 2**31 - 1

SYNTAX_ERROR = Error(b"ERR syntax error")
NOT_INTEGER = Error(b"ERR value is not an integer or out of range")
NOT_FLOAT = Error(b"ERR value is not a valid float")
OVERFLOW = Error(b"ERR increment or decrement would overflow")
NAN_OR_INFINITY = Error(b"ERR increment would produce NaN or Infinity")
NOT_POSITIVE = Error(b"ERR value is out of range, must be positive")
INVALID_CURSOR = Error(b"ERR invalid cursor")
NO_SUCH_KEY = Error(b"ERR no such key")
VALUE_OUT_OF_RANGE = Error(b"ERR value is out of range")
DB_OUT_OF_RANGE = Error(b"ERR DB index is out of range")
NUMKEYS_ERROR = Error(b"ERR numkeys should be greater than 0")
TOO_MANY_KEYS = Error(b"ERR Number of keys can't be greater than number of args")
NEGATIVE_KEYS = Error(b"ERR Number of keys can't be negative")
COUNT_NOT_POSITIVE = Error(b"ERR COUNT must be > 0")
COUNT_ERROR = Error(b"ERR count should be greater than 0")
TIMEOUT_NEGATIVE = Error(b"ERR timeout is negative")
TIMEOUT_NOT_FLOAT = Error(b"ERR timeout is not a float or out of range")
TIMEOUT_NOT_INTEGER = Error(b"ERR timeout is not an integer or out of range")


# The canonical spellings of small integers (indexes, counts, timeouts, scores) and their
# values: one dict lookup answers for most arguments. Any other text takes the full check.
_SMALL_INTS = {b"%d" % i: i for i in range(-1000, 10001)}


def to_int(text: bytes | bytearray, _small: dict[Any, int] = _SMALL_INTS) -> int | None:
    """``text`` as a 64-bit integer the way Redis's string2ll reads it, else None."""
    try:
        value = _small.get(text)
        if value is not None:
            return value
    except TypeError:  # a bytearray (a string built by APPEND or SETRANGE) cannot be a dict key
        pass
    n = len(text)
    if n == 0 or n > 20:
        return None
    if n == 1:
        c = text[0]
        return c - 48 if 48 <= c <= 57 else None
    first = text[0]
    if first == 48:  # "0..." with more digits
        return None
    if first == 45:  # '-'
        if text[1] == 48:
            return None
    elif not 49 <= first <= 57:
        return None
    if not text[1:].isdigit():
        return None
    value = int(text)
    if value < LLONG_MIN or value > LLONG_MAX:
        return None
    return value


def parse_int(text: bytes, error: Error = NOT_INTEGER) -> int:
    value = to_int(text)
    if value is None:
        raise error
    return value


def parse_range(text: bytes, low: int, high: int, error: Error | None = None) -> int:
    """getRangeLongFromObjectOrReply: a strict integer within [low, high].

    Without ``error``: NOT_INTEGER, or "value is out of range, value must between low and high";
    with it, ``error`` for both, as Redis does when a caller passes its own message.
    """
    value = to_int(text)
    if value is None:
        raise error or NOT_INTEGER
    if value < low or value > high:
        raise error or Error(b"ERR value is out of range, value must between %d and %d" % (low, high))
    return value


def parse_c_int(text: bytes, error: Error | None = None) -> int:
    """getIntFromObjectOrReply: a strict integer that fits a C ``int`` (DB indexes)."""
    return parse_range(text, INT_MIN, INT_MAX, error)


def parse_random_count(text: bytes) -> int:
    """SRANDMEMBER's, HRANDFIELD's and ZRANDMEMBER's count: any integer but LONG_MIN."""
    return parse_range(text, -LLONG_MAX, LLONG_MAX)


def check_pair_count(count: int) -> None:
    """With WITHVALUES/WITHSCORES the reply holds twice as many elements: +-LONG_MAX/2 at most."""
    if not -(LLONG_MAX // 2) <= count <= LLONG_MAX // 2:
        raise VALUE_OUT_OF_RANGE


def to_float(text: bytes) -> float | None:
    """A double as Redis's string2ld/strtold accepts it (``inf``, ``-inf``, no NaN, no spaces)."""
    if not text or len(text) > 5120 or text[0] in b" \t\n\r\v\f" or text[-1] in b" \t\n\r\v\f":
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    if math.isnan(value):
        return None
    low = text.lower()
    if b"_" in low or low.startswith((b"0x", b"-0x", b"+0x")):
        try:
            return float.fromhex(text.decode()) if b"_" not in low else None
        except ValueError:
            return None
    return value


def parse_float(text: bytes, error: Error = NOT_FLOAT) -> float:
    value = to_float(text)
    if value is None:
        raise error
    return value


def upper(arg: bytes) -> bytes:
    return arg.upper()


# --------------------------------------------------------------------------- timeouts


def parse_timeout(arg: bytes) -> float:
    """A blocking timeout in seconds (BLPOP, BZPOPMIN ...) as Redis 7.0 reads it; 0 means wait forever.

    getTimeoutFromObjectOrReply reads a ``long double`` (so ``1e5000`` is not a number, while ``1e400``
    is), multiplies by 1000 and rounds *up* to whole milliseconds (``ceill``) into a C ``long long``:
    0.0001 waits 1 ms, while a tiny negative number becomes 0, forever. Values beyond that type
    (infinity included) come out as its minimum, hence "negative". Returns seconds.
    """
    try:
        value = parse_long_double(arg)
    except LongDoubleError:
        raise TIMEOUT_NOT_FLOAT from None
    if isinstance(value, float):  # ±inf
        raise TIMEOUT_NEGATIVE
    ms = round_extended(value * 1000)
    if ms.__class__ is float:
        raise TIMEOUT_NEGATIVE
    millis = math.ceil(ms)
    if not LLONG_MIN <= millis <= LLONG_MAX or millis < 0:
        raise TIMEOUT_NEGATIVE
    # Redis 7.0 has no upper check: a deadline beyond the clock's range just never comes.
    return millis / 1000.0


def parse_timeout_ms(arg: bytes) -> int:
    """A timeout in milliseconds (XREAD BLOCK, CLIENT PAUSE): a strict integer, not negative."""
    value = parse_int(arg, TIMEOUT_NOT_INTEGER)
    if value < 0:
        raise TIMEOUT_NEGATIVE
    return value


# --------------------------------------------------------------------------- index ranges


def rank_range(start: int, stop: int, n: int) -> tuple[int, int] | None:
    """Redis's index arithmetic for LRANGE, LTRIM and the rank forms of ZRANGE/ZREMRANGEBYRANK:
    negatives count from the end; a clamped inclusive (start, stop), or None if the range is empty."""
    if start < 0:
        start += n
    if stop < 0:
        stop += n
    if start < 0:
        start = 0
    if start > stop or start >= n:
        return None
    if stop >= n:
        stop = n - 1
    return start, stop


def clamp_range(start: int, end: int, total: int) -> tuple[int, int]:
    """GETRANGE's, BITCOUNT's and BITPOS's index arithmetic: negatives count from the end, the result
    is clipped to [0, total - 1] (it may come out with start > end: an empty range)."""
    if start < 0:
        start = max(total + start, 0)
    if end < 0:
        end = max(total + end, 0)
    if end >= total:
        end = total - 1
    return start, end


# --------------------------------------------------------------------------- option parsing


class ArgCursor:
    """Reads a command's arguments left to right, the way Redis's option loops do.

    A loop is ``while args: opt = args.next_keyword(); if opt == b"COUNT" and args.has(1): ...``;
    each branch tests, in Redis's order, the keyword, what it may not be combined with and how
    many arguments it needs, so the first failing check gives Redis's error. No index arithmetic.
    """

    __slots__ = ("args", "pos")

    def __init__(self, args: Sequence[bytes], pos: int = 0) -> None:
        self.args = args
        self.pos = pos

    def __bool__(self) -> bool:
        """Whether any argument is left."""
        return self.pos < len(self.args)

    def has(self, count: int) -> bool:
        """Whether at least ``count`` arguments are left (the values an option needs)."""
        return len(self.args) - self.pos >= count

    def left(self) -> int:
        return len(self.args) - self.pos

    def peek(self) -> bytes:
        """The next argument without consuming it; at the end, a syntax error."""
        if self.pos >= len(self.args):
            raise SYNTAX_ERROR
        return self.args[self.pos]

    def skip(self, count: int = 1) -> None:
        self.pos += count

    def next_bytes(self) -> bytes:
        """The next argument as given; a missing one is a syntax error."""
        pos = self.pos
        if pos >= len(self.args):
            raise SYNTAX_ERROR
        self.pos = pos + 1
        return self.args[pos]

    def next_keyword(self) -> bytes:
        """The next argument upper-cased, for comparing with an option name (Redis's strcasecmp)."""
        return self.next_bytes().upper()

    def next_int(self, error: Error = NOT_INTEGER) -> int:
        """The next argument as a strict 64-bit integer (``error`` when it is not one)."""
        return parse_int(self.next_bytes(), error)

    def next_float(self, error: Error = NOT_FLOAT) -> float:
        """The next argument as a double as Redis reads it (``error`` when it is not one)."""
        return parse_float(self.next_bytes(), error)

    def next_many(self, count: int) -> Sequence[bytes]:
        """The next ``count`` arguments (fewer at the end: callers check ``has`` first)."""
        pos = self.pos
        self.pos = pos + count
        return self.args[pos : pos + count]

    def rest(self) -> Sequence[bytes]:
        """Every argument left; the cursor ends."""
        pos = self.pos
        self.pos = len(self.args)
        return self.args[pos:]

    def finish(self) -> None:
        """Redis's syntax error if anything is left unread."""
        if self.pos < len(self.args):
            raise SYNTAX_ERROR


class OneOf:
    """An optional-keyword group such as ``[NX|XX]`` or ``[EX|PX|EXAT|PXAT|KEEPTTL]``.

    Redis's parsers accept one word of the group, repeated as often as given, but reject a
    second, different word of the same group with a syntax error.
    """

    __slots__ = ("words", "chosen")

    def __init__(self, *words: bytes) -> None:
        self.words = frozenset(words)
        self.chosen: bytes | None = None

    def take(self, word: bytes) -> bool:
        """Records ``word`` (upper-case) if it belongs to the group and agrees with any earlier choice."""
        if word not in self.words or self.chosen not in (None, word):
            return False
        self.chosen = word
        return True


# --------------------------------------------------------------------------- SCAN family

ULONG_MAX = 2**64 - 1


def c_string(value: bytes) -> bytes:
    """What Redis's C string functions (``%s``, strcasecmp ...) see of a value: the bytes before a NUL."""
    nul = value.find(b"\0")
    return value if nul < 0 else value[:nul]


def parse_scan_cursor(arg: bytes) -> int:
    """A SCAN/HSCAN/SSCAN/ZSCAN cursor, by Redis 7.0's rules (parseScanCursorOrReply).

    Redis reads it with ``strtoul(..., 10)`` and rejects a first character that is white space,
    anything left after the digits, and values past 64 bits. So: an optional sign, decimal
    digits, nothing else; a ``-`` wraps around as C's unsigned negation does; the empty string
    is cursor 0; the C string ends at a NUL byte, so what follows one is never read.
    """
    nul = arg.find(b"\0")
    text = arg if nul < 0 else arg[:nul]
    negative = False
    if text[:1] in (b"+", b"-"):
        negative = text[:1] == b"-"
        text = text[1:]
        if not text:  # a sign with no digits: strtoul reads nothing and eptr stays on the sign
            raise INVALID_CURSOR
    if text and not text.isdigit():  # bytes.isdigit is ASCII digits only
        raise INVALID_CURSOR
    value = int(text) if text else 0
    if value > ULONG_MAX:
        raise INVALID_CURSOR
    return (-value) & ULONG_MAX if negative else value


def parse_scan_options(args: Sequence[bytes], allow_type: bool) -> tuple[int, bytes | None, bytes | None]:
    """SCAN-family options ``[MATCH pattern] [COUNT count] [TYPE type]`` in any order, repeated.

    Returns (count, pattern or None, type name or None). TYPE is SCAN's alone (``allow_type``).
    Checks come in Redis's order: an option without its value, or an unknown one, is a syntax
    error; a COUNT that is not an integer is NOT_INTEGER, one below 1 a syntax error.
    """
    count = 10
    pattern: bytes | None = None
    typename: bytes | None = None
    cursor = ArgCursor(args)
    while cursor:
        opt = cursor.next_keyword()
        if opt == b"COUNT" and cursor.has(1):
            count = cursor.next_int()
            if count < 1:
                raise SYNTAX_ERROR
        elif opt == b"MATCH" and cursor.has(1):
            pattern = cursor.next_bytes()
        elif opt == b"TYPE" and allow_type and cursor.has(1):
            typename = cursor.next_bytes()
        else:
            raise SYNTAX_ERROR
    return count, pattern, typename


def parse_mpop(args: Sequence[bytes], first: bytes, second: bytes) -> tuple[list[bytes], bool, int]:
    """``numkeys key [key ...] FIRST|SECOND [COUNT count]``: LMPOP, ZMPOP and their blocking forms.

    Returns (keys, whether FIRST was given, count: 1 when absent). The blocking forms read their
    timeout only after this, as Redis does. Errors in Redis's order: numkeys, then a missing or
    unknown FIRST|SECOND word, then COUNT (given once) and anything after it.
    """
    numkeys = to_int(args[0])
    if numkeys is None or numkeys < 1:
        raise NUMKEYS_ERROR
    where_at = numkeys + 1
    if where_at >= len(args):
        raise SYNTAX_ERROR
    where = args[where_at].upper()
    if where != first and where != second:
        raise SYNTAX_ERROR
    count = -1
    options = ArgCursor(args, where_at + 1)
    while options:
        if count == -1 and options.next_keyword() == b"COUNT" and options.has(1):
            count = options.next_int(COUNT_ERROR)
            if count < 1:
                raise COUNT_ERROR
        else:
            raise SYNTAX_ERROR
    return list(args[1:where_at]), where == first, max(count, 1)
