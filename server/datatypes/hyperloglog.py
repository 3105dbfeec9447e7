"""Redis's HyperLogLog representation ("HYLL" strings), byte for byte.

An HLL is an ordinary string value, so GET/SET, DUMP/RESTORE and RDB files move
it between servers: the bytes must be exactly those Redis 7.0 writes. Layout:
a 16-byte header (``HYLL``, the encoding byte, three zero bytes, the cached
cardinality as 8 little-endian bytes whose top bit marks it stale) followed by
16384 registers of 6 bits each, in one of two encodings:

- dense: 12288 bytes, register ``i`` in bits ``6i .. 6i+5`` counted from the
  least significant bit of the first byte;
- sparse: run-length opcodes, ``00xxxxxx`` ZERO (1..64 zero registers),
  ``01xxxxxx yyyyyyyy`` XZERO (1..16384 zero registers), ``1vvvvvxx`` VAL
  (1..4 registers of value 1..32).

A sparse HLL turns dense when a register needs a value above 32 or when an
update would make it longer than ``hll-sparse-max-bytes``. Every update
follows Redis's algorithm step by step (split the opcode, then merge adjacent
equal VALs from the previous opcode), since a different but equivalent
opcode sequence would be a different string.

Whole-register passes (counting, merging) decode the dense registers with
byte-string translations and big-integer ORs rather than a Python loop per
register.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable

# PFADD's per-element work in C (server/datatypes/_hllgeo.c), built by `pip install -e .`;
# the Python below is the reference it is tested against, and the fallback without it.
native_add: Callable[[bytearray, bytes, int], int] | None
try:
    from server.datatypes._hllgeo import add as native_add
except ImportError:  # an install that did not build the extension
    native_add = None

HLL_P = 14
HLL_Q = 64 - HLL_P
HLL_REGISTERS = 1 << HLL_P
HLL_P_MASK = HLL_REGISTERS - 1
HLL_BITS = 6
HLL_REGISTER_MAX = (1 << HLL_BITS) - 1
HDR_SIZE = 16
DENSE_SIZE = HDR_SIZE + (HLL_REGISTERS * HLL_BITS + 7) // 8
DENSE = 0
SPARSE = 1
MAX_ENCODING = 1

SPARSE_VAL_MAX_VALUE = 32
SPARSE_VAL_MAX_LEN = 4
SPARSE_ZERO_MAX_LEN = 64
SPARSE_XZERO_MAX_LEN = 16384
ALPHA_INF = 0.721347520444481703680  # 0.5 / ln(2)

_M64 = (1 << 64) - 1
_MURMUR_M = 0xC6A4A7935BD1E995
_SEED = 0xADC83B19


class Corrupt(Exception):
    """The sparse opcodes do not describe exactly 16384 registers."""


# MurmurHash64A's state after its first step depends only on the length: computed once for
# the short lengths most elements have.
_H0 = [(_SEED ^ (n * _MURMUR_M)) & _M64 for n in range(16)]


def murmur64a(data: bytes, seed: int = _SEED) -> int:
    """MurmurHash64A as Redis uses it (little-endian words whatever the machine).

    Python ints have no 64-bit wrap-around, so every product is masked, and each operation on
    these 64- to 128-bit ints allocates: PFADD's cost is mostly here. Hence the shape: as few
    operations as the algorithm allows, and for an element under 16 bytes (the common case)
    its one word and tail read from a single int instead of a loop over slices.
    """
    m = _MURMUR_M
    mask = _M64
    length = len(data)
    if length < 16 and seed == _SEED:
        h = _H0[length]
        v = int.from_bytes(data, "little")
        if length >= 8:
            k = (v & mask) * m & mask
            h = (h ^ ((k ^ k >> 47) * m & mask)) * m & mask
            v >>= 64  # the tail
    else:
        h = (seed ^ (length * m)) & mask
        whole = length & ~7
        for k in struct.unpack_from("<%dQ" % (whole >> 3), data):
            k = k * m & mask
            h = (h ^ ((k ^ k >> 47) * m & mask)) * m & mask
        v = int.from_bytes(data[whole:], "little")
    if length & 7:
        h = (h ^ v) * m & mask
    h = (h ^ h >> 47) * m & mask
    return h ^ h >> 47


def pattern(element: bytes) -> tuple[int, int]:
    """(register index, length of the 000..1 run) for an element, as hllPatLen."""
    h = murmur64a(element)
    # The run is counted in the bits above the index, with bit Q set so it ends there at most:
    # the lowest set bit's position, plus one.
    rest = h >> HLL_P | 1 << HLL_Q
    return h & HLL_P_MASK, (rest & -rest).bit_length()


def new_sparse() -> bytearray:
    """An empty HLL: sparse, one XZERO opcode covering all 16384 registers."""
    out = bytearray(b"HYLL\x01\x00\x00\x00" + bytes(8))
    left = HLL_REGISTERS
    while left:
        run = min(left, SPARSE_XZERO_MAX_LEN) - 1
        out += bytes(((run >> 8) | 0x40, run & 0xFF))
        left -= run + 1
    return out


def valid_header(value: bytes | bytearray) -> bool:
    """Redis's isHLLObjectOrReply checks: magic, a known encoding, the dense size."""
    if len(value) < HDR_SIZE or value[:4] != b"HYLL" or value[4] > MAX_ENCODING:
        return False
    return not (value[4] == DENSE and len(value) != DENSE_SIZE)


def invalidate_cache(hll: bytearray) -> None:
    hll[15] |= 0x80


def valid_cached_count(value: object) -> int | None:
    """PFCOUNT of one key in the common case, in one call: the cardinality cached in the header
    of a valid HLL already held as a bytearray; None for anything else (the full path decides)."""
    if not isinstance(value, bytearray) or not valid_header(value) or value[15] & 0x80:
        return None
    return int.from_bytes(value[8:16], "little")


def cached_count(hll: bytes | bytearray) -> int | None:
    if hll[15] & 0x80:
        return None
    return int.from_bytes(hll[8:16], "little")


def store_count(hll: bytearray, count: int) -> None:
    hll[8:16] = count.to_bytes(8, "little")


# --------------------------------------------------------------------------- dense


def dense_get(hll: bytes | bytearray, index: int) -> int:
    pos = HDR_SIZE + index * HLL_BITS // 8
    shift = index * HLL_BITS & 7
    word = hll[pos] | (hll[pos + 1] << 8 if pos + 1 < len(hll) else 0)
    return (word >> shift) & HLL_REGISTER_MAX


def dense_set(hll: bytearray, index: int, count: int) -> int:
    """Raise register ``index`` to ``count``; 1 if it changed. (Read and written here without
    ``dense_get``: PFADD runs this once per element.)"""
    bit = index * HLL_BITS
    pos = HDR_SIZE + (bit >> 3)
    shift = bit & 7
    low = hll[pos]
    if shift > 2:  # the register spills into the next byte (never past the last one)
        high = hll[pos + 1]
        if count <= (low >> shift | high << (8 - shift)) & HLL_REGISTER_MAX:
            return 0
        hll[pos + 1] = high & ~(HLL_REGISTER_MAX >> (8 - shift)) & 0xFF | count >> (8 - shift)
    elif count <= low >> shift & HLL_REGISTER_MAX:
        return 0
    hll[pos] = low & ~(HLL_REGISTER_MAX << shift) & 0xFF | (count << shift) & 0xFF
    return 1


def _table(func: Callable[[int], int]) -> bytes:
    return bytes(func(b) & 0xFF for b in range(256))


# Per byte of each 3-byte group (4 registers): the bits it gives to each register.
_B0_R0 = _table(lambda b: b & 63)
_B0_R1 = _table(lambda b: b >> 6)
_B1_R1 = _table(lambda b: (b & 15) << 2)
_B1_R2 = _table(lambda b: b >> 4)
_B2_R2 = _table(lambda b: (b & 3) << 4)
_B2_R3 = _table(lambda b: b >> 2)
# And back: the bits each register gives to each byte of its group.
_R1_B0 = _table(lambda r: (r & 3) << 6)
_R1_B1 = _table(lambda r: r >> 2)
_R2_B1 = _table(lambda r: (r & 15) << 4)
_R2_B2 = _table(lambda r: r >> 4)
_R3_B2 = _table(lambda r: r << 2)
_GROUPS = HLL_REGISTERS // 4


def _or(a: bytes, b: bytes) -> bytes:
    """Byte-wise OR of two equally long strings whose set bits never meet."""
    return (int.from_bytes(a, "little") | int.from_bytes(b, "little")).to_bytes(len(a), "little")


def dense_registers(hll: bytes | bytearray) -> bytearray:
    """The 16384 registers of a dense HLL, one byte each."""
    data = bytes(hll[HDR_SIZE:DENSE_SIZE])
    b0, b1, b2 = data[0::3], data[1::3], data[2::3]
    out = bytearray(HLL_REGISTERS)
    out[0::4] = b0.translate(_B0_R0)
    out[1::4] = _or(b0.translate(_B0_R1), b1.translate(_B1_R1))
    out[2::4] = _or(b1.translate(_B1_R2), b2.translate(_B2_R2))
    out[3::4] = b2.translate(_B2_R3)
    return out


def pack_dense(registers: bytes | bytearray) -> bytes:
    """The dense register bytes (without header) for 16384 one-byte registers (each < 64)."""
    regs = bytes(registers)
    r0, r1, r2, r3 = regs[0::4], regs[1::4], regs[2::4], regs[3::4]
    out = bytearray(DENSE_SIZE - HDR_SIZE)
    out[0::3] = _or(r0, r1.translate(_R1_B0))
    out[1::3] = _or(r1.translate(_R1_B1), r2.translate(_R2_B1))
    out[2::3] = _or(r2.translate(_R2_B2), r3.translate(_R3_B2))
    return bytes(out)


# --------------------------------------------------------------------------- sparse


def sparse_registers(hll: bytes | bytearray) -> bytearray:
    """The registers of a sparse HLL, one byte each; Corrupt if the opcodes do not add up."""
    out = bytearray(HLL_REGISTERS)
    idx = 0
    p = HDR_SIZE
    end = len(hll)
    while p < end:
        op = hll[p]
        if op & 0xC0 == 0:
            idx += (op & 0x3F) + 1
            p += 1
        elif op & 0xC0 == 0x40:
            idx += (((op & 0x3F) << 8) | (hll[p + 1] if p + 1 < end else 0)) + 1
            p += 2
        else:
            run = (op & 3) + 1
            if idx + run > HLL_REGISTERS:
                break
            out[idx : idx + run] = bytes((((op >> 2) & 0x1F) + 1,)) * run
            idx += run
            p += 1
    if idx != HLL_REGISTERS:
        raise Corrupt
    return out


def to_dense(hll: bytearray) -> None:
    """Convert a sparse HLL to dense in place (header, cached count included, kept). Corrupt if invalid."""
    if hll[4] == DENSE:
        return
    registers = sparse_registers(hll)
    header = bytearray(hll[:HDR_SIZE])
    header[4] = DENSE
    hll[:] = header + pack_dense(registers)


def _zero_run(length: int) -> bytes:
    if length > SPARSE_ZERO_MAX_LEN:
        run = length - 1
        return bytes(((run >> 8) | 0x40, run & 0xFF))
    return bytes((length - 1,))


def _val(value: int, length: int) -> int:
    return ((value - 1) << 2 | (length - 1)) | 0x80


class SparseCursor:
    """Where a sequence of increasing-index updates may resume scanning (PFMERGE into a sparse HLL)."""

    __slots__ = ("pos", "first")

    def __init__(self) -> None:
        self.pos = HDR_SIZE
        self.first = 0


def sparse_set(hll: bytearray, index: int, count: int, max_bytes: int, cursor: SparseCursor | None = None) -> int:
    """Raise register ``index`` of a sparse HLL to ``count`` (hllSparseSet); promotes as Redis does.

    Returns 1 if the register changed, 0 if not; raises Corrupt for invalid opcodes.
    ``cursor``, when given, starts the scan where the previous (lower-index) update
    left off and is moved on; opcodes before it are never changed by an update.
    """
    if count > SPARSE_VAL_MAX_VALUE:
        return _promote(hll, index, count)
    end = len(hll)
    p = cursor.pos if cursor is not None else HDR_SIZE
    first = cursor.first if cursor is not None else 0
    prev = -1
    prev_first = first
    before_prev = (p, first)  # the opcode before ``prev``: merges never reach back to it
    span = 0
    op = 0
    # The hot loop of sparse updates: opcodes decoded inline (a call per opcode costs more).
    while p < end:
        op = hll[p]
        if op & 0x80:
            span = (op & 3) + 1
            oplen = 1
        elif op & 0x40:
            span = (((op & 0x3F) << 8) | (hll[p + 1] if p + 1 < end else 0)) + 1
            oplen = 2
        else:
            span = (op & 0x3F) + 1
            oplen = 1
        if index < first + span:
            break
        if prev >= 0:
            before_prev = (prev, prev_first)
        prev = p
        prev_first = first
        p += oplen
        first += span
    if span == 0 or p >= end:
        raise Corrupt
    if cursor is not None:
        cursor.pos, cursor.first = before_prev
    kind = 2 if op & 0x80 else (1 if op & 0x40 else 0)
    runlen = span
    if kind == 2:
        old = ((hll[p] >> 2) & 0x1F) + 1
        if old >= count:
            return 0
        if runlen == 1:
            hll[p] = _val(count, 1)
            _merge_vals(hll, prev if prev >= 0 else HDR_SIZE)
            invalidate_cache(hll)
            return 1
    if kind == 0 and runlen == 1:
        hll[p] = _val(count, 1)
        _merge_vals(hll, prev if prev >= 0 else HDR_SIZE)
        invalidate_cache(hll)
        return 1
    last = first + span - 1
    seq = bytearray()
    if kind != 2:
        if index != first:
            seq += _zero_run(index - first)
        seq.append(_val(count, 1))
        if index != last:
            seq += _zero_run(last - index)
    else:
        current = ((hll[p] >> 2) & 0x1F) + 1
        if index != first:
            seq.append(_val(current, index - first))
        seq.append(_val(count, 1))
        if index != last:
            seq.append(_val(current, last - index))
    old_len = 2 if kind == 1 else 1
    delta = len(seq) - old_len
    if delta > 0 and len(hll) + delta > max_bytes:
        return _promote(hll, index, count)
    hll[p : p + old_len] = seq
    _merge_vals(hll, prev if prev >= 0 else HDR_SIZE)
    invalidate_cache(hll)
    return 1


def _merge_vals(hll: bytearray, p: int) -> None:
    """Step 4 of hllSparseSet: merge adjacent equal VALs, scanning five opcodes from ``p``."""
    end = len(hll)
    scan = 5
    while p < end and scan:
        scan -= 1
        op = hll[p]
        if op & 0xC0 == 0x40:
            p += 2
            continue
        if op & 0xC0 == 0:
            p += 1
            continue
        if p + 1 < end and hll[p + 1] & 0x80:
            nxt = hll[p + 1]
            value = ((op >> 2) & 0x1F) + 1
            if value == ((nxt >> 2) & 0x1F) + 1:
                length = (op & 3) + 1 + (nxt & 3) + 1
                if length <= SPARSE_VAL_MAX_LEN:
                    del hll[p]
                    hll[p] = _val(value, length)
                    end -= 1
                    continue
        p += 1


def _promote(hll: bytearray, index: int, count: int) -> int:
    to_dense(hll)
    return dense_set(hll, index, count)


# --------------------------------------------------------------------------- adding, counting, merging


def add(hll: bytearray, element: bytes, max_bytes: int) -> int:
    """PFADD one element: 1 if a register changed, 0 if not; Corrupt for an invalid sparse HLL."""
    if native_add is not None:
        changed = native_add(hll, element, max_bytes)
        if changed >= 0:
            return changed
        if changed == -2:
            raise Corrupt
        return _promote(hll, *pattern(element))  # a value above 32, or no room left: dense from now on
    return add_python(hll, element, max_bytes)


def add_python(hll: bytearray, element: bytes, max_bytes: int) -> int:
    """``add`` without the C extension (and the reference the tests compare it with)."""
    h = murmur64a(element)  # as ``pattern``, spelled out: a call less per element
    rest = h >> HLL_P | 1 << HLL_Q
    index, count = h & HLL_P_MASK, (rest & -rest).bit_length()
    if hll[4] == DENSE:
        return dense_set(hll, index, count)
    return sparse_set(hll, index, count, max_bytes)


def registers(hll: bytes | bytearray) -> bytearray:
    """The 16384 registers of a valid-header HLL, one byte each (Corrupt for bad sparse data)."""
    if hll[4] == DENSE:
        return dense_registers(hll)
    return sparse_registers(hll)


def _sparse_histogram(hll: bytes | bytearray) -> tuple[list[int], bool]:
    """Register histogram of a sparse HLL, and whether the opcodes were valid (hllSparseRegHisto)."""
    histo = [0] * 64
    idx = 0
    p = HDR_SIZE
    end = len(hll)
    while p < end:
        op = hll[p]
        if op & 0xC0 == 0:
            run = (op & 0x3F) + 1
            histo[0] += run
            p += 1
        elif op & 0xC0 == 0x40:
            run = (((op & 0x3F) << 8) | (hll[p + 1] if p + 1 < end else 0)) + 1
            histo[0] += run
            p += 2
        else:
            run = (op & 3) + 1
            histo[((op >> 2) & 0x1F) + 1] += run
            p += 1
        idx += run
    return histo, idx == HLL_REGISTERS


def histogram(regs: bytes | bytearray) -> list[int]:
    data = bytes(regs)
    return [data.count(v) for v in range(64)]


def _sigma(x: float) -> float:
    if x == 1.0:
        return math.inf
    y = 1.0
    z = x
    while True:
        x *= x
        z_prev = z
        z += x * y
        y += y
        if z_prev == z:
            return z


def _tau(x: float) -> float:
    if x == 0.0 or x == 1.0:
        return 0.0
    y = 1.0
    z = 1 - x
    while True:
        x = math.sqrt(x)
        z_prev = z
        y *= 0.5
        z -= math.pow(1 - x, 2) * y
        if z_prev == z:
            return z / 3


def estimate(histo: list[int]) -> int:
    """The cardinality estimate from a register histogram (Ertl's method, as hllCount)."""
    m = float(HLL_REGISTERS)
    z = m * _tau((m - histo[HLL_Q + 1]) / m)
    for j in range(HLL_Q, 0, -1):
        z += histo[j]
        z *= 0.5
    z += m * _sigma(histo[0] / m)
    e = ALPHA_INF * m * m / z
    whole = math.floor(e)
    return int(whole + (1 if e - whole >= 0.5 else 0))


def count(hll: bytes | bytearray) -> int:
    """The estimate for one HLL; Corrupt for invalid sparse opcodes."""
    if hll[4] == DENSE:
        return estimate(histogram(dense_registers(hll)))
    histo, ok = _sparse_histogram(hll)
    if not ok:
        raise Corrupt
    return estimate(histo)


_HIGH = int.from_bytes(b"\x80" * HLL_REGISTERS, "little")
_ALL = int.from_bytes(b"\xff" * HLL_REGISTERS, "little")


def max_registers(a: bytes | bytearray, b: bytes | bytearray) -> bytearray:
    """Register-wise maximum of two 16384-register arrays (values < 128), computed on whole integers."""
    x = int.from_bytes(a, "little")
    y = int.from_bytes(b, "little")
    # Each lane of (x | 0x80..) - y keeps its top bit exactly when x >= y in that lane.
    take_x = ((((x | _HIGH) - y) & _HIGH) >> 7) * 0xFF
    return bytearray(((x & take_x) | (y & (_ALL ^ take_x))).to_bytes(HLL_REGISTERS, "little"))


def set_registers(hll: bytearray, regs: bytes | bytearray, max_bytes: int) -> None:
    """Raise each register of ``hll`` to ``regs`` (PFMERGE's write-back), in Redis's order."""
    if hll[4] == DENSE:
        merged = max_registers(dense_registers(hll), regs)
        hll[HDR_SIZE:] = pack_dense(merged)
        return
    cursor = SparseCursor()
    for index, value in enumerate(regs):
        if value == 0:
            continue
        if hll[4] == DENSE:
            dense_set(hll, index, value)
        else:
            sparse_set(hll, index, value, max_bytes, cursor)


def decode_sparse(hll: bytes | bytearray) -> bytes:
    """PFDEBUG DECODE's text: ``z:len``, ``Z:len``, ``v:value,len`` per opcode."""
    parts = []
    p = HDR_SIZE
    end = len(hll)
    while p < end:
        op = hll[p]
        if op & 0xC0 == 0:
            parts.append(b"z:%d" % ((op & 0x3F) + 1))
            p += 1
        elif op & 0xC0 == 0x40:
            low = hll[p + 1] if p + 1 < end else 0
            parts.append(b"Z:%d" % ((((op & 0x3F) << 8) | low) + 1))
            p += 2
        else:
            parts.append(b"v:%d,%d" % (((op >> 2) & 0x1F) + 1, (op & 3) + 1))
            p += 1
    return b" ".join(parts)
