"""Redis's CRC-64: the checksum at the end of an RDB file and of a DUMP payload.

The parameters are Redis's (crc64.c): the Jones polynomial ``0xad93d23594c935a9``,
bits reflected on input and output, initial value 0 and no final XOR. Redis's
own test vector is ``crc64(0, b"123456789") == 0xe9c6d914c4b8d9ca``.

The C extension ``_rdbwriter`` runs the table loop natively; without it, a
byte-at-a-time table loop costs about 60 ns per byte in CPython, i.e. seconds
for a 50 MB file. This module keeps that loop for short inputs and, for long
ones, computes many CRCs side by side with C-speed primitives:

1. The buffer is cut into ``K`` lanes of ``L`` consecutive bytes. Lane *i*'s
   register is kept as one byte in each of eight "byte planes" (``bytes`` of
   length ``K``): plane 0 holds the low byte of every lane's register.
2. One table step, ``crc = T[(crc ^ b) & 0xff] ^ (crc >> 8)``, becomes for all
   lanes at once: ``idx = plane0 ^ column`` (a big-int XOR), then new plane *k*
   ``= idx.translate(T_k) ^ plane(k+1)``, where ``T_k`` is byte *k* of every
   table entry (``bytes.translate`` is a 256-entry lookup done in C).
3. The lane CRCs are joined with the CRC's linearity: with no initial value
   and no final XOR, ``crc(A + B) == shift(crc(A), len(B)) ^ crc(B)``, where
   ``shift`` feeds zero bytes, a linear map applied with eight 256-entry tables.
"""

from __future__ import annotations

from collections.abc import Callable

POLY = 0xAD93D23594C935A9
_REFLECTED = int(f"{POLY:064b}"[::-1], 2)  # the polynomial with its bits reversed


def _make_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _REFLECTED if crc & 1 else crc >> 1
        table.append(crc)
    return table


TABLE = _make_table()

# Byte k of each table entry, as a translation table for bytes.translate.
_PLANE_TABLES = [bytes((entry >> (8 * k)) & 0xFF for entry in TABLE) for k in range(8)]

LANE_LENGTH = 4096  # bytes per lane; the shift over one lane is computed once
_MIN_PARALLEL = 1 << 16  # below this the plain loop is as quick


def _crc_loop(crc: int, data: bytes | bytearray | memoryview) -> int:
    table = TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc


def _shift_tables(zero_bytes: int) -> list[list[int]]:
    """Eight tables giving ``shift(c, zero_bytes)`` as the XOR of one entry per byte of ``c``."""
    # The image of each single bit, then of every byte value by linearity.
    bit_images = [_crc_loop(1 << bit, bytes(zero_bytes)) for bit in range(64)]
    tables = []
    for k in range(8):
        images = bit_images[8 * k: 8 * k + 8]
        table = [0] * 256
        for value in range(1, 256):
            low = value & -value
            table[value] = table[value ^ low] ^ images[low.bit_length() - 1]
        tables.append(table)
    return tables


_lane_shift: list[list[int]] | None = None


def _apply(tables: list[list[int]], crc: int) -> int:
    t0, t1, t2, t3, t4, t5, t6, t7 = tables
    return (t0[crc & 0xFF] ^ t1[(crc >> 8) & 0xFF] ^ t2[(crc >> 16) & 0xFF] ^ t3[(crc >> 24) & 0xFF]
            ^ t4[(crc >> 32) & 0xFF] ^ t5[(crc >> 40) & 0xFF] ^ t6[(crc >> 48) & 0xFF] ^ t7[crc >> 56])


def _crc_lanes(data: bytes, lanes: int) -> int:
    """CRC (from 0) of ``data``, exactly ``lanes * LANE_LENGTH`` bytes, computed lane-parallel."""
    global _lane_shift
    if _lane_shift is None:
        _lane_shift = _shift_tables(LANE_LENGTH)
    step = LANE_LENGTH
    from_bytes = int.from_bytes
    tt0, tt1, tt2, tt3, tt4, tt5, tt6, tt7 = _PLANE_TABLES
    p0 = p1 = p2 = p3 = p4 = p5 = p6 = p7 = 0  # planes as little-endian integers
    # Transposing byte by byte (data[t::L]) is cache-hostile; gather 8-byte words
    # per lane first, then split each gathered row into its 8 byte columns locally.
    words = memoryview(data).cast("Q")
    word_step = step // 8
    for w in range(word_step):
        row = words[w::word_step].tobytes()
        for j in range(8):
            idx = (p0 ^ from_bytes(row[j::8], "little")).to_bytes(lanes, "little")
            p0 = from_bytes(idx.translate(tt0), "little") ^ p1
            p1 = from_bytes(idx.translate(tt1), "little") ^ p2
            p2 = from_bytes(idx.translate(tt2), "little") ^ p3
            p3 = from_bytes(idx.translate(tt3), "little") ^ p4
            p4 = from_bytes(idx.translate(tt4), "little") ^ p5
            p5 = from_bytes(idx.translate(tt5), "little") ^ p6
            p6 = from_bytes(idx.translate(tt6), "little") ^ p7
            p7 = from_bytes(idx.translate(tt7), "little")
    planes = [p.to_bytes(lanes, "little") for p in (p0, p1, p2, p3, p4, p5, p6, p7)]
    # Join: crc = shift(crc, L) ^ lane_crc, lane by lane (Horner's rule).
    shift = _lane_shift
    crc = 0
    for i, *bs in zip(range(lanes), *planes, strict=True):
        lane = bs[0] | bs[1] << 8 | bs[2] << 16 | bs[3] << 24 | bs[4] << 32 | bs[5] << 40 | bs[6] << 48 | bs[7] << 56
        crc = _apply(shift, crc) ^ lane if i else lane
    return crc


_tail_shift_cache: dict[int, list[list[int]]] = {}


def crc64_python(crc: int, data: bytes | bytearray | memoryview) -> int:
    """Continue the CRC ``crc`` over ``data`` (start from 0), as Redis's ``crc64(crc, s, l)``.

    The reference: ``crc64`` is the C extension's loop when it is built, and
    the tests hold the two equal.
    """
    n = len(data)
    if n < _MIN_PARALLEL:
        return _crc_loop(crc, data)
    lanes = n // LANE_LENGTH
    body = lanes * LANE_LENGTH
    head = bytes(data[:body])
    # The running crc is carried by XORing it into the first 8 bytes (linearity, reflected form).
    if crc:
        first = (int.from_bytes(head[:8], "little") ^ crc).to_bytes(8, "little")
        head = first + head[8:]
    result = _crc_lanes(head, lanes)
    return _crc_loop(result, data[body:])


crc64: Callable[[int, bytes | bytearray | memoryview], int]
try:  # the same loop in C (server/persistence/_rdbwriter.c), built by `pip install -e .`
    from server.persistence._rdbwriter import crc64
except ImportError:  # an install that did not build the extension
    crc64 = crc64_python
