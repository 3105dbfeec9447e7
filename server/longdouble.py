"""Redis's ``long double`` arithmetic, emulated exactly (INCRBYFLOAT, HINCRBYFLOAT).

Redis parses increments with ``strtold``, adds in the x86-64 ``long double``
(80-bit extended precision: a 64-bit significand, exponents down to 2**-16445)
and prints the sum with ``%.17Lf``, trimming trailing zeros. A Python float has
a 53-bit significand, so ``0.1 + 0.2`` would print ``0.30000000000000004``
where Redis prints ``0.3``. Here every value is an exact ``Fraction`` rounded
to the extended format after each operation, which reproduces Redis's digits.
"""

from __future__ import annotations

import re
from fractions import Fraction

MANTISSA_BITS = 64
MIN_EXPONENT = -16445  # the least significant bit of the smallest subnormal
MAX_VALUE_EXPONENT = 16384  # values of 2**16384 and more overflow to infinity
MAX_CHARS = 5 * 1024  # MAX_LONG_DOUBLE_CHARS: longer inputs are rejected

_DECIMAL = re.compile(rb"([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?")
_HEX = re.compile(rb"([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?\d+))?")
_SPECIAL = re.compile(rb"([+-]?)(inf|infinity|nan(?:\([0-9a-zA-Z_]*\))?)", re.IGNORECASE)

INF = float("inf")


class LongDoubleError(ValueError):
    """The text is not a number ``strtold`` accepts in full, or it over- or underflows."""


def round_extended(value: Fraction) -> Fraction | float:
    """``value`` rounded to the nearest long double (ties to even); ±inf on overflow."""
    if value == 0:
        return Fraction(0)
    negative = value < 0
    num, den = abs(value.numerator), value.denominator
    # Choose the exponent so that the significand has exactly 64 bits.
    exponent = num.bit_length() - den.bit_length() - MANTISSA_BITS
    if _scaled(num, den, exponent) >= 1 << MANTISSA_BITS:
        exponent += 1
    elif _scaled(num, den, exponent) < 1 << (MANTISSA_BITS - 1):
        exponent -= 1
    exponent = max(exponent, MIN_EXPONENT)
    mantissa = _round_half_even(num, den, exponent)
    if mantissa == 1 << MANTISSA_BITS:
        mantissa >>= 1
        exponent += 1
    if exponent + MANTISSA_BITS > MAX_VALUE_EXPONENT:
        return -INF if negative else INF
    result = Fraction(mantissa) * Fraction(2) ** exponent
    return -result if negative else result


def _scaled(num: int, den: int, exponent: int) -> int:
    """floor(num / den / 2**exponent)."""
    if exponent >= 0:
        return num // (den << exponent)
    return (num << -exponent) // den


def _round_half_even(num: int, den: int, exponent: int) -> int:
    """num / den / 2**exponent rounded to an integer, ties to even."""
    if exponent >= 0:
        den <<= exponent
    else:
        num <<= -exponent
    quotient, remainder = divmod(num, den)
    if remainder * 2 > den or (remainder * 2 == den and quotient & 1):
        quotient += 1
    return quotient


def parse(text: bytes | bytearray) -> Fraction | float:
    """``text`` as Redis's string2ld reads it: all of it must be a number, no leading space.

    Returns a Fraction, or ±inf for "inf"; raises ``LongDoubleError`` otherwise
    (NaN, trailing garbage, overflow, or a non-zero value that underflows to zero).
    """
    if not text or len(text) >= MAX_CHARS or text[:1].isspace():
        raise LongDoubleError(text)
    text = bytes(text)
    special = _SPECIAL.fullmatch(text)
    if special:
        if special.group(2)[:1].lower() == b"n":
            raise LongDoubleError(text)
        return -INF if special.group(1) == b"-" else INF
    hexa = _HEX.fullmatch(text)
    if hexa and (hexa.group(2) or hexa.group(3)):
        sign, whole, frac, exp = hexa.groups()
        frac = frac or b""
        digits = int((whole + frac) or b"0", 16)
        power = int(exp or b"0") - 4 * len(frac)
        if digits and abs(power) > 20 * MAX_VALUE_EXPONENT:
            raise LongDoubleError(text)
        exact = Fraction(digits) * Fraction(2) ** power
    else:
        decimal = _DECIMAL.fullmatch(text)
        if decimal is None or not (decimal.group(2) or decimal.group(3)):
            raise LongDoubleError(text)
        sign, whole, frac, exp = decimal.groups()
        frac = frac or b""
        significant = (whole + frac).lstrip(b"0")
        digits = _parse_decimal(significant) if significant else 0
        power = int(exp or b"0") - len(frac)
        if digits:
            magnitude = len(significant) + power  # the decimal exponent, roughly
            if magnitude > 4940:
                raise LongDoubleError(text)  # ERANGE: overflow
            if magnitude < -4960:
                raise LongDoubleError(text)  # ERANGE: underflow to zero
        exact = Fraction(digits) * Fraction(10) ** power if digits else Fraction(0)
    value = round_extended(exact)
    if isinstance(value, float) or (value == 0 and exact != 0):
        raise LongDoubleError(text)  # overflow or underflow: strtold sets ERANGE
    return -value if sign == b"-" else value


def format_human(value: Fraction) -> bytes:
    """``%.17Lf`` with trailing zeros (and a bare point) removed; ``-0`` becomes ``0``."""
    negative = value < 0
    scaled = abs(value) * 10**17
    units, remainder = divmod(scaled.numerator, scaled.denominator)
    if remainder * 2 > scaled.denominator or (remainder * 2 == scaled.denominator and units & 1):
        units += 1
    whole, frac = divmod(units, 10**17)
    text = _decimal(whole)
    frac_text = (b"%017d" % frac).rstrip(b"0")
    if frac_text:
        text += b"." + frac_text
    if negative and text != b"0":
        text = b"-" + text
    return text


_CHUNK = 10**4000  # Python refuses to print ints of more than 4300 digits in one go


def _decimal(n: int) -> bytes:
    """The decimal digits of ``n`` >= 0, however long (long doubles reach 4933 digits)."""
    if n < _CHUNK:
        return b"%d" % n
    high, low = divmod(n, _CHUNK)
    return _decimal(high) + b"%04000d" % low


def _parse_decimal(text: bytes) -> int:
    """``int(text)`` for digit strings longer than Python converts in one go."""
    if len(text) <= 4000:
        return int(text)
    return _parse_decimal(text[:-4000]) * _CHUNK + int(text[-4000:])
