"""Argument parsing shared by all commands, with Redis's exact error texts.

Redis parses numbers strictly (``string2ll``: no spaces, no ``+``, no leading
zeros, within 64 bits) and reports each failure with a fixed message. Every
command goes through these helpers so the messages stay identical.
"""

from __future__ import annotations

import math

from server.protocol import Error

LLONG_MIN = -(2**63)
LLONG_MAX = 2**63 - 1

SYNTAX_ERROR = Error(b"ERR syntax error")
NOT_INTEGER = Error(b"ERR value is not an integer or out of range")
NOT_FLOAT = Error(b"ERR value is not a valid float")
OVERFLOW = Error(b"ERR increment or decrement would overflow")
NOT_POSITIVE = Error(b"ERR value is out of range, must be positive")


# The canonical spellings of small integers (indexes, counts, timeouts, scores) and their
# values: one dict lookup answers for most arguments. Any other text takes the full check.
_SMALL_INTS = {b"%d" % i: i for i in range(-1000, 10001)}


def to_int(text: bytes, _small: dict[bytes, int] = _SMALL_INTS) -> int | None:
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


def parse_nonneg(text: bytes, error: Error = NOT_POSITIVE) -> int:
    value = parse_int(text)
    if value < 0:
        raise error
    return value


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
