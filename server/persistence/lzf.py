"""LZF decompression, for the compressed strings Redis writes in RDB files.

LZF (liblzf, used by Redis with ``rdbcompression yes``) is a byte stream of
runs. Each run starts with a control byte ``c``:

- ``c < 32``: a literal run; the next ``c + 1`` bytes are copied as they are.
- otherwise a back reference: ``length = c >> 5`` (7 means "7 plus the next
  byte"), then ``offset = ((c & 31) << 8) + next byte + 1``; ``length + 2``
  bytes are copied from ``offset`` bytes back in the output. The source may
  overlap the bytes being written (a repeated pattern), so such copies go
  piece by piece.

This server writes strings uncompressed (Redis loads those as well), so only
the decoder is needed.
"""

from __future__ import annotations


class LZFError(ValueError):
    """The compressed data is malformed (it does not decode to the announced length)."""


def decompress(data: bytes | memoryview, expected_length: int) -> bytes:
    """Decode ``data``, which must expand to exactly ``expected_length`` bytes."""
    out = bytearray()
    pos = 0
    end = len(data)
    while pos < end:
        ctrl = data[pos]
        pos += 1
        if ctrl < 32:
            run = ctrl + 1
            if pos + run > end:
                raise LZFError("literal run past the end of the input")
            out += data[pos:pos + run]
            pos += run
            continue
        length = ctrl >> 5
        if length == 7:
            if pos >= end:
                raise LZFError("truncated back reference")
            length += data[pos]
            pos += 1
        if pos >= end:
            raise LZFError("truncated back reference")
        start = len(out) - ((ctrl & 0x1F) << 8) - data[pos] - 1
        pos += 1
        if start < 0:
            raise LZFError("back reference before the start of the output")
        length += 2
        distance = len(out) - start
        if distance >= length:
            out += out[start:start + length]
        else:  # overlapping: the pattern of ``distance`` bytes repeats
            pattern = out[start:]
            repeats, rest = divmod(length, distance)
            out += pattern * repeats + pattern[:rest]
    if len(out) != expected_length:
        raise LZFError(f"decompressed to {len(out)} bytes, expected {expected_length}")
    return bytes(out)
