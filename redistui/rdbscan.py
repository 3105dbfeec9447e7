"""Walk an RDB file record by record without building its values: what each key costs in the file.

The explorer is a Redis client and never imports the server, so this is a reader of its
own, and a different one: it decodes only what an analysis needs (database, key name,
type, storage encoding, element count, expiry) and skips every value by its lengths. A
key's size is the bytes of its whole record in the file: expiry and LRU/LFU prefixes,
type byte, name and value. Those sizes plus the file's own structure (header, AUX
fields, database selectors, function libraries, the EOF marker and checksum) add up to
the file's size exactly, which is what the tests check.

The file is mapped read-only (``mmap.ACCESS_READ``): nothing here can change it.
Damage (a truncated file, a length that runs past the end, an unknown record) raises
`RDBDamage` with the offset where reading stopped and the end of the last complete
record, so callers can still report on, and open, what was read before it.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path

# Value types and opcodes of the RDB format (Redis's rdb.h), by number.
TYPE_NAMES = {
    0: "string", 1: "list", 2: "set", 3: "zset", 4: "hash", 5: "zset", 9: "hash", 10: "list",
    11: "set", 12: "zset", 13: "hash", 14: "list", 15: "stream", 16: "hash", 17: "zset",
    18: "list", 19: "stream", 20: "set", 21: "stream",
}  # fmt: skip
# The encoding each record type stores its value in, named as OBJECT ENCODING names it.
ENCODING_NAMES = {
    0: "string", 1: "linkedlist", 2: "hashtable", 3: "skiplist", 4: "hashtable", 5: "skiplist",
    9: "zipmap", 10: "ziplist", 11: "intset", 12: "ziplist", 13: "ziplist", 14: "quicklist",
    15: "stream", 16: "listpack", 17: "listpack", 18: "quicklist", 19: "stream", 20: "listpack",
    21: "stream",
}  # fmt: skip
OP_FUNCTION2, OP_FUNCTION_PRE_GA, OP_MODULE_AUX = 0xF5, 0xF6, 0xF7
OP_IDLE, OP_FREQ, OP_AUX, OP_RESIZEDB = 0xF8, 0xF9, 0xFA, 0xFB
OP_EXPIRETIME_MS, OP_EXPIRETIME, OP_SELECTDB, OP_EOF = 0xFC, 0xFD, 0xFE, 0xFF
MAX_VERSION = 11  # Redis 7.2 writes 11; its extra record types (set listpack, stream v3) are read too


class RDBDamage(Exception):
    """The file cannot be read past ``offset``; every record before ``good_end`` was read whole."""

    def __init__(self, reason: str, offset: int, good_end: int) -> None:
        super().__init__(f"{reason} at offset {offset}")
        self.reason = reason
        self.offset = offset
        self.good_end = good_end


class _Short(Exception):
    """Internal: a read ran past the end of the data, or met a value it cannot decode."""

    def __init__(self, reason: str = "unexpected end of file") -> None:
        super().__init__(reason)
        self.reason = reason


def lzf_decompress(data: bytes, size: int, limit: int | None = None) -> bytes:
    """LZF decompression (the format Redis compresses strings with); ``limit`` stops early.

    Literal runs are a control byte below 32 followed by that many plus one bytes; back
    references carry a length (3 bits, extended by a byte when all set) and a distance.
    """
    out = bytearray()
    stop = size if limit is None else min(size, limit)
    i, n = 0, len(data)
    while i < n and len(out) < stop:
        ctrl = data[i]
        i += 1
        if ctrl < 32:
            run = ctrl + 1
            if i + run > n:
                raise _Short("LZF literal runs past the compressed data")
            out += data[i : i + run]
            i += run
            continue
        length = ctrl >> 5
        if length == 7:
            length += data[i]
            i += 1
        if i >= n:
            raise _Short("LZF back reference runs past the compressed data")
        start = len(out) - ((ctrl & 0x1F) << 8) - data[i] - 1
        i += 1
        length += 2
        if start < 0:
            raise _Short("LZF back reference before the start of the data")
        if start + length <= len(out):
            out += out[start : start + length]
        else:  # the copy overlaps what it produces: byte by byte
            for k in range(length):
                out.append(out[start + k])
    if limit is None and len(out) != size:
        raise _Short("LZF data decompresses to the wrong length")
    return bytes(out[:stop])


def _backlen_size(n: int) -> int:
    return 1 if n <= 127 else 2 if n < 16383 else 3 if n < 2097151 else 4 if n < 268435455 else 5


def listpack_walk(lp: bytes) -> int:
    """Entries of a listpack counted one by one (its header says 65535 when it has more)."""
    pos, count, n = 6, 0, len(lp)
    while pos < n:
        b = lp[pos]
        if b == 0xFF:
            return count
        if b < 0x80:
            size = 1
        elif b < 0xC0:
            size = 1 + (b & 0x3F)
        elif b < 0xE0:
            size = 2
        elif b < 0xF0:
            size = 2 + (((b & 0x0F) << 8) | lp[pos + 1])
        elif b == 0xF0:
            size = 5 + int.from_bytes(lp[pos + 1 : pos + 5], "little")
        else:
            size = {0xF1: 3, 0xF2: 4, 0xF3: 5, 0xF4: 9}.get(b, 0)
            if not size:
                raise _Short(f"unknown listpack entry encoding 0x{b:02x}")
        pos += size + _backlen_size(size)
        count += 1
    raise _Short("listpack without its end marker")


def ziplist_walk(zl: bytes) -> int:
    """Entries of a ziplist counted one by one (its header says 65535 when it has more)."""
    pos, count, n = 10, 0, len(zl)
    while pos < n:
        if zl[pos] == 0xFF:
            return count
        pos += 5 if zl[pos] == 0xFE else 1  # the previous entry's length
        b = zl[pos]
        kind = b >> 6
        if kind == 0:
            pos += 1 + (b & 0x3F)
        elif kind == 1:
            pos += 2 + (((b & 0x3F) << 8) | zl[pos + 1])
        elif kind == 2:
            pos += 5 + int.from_bytes(zl[pos + 1 : pos + 5], "big")
        else:
            pos += 1 + {0xC0: 2, 0xD0: 4, 0xE0: 8, 0xF0: 3, 0xFE: 1}.get(b, 0)
        count += 1
    raise _Short("ziplist without its end marker")


def zipmap_walk(zm: bytes) -> int:
    """Pairs of a zipmap (Redis 2.x hashes): its first byte counts them below 254."""
    if zm and zm[0] < 254:
        return zm[0]
    pos, pairs, n = 1, 0, len(zm)

    def take_len() -> int:
        nonlocal pos
        first = zm[pos]
        if first < 254:
            pos += 1
            return first
        value = int.from_bytes(zm[pos + 1 : pos + 5], "little")
        pos += 5
        return value

    while pos < n and zm[pos] != 0xFF:
        pos += take_len()
        size = take_len()
        free = zm[pos]
        pos += 1 + size + free
        pairs += 1
    return pairs


@dataclass
class FileSummary:
    """What the walk found besides keys: header fields, functions, structure bytes, damage."""

    size: int = 0
    version: int = 0
    aux: dict[bytes, bytes] = field(default_factory=dict)
    functions: list[tuple[bytes, int]] = field(default_factory=list)  # (library name, bytes)
    structure_bytes: int = 0  # header, AUX, SELECTDB/RESIZEDB, module AUX, EOF and checksum
    checksum: int | None = None  # the stored CRC-64 (0: the writer did not compute one)
    pos: int = 0  # bytes read so far (progress)
    keys: int = 0
    complete: bool = False


class RDBScanner:
    """One pass over an RDB image (bytes or a read-only mmap); `records` yields each key.

    Each key comes as ``(db, key, rdb_type, size, elements, expire_ms)``: ``elements`` is
    the element count of a collection (entries of a stream) and the byte length of a
    string; ``expire_ms`` is None without an expiry.
    """

    def __init__(self, buf: bytes | mmap.mmap) -> None:
        self.buf = buf
        self.n = len(buf)
        self.summary = FileSummary(size=self.n)

    # -- primitive reads: each returns the value and the position after it ----------------

    def length(self, pos: int) -> tuple[int, int]:
        buf = self.buf
        first = buf[pos]
        kind = first >> 6
        if kind == 0:
            return first, pos + 1
        if kind == 1:
            return ((first & 0x3F) << 8) | buf[pos + 1], pos + 2
        if first == 0x80:
            return int.from_bytes(buf[pos + 1 : pos + 5], "big"), pos + 5
        if first == 0x81:
            return int.from_bytes(buf[pos + 1 : pos + 9], "big"), pos + 9
        raise _Short(f"a length was expected, found byte 0x{first:02x}")

    def skip_string(self, pos: int) -> tuple[int, int]:
        """Skip one string; returns (its decoded length, the position after it)."""
        buf = self.buf
        first = buf[pos]
        kind = first >> 6
        if kind == 0:
            end = pos + 1 + (first & 0x3F)
            size = first & 0x3F
        elif kind == 1:
            size = ((first & 0x3F) << 8) | buf[pos + 1]
            end = pos + 2 + size
        elif kind == 2:
            size, pos = self.length(pos)
            end = pos + size
        else:
            enc = first & 0x3F
            if enc == 3:
                clen, pos = self.length(pos + 1)
                size, pos = self.length(pos)
                end = pos + clen
            elif enc <= 2:
                width = (1, 2, 4)[enc]
                end = pos + 1 + width
                size = len(b"%d" % int.from_bytes(buf[pos + 1 : end], "little", signed=True))
            else:
                raise _Short(f"unknown string encoding {enc}")
        if end > self.n:
            raise _Short()
        return size, end

    def string(self, pos: int, limit: int | None = None) -> tuple[bytes, int]:
        """One string's content (the first ``limit`` bytes of it if given), and the position after it."""
        buf = self.buf
        first = buf[pos]
        if first >> 6 == 3:
            enc = first & 0x3F
            if enc == 3:
                clen, p = self.length(pos + 1)
                size, p = self.length(p)
                if p + clen > self.n:
                    raise _Short()
                return lzf_decompress(bytes(buf[p : p + clen]), size, limit), p + clen
            if enc > 2:
                raise _Short(f"unknown string encoding {enc}")
            end = pos + 2 + (0, 1, 3)[enc]
            if end > self.n:
                raise _Short()
            return b"%d" % int.from_bytes(buf[pos + 1 : end], "little", signed=True), end
        size, p = self.length(pos)
        end = p + size
        if end > self.n:
            raise _Short()
        return bytes(buf[p : end if limit is None else min(end, p + limit)]), end

    def take(self, pos: int, n: int) -> int:
        if pos + n > self.n:
            raise _Short()
        return pos + n

    # -- element counts of compact encodings ------------------------------------------------

    def listpack_count(self, pos: int) -> tuple[int, int]:
        head, end = self.string(pos, 6)
        if len(head) < 6:
            raise _Short("listpack shorter than its header")
        count = head[4] | head[5] << 8
        if count == 65535:
            count = listpack_walk(self.string(pos)[0])
        return count, end

    def ziplist_count(self, pos: int) -> tuple[int, int]:
        head, end = self.string(pos, 10)
        if len(head) < 10:
            raise _Short("ziplist shorter than its header")
        count = head[8] | head[9] << 8
        if count == 65535:
            count = ziplist_walk(self.string(pos)[0])
        return count, end

    # -- values -------------------------------------------------------------------------------

    def skip_value(self, t: int, pos: int) -> tuple[int, int]:
        """Skip a value of record type ``t``; returns (element count, position after it)."""
        if t == 0:
            return self.skip_string(pos)
        skip = self.skip_string
        if t in (1, 2):  # plain list or set: strings
            n, pos = self.length(pos)
            for _ in range(n):
                pos = skip(pos)[1]
            return n, pos
        if t == 4:  # plain hash: field and value strings
            n, pos = self.length(pos)
            for _ in range(2 * n):
                pos = skip(pos)[1]
            return n, pos
        if t == 5:  # skiplist zset: member strings and binary doubles
            n, pos = self.length(pos)
            for _ in range(n):
                pos = self.take(skip(pos)[1], 8)
            return n, pos
        if t == 3:  # old zset: member strings and scores as text (253-255: nan, inf, -inf)
            n, pos = self.length(pos)
            for _ in range(n):
                pos = skip(pos)[1]
                width = self.buf[pos]
                pos = self.take(pos, 1 + (0 if width >= 253 else width))
            return n, pos
        if t == 20:  # a set listpack (Redis 7.2): members
            return self.listpack_count(pos)
        if t == 16 or t == 17:  # hash and zset listpacks: pairs of entries
            count, pos = self.listpack_count(pos)
            return count // 2, pos
        if t == 13 or t == 12:
            count, pos = self.ziplist_count(pos)
            return count // 2, pos
        if t == 10:
            return self.ziplist_count(pos)
        if t == 11:
            head, end = self.string(pos, 8)
            if len(head) < 8:
                raise _Short("intset shorter than its header")
            return int.from_bytes(head[4:8], "little"), end
        if t == 9:
            blob, end = self.string(pos)
            return zipmap_walk(blob), end
        if t == 14 or t == 18:
            nodes, pos = self.length(pos)
            total = 0
            for _ in range(nodes):
                container = 2
                if t == 18:
                    container, pos = self.length(pos)
                if container == 1:  # a plain node: one big element
                    pos = skip(pos)[1]
                    total += 1
                else:
                    count, pos = self.listpack_count(pos) if t == 18 else self.ziplist_count(pos)
                    total += count
            return total, pos
        if t in (15, 19, 21):
            return self.skip_stream(t, pos)
        if t in (6, 7):
            raise _Short("module values cannot be read without their module")
        raise _Short(f"unknown record type {t}")

    def skip_stream(self, t: int, pos: int) -> tuple[int, int]:
        length, skip = self.length, self.skip_string
        nodes, pos = length(pos)
        for _ in range(nodes):
            pos = skip(skip(pos)[1])[1]  # master ID, listpack
        entries, pos = length(pos)
        for _ in range(2 if t == 15 else 7):  # last ID; then first ID, max deleted ID, entries added
            pos = length(pos)[1]
        groups, pos = length(pos)
        for _ in range(groups):
            pos = skip(pos)[1]
            for _ in range(2 if t == 15 else 3):  # last delivered ID (and entries read)
                pos = length(pos)[1]
            pel, pos = length(pos)
            for _ in range(pel):
                pos = length(self.take(pos, 24))[1]  # ID, delivery time, delivery count
            consumers, pos = length(pos)
            for _ in range(consumers):
                pos = self.take(skip(pos)[1], 16 if t == 21 else 8)  # name, seen (and active) time
                owned, pos = length(pos)
                pos = self.take(pos, 16 * owned)
        return entries, pos

    def skip_module_aux(self, pos: int) -> int:
        length = self.length
        pos = length(pos)[1]  # module id
        when_opcode, pos = length(pos)
        pos = length(pos)[1]
        if when_opcode != 2:
            raise _Short("invalid module AUX record")
        while True:
            opcode, pos = length(pos)
            if opcode == 0:
                return pos
            if opcode in (1, 2):
                pos = length(pos)[1]
            elif opcode == 3:
                pos = self.take(pos, 4)
            elif opcode == 4:
                pos = self.take(pos, 8)
            elif opcode == 5:
                pos = self.skip_string(pos)[1]
            else:
                raise _Short(f"unknown module data opcode {opcode}")

    # -- the record loop ---------------------------------------------------------------------

    def records(self) -> Generator[tuple[int, bytes, int, int, int, int | None], None, None]:
        buf, n, summary = self.buf, self.n, self.summary
        if n < 9 or bytes(buf[:5]) != b"REDIS":
            raise RDBDamage("not an RDB file (no REDIS signature)", 0, 0)
        try:
            version = int(bytes(buf[5:9]))
        except ValueError:
            raise RDBDamage("not an RDB file (bad version number)", 5, 0) from None
        if not 1 <= version <= MAX_VERSION:
            raise RDBDamage(f"RDB version {version} is not supported", 5, 0)
        summary.version = version
        structure = 9
        db = 0
        pos = record_start = 9
        expire: int | None = None
        prefixed = False  # an expiry or LRU/LFU prefix of the next key was read
        keys = 0
        skip_value = self.skip_value
        try:
            while True:
                if pos >= n:
                    raise _Short("unexpected end of file (no EOF marker)")
                t = buf[pos]
                if t < OP_FUNCTION2:
                    if not prefixed:
                        record_start = pos
                    if t == 0:  # a string: the commonest record, read inline when it is short
                        kl = buf[pos + 1]
                        if kl < 64:
                            p = pos + 2 + kl
                            key = bytes(buf[pos + 2 : p])
                            vl = buf[p]
                            if vl < 64:
                                pos = p + 1 + vl
                                if pos > n:
                                    raise _Short()
                                elements = vl
                            elif vl == 0xC3 and buf[p + 1] < 64 and buf[p + 2] < 64:  # short LZF value
                                pos = p + 3 + buf[p + 1]
                                if pos > n:
                                    raise _Short()
                                elements = buf[p + 2]
                            else:
                                elements, pos = self.skip_string(p)
                        else:
                            key, p = self.string(pos + 1)
                            elements, pos = self.skip_string(p)
                    else:
                        key, p = self.string(pos + 1)
                        elements, pos = skip_value(t, p)
                    keys += 1
                    summary.pos = pos
                    summary.keys = keys
                    yield db, key, t, pos - record_start, elements, expire
                    expire = None
                    prefixed = False
                    record_start = pos
                    continue
                if t == OP_EXPIRETIME_MS or t == OP_EXPIRETIME or t == OP_IDLE or t == OP_FREQ:
                    if not prefixed:
                        record_start = pos
                        prefixed = True
                    if t == OP_IDLE:
                        pos = self.length(pos + 1)[1]
                    elif t == OP_FREQ:
                        pos = self.take(pos + 1, 1)
                    else:
                        width = 8 if t == OP_EXPIRETIME_MS else 4
                        end = self.take(pos + 1, width)
                        value = int.from_bytes(buf[pos + 1 : end], "little", signed=True)
                        expire = value if width == 8 else value * 1000
                        pos = end
                    continue
                if prefixed:
                    raise _Short(f"record type {t} after a key's expiry or LRU/LFU prefix")
                start = record_start = pos
                if t == OP_SELECTDB:
                    db, pos = self.length(pos + 1)
                elif t == OP_RESIZEDB:
                    pos = self.length(self.length(pos + 1)[1])[1]
                elif t == OP_AUX:
                    name, pos = self.string(pos + 1)
                    value_bytes, pos = self.string(pos)
                    summary.aux[name] = value_bytes
                elif t == OP_MODULE_AUX:
                    pos = self.skip_module_aux(pos + 1)
                elif t == OP_FUNCTION2:
                    code, pos = self.string(pos + 1)
                    summary.functions.append((library_name(code), pos - start))
                    record_start = summary.pos = pos
                    continue
                elif t == OP_EOF:
                    pos += 1
                    if version >= 5:
                        end = self.take(pos, 8)
                        summary.checksum = int.from_bytes(buf[pos:end], "little")
                        pos = end
                    structure += pos - start
                    summary.structure_bytes = structure
                    summary.pos = pos
                    summary.complete = True
                    if pos != n:
                        raise RDBDamage(f"{n - pos} unexpected bytes after the end of the RDB data", pos, pos)
                    return
                elif t == OP_FUNCTION_PRE_GA:
                    raise _Short("function records of Redis 7.0 release candidates are not supported")
                else:
                    raise _Short(f"unknown record type {t}")
                structure += pos - start
                record_start = summary.pos = pos
        except (_Short, IndexError) as exc:
            reason = exc.reason if isinstance(exc, _Short) else "unexpected end of file"
            if record_start >= n:
                reason = "unexpected end of file (no EOF marker)"
            summary.structure_bytes = structure
            summary.pos = record_start
            raise RDBDamage(reason, record_start, record_start) from None


def library_name(code: bytes) -> bytes:
    """The name a function library declares on its shebang line (``#!lua name=mylib``)."""
    first = code.split(b"\n", 1)[0]
    for part in first.split()[1:]:
        if part.startswith(b"name="):
            return part[5:]
    return b"?"


def open_rdb(path: str | os.PathLike[str]) -> RDBScanner:
    """A scanner over the file mapped read-only (an empty file is read as empty bytes)."""
    with open(Path(path), "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size == 0:
            return RDBScanner(b"")
        return RDBScanner(mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ))
