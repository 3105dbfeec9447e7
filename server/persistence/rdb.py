"""Redis's RDB format: snapshot files and DUMP payloads, read and written.

An RDB file is a header, a sequence of records and a footer::

    "REDIS" + 4-digit version      ("REDIS0010" for Redis 7.0)
    AUX name value ...             (0xFA: redis-ver, ctime, used-mem ...)
    SELECTDB n, RESIZEDB a b       (0xFE, 0xFB: the database the next keys go to)
    [EXPIRETIME_MS t] [IDLE|FREQ]  (0xFC ...: optional prefixes of one key)
    type key value                 (type < 0xF5: one key and its value)
    EOF                            (0xFF)
    CRC-64 of everything before it (8 bytes, little endian; 0 = not computed)

Lengths use Redis's variable-size encoding (``_read_length``); strings are a
length and bytes, or a small integer, or LZF-compressed data. Collections come
either as plain sequences of strings or as one string holding a compact
structure (ziplist, listpack, intset, zipmap) that is decoded here.

A DUMP payload is one value exactly as a file stores it (type byte and
value) followed by a 2-byte RDB version and the CRC-64 of what precedes it.

Reading builds plain values: ``bytes`` for strings and the classes of
``server.datatypes`` for collections. Nothing in a file is ever executed:
every byte is decoded by the parsers below, and anything unexpected raises
``RDBError`` with the offset where it was found.
"""

from __future__ import annotations

import fcntl
import os
import random
import struct
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from server import REDIS_VERSION
from server.persistence.crc64 import crc64, crc64_python
from server.persistence.lzf import LZFError, decompress

# The C part of the writer, built by `pip install -e .` (without it, saves are all Python).
encode_entries: Callable[[dict, dict, int, int, type], tuple[bytes, int, Any, Any]] | None
try:
    from server.persistence._rdbwriter import encode_entries
except ImportError:  # an install that did not build the extension
    encode_entries = None

RDB_VERSION = 10  # what Redis 7.0 writes, and the newest version this reader accepts

# Value types (rdb.h).
TYPE_STRING = 0
TYPE_LIST = 1
TYPE_SET = 2
TYPE_ZSET = 3
TYPE_HASH = 4
TYPE_ZSET_2 = 5
TYPE_MODULE_PRE_GA = 6
TYPE_MODULE_2 = 7
TYPE_HASH_ZIPMAP = 9
TYPE_LIST_ZIPLIST = 10
TYPE_SET_INTSET = 11
TYPE_ZSET_ZIPLIST = 12
TYPE_HASH_ZIPLIST = 13
TYPE_LIST_QUICKLIST = 14
TYPE_STREAM_LISTPACKS = 15
TYPE_HASH_LISTPACK = 16
TYPE_ZSET_LISTPACK = 17
TYPE_LIST_QUICKLIST_2 = 18
TYPE_STREAM_LISTPACKS_2 = 19
TYPE_SET_LISTPACK = 20
TYPE_STREAM_LISTPACKS_3 = 21

# Opcodes: records that are not a key.
OP_FUNCTION2 = 0xF5
OP_FUNCTION_PRE_GA = 0xF6
OP_MODULE_AUX = 0xF7
OP_IDLE = 0xF8
OP_FREQ = 0xF9
OP_AUX = 0xFA
OP_RESIZEDB = 0xFB
OP_EXPIRETIME_MS = 0xFC
OP_EXPIRETIME = 0xFD
OP_SELECTDB = 0xFE
OP_EOF = 0xFF

# Special string encodings (the two top bits of a length byte are 11).
ENC_INT8 = 0
ENC_INT16 = 1
ENC_INT32 = 2
ENC_LZF = 3

QUICKLIST_NODE_PLAIN = 1
QUICKLIST_NODE_PACKED = 2

# Module value serialisation opcodes (for skipping MODULE_AUX records).
_MODULE_OPCODE_EOF, _MODULE_SINT, _MODULE_UINT, _MODULE_FLOAT, _MODULE_DOUBLE, _MODULE_STRING = range(6)

_pack_q = struct.Struct("<q").pack
_pack_d = struct.Struct("<d").pack
_unpack_d = struct.Struct("<d").unpack_from
_unpack_f = struct.Struct("<f").unpack_from

LIST_NODE_BYTES = 8192  # listpack size per quicklist node, as list-max-listpack-size -2
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1


class RDBError(Exception):
    """A malformed or unsupported file; ``offset`` is where reading stopped."""

    def __init__(self, message: str, offset: int | None = None):
        self.reason = message
        self.offset = offset
        super().__init__(message if offset is None else f"{message} (at offset {offset})")


# =========================================================================== writing


def encode_length(n: int) -> bytes:
    """Redis's length encoding: 1, 2, 5 or 9 bytes."""
    if n < 0x40:
        return bytes((n,))
    if n < 0x4000:
        return bytes((0x40 | (n >> 8), n & 0xFF))
    if n <= 0xFFFFFFFF:
        return b"\x80" + n.to_bytes(4, "big")
    return b"\x81" + n.to_bytes(8, "big")


# One-byte lengths, indexed by length, to save a call in the hot loop.
_LEN1 = [bytes((n,)) for n in range(64)]


def encode_string(s: bytes | bytearray) -> bytes:
    """A length-prefixed string (always raw: Redis loads raw strings whatever they hold)."""
    n = len(s)
    if n < 64:
        return _LEN1[n] + s
    return encode_length(n) + s


def encode_int_string(value: int) -> bytes:
    """An integer as Redis's int-encoded string when it fits 32 bits, else as decimal text."""
    if -(1 << 7) <= value < (1 << 7):
        return b"\xc0" + value.to_bytes(1, "little", signed=True)
    if -(1 << 15) <= value < (1 << 15):
        return b"\xc1" + value.to_bytes(2, "little", signed=True)
    if -(1 << 31) <= value < (1 << 31):
        return b"\xc2" + value.to_bytes(4, "little", signed=True)
    return encode_string(b"%d" % value)


def _canonical_int(s: bytes) -> int | None:
    """``s`` as an int64 if it is written the way Redis prints integers ("12", "-3"), else None."""
    if not s or len(s) > 20:
        return None
    first = s[0]
    if not (48 <= first <= 57 or (first == 45 and len(s) > 1)):
        return None
    try:
        value = int(s)
    except ValueError:
        return None
    if b"%d" % value != s or not INT64_MIN <= value <= INT64_MAX:
        return None
    return value


def _lp_backlen(n: int) -> bytes:
    """The reverse-readable length that follows each listpack entry."""
    if n <= 127:
        return bytes((n,))
    if n < 16383:
        return bytes((n >> 7, (n & 127) | 128))
    if n < 2097151:
        return bytes((n >> 14, ((n >> 7) & 127) | 128, (n & 127) | 128))
    if n < 268435455:
        return bytes((n >> 21, ((n >> 14) & 127) | 128, ((n >> 7) & 127) | 128, (n & 127) | 128))
    return bytes((n >> 28, ((n >> 21) & 127) | 128, ((n >> 14) & 127) | 128, ((n >> 7) & 127) | 128,
                  (n & 127) | 128))


def _lp_entry(item: bytes) -> bytes:
    """One listpack entry: integers in the smallest integer encoding, others as strings."""
    value = _canonical_int(item)
    if value is not None:
        if 0 <= value <= 127:
            body = bytes((value,))
        elif -4096 <= value <= 4095:
            v = value & 0x1FFF
            body = bytes((0xC0 | (v >> 8), v & 0xFF))
        elif -(1 << 15) <= value < (1 << 15):
            body = b"\xf1" + value.to_bytes(2, "little", signed=True)
        elif -(1 << 23) <= value < (1 << 23):
            body = b"\xf2" + value.to_bytes(3, "little", signed=True)
        elif -(1 << 31) <= value < (1 << 31):
            body = b"\xf3" + value.to_bytes(4, "little", signed=True)
        else:
            body = b"\xf4" + value.to_bytes(8, "little", signed=True)
    else:
        n = len(item)
        if n < 64:
            body = bytes((0x80 | n,)) + item
        elif n < 4096:
            body = bytes((0xE0 | (n >> 8), n & 0xFF)) + item
        else:
            body = b"\xf0" + n.to_bytes(4, "little") + item
    return body + _lp_backlen(len(body))


def encode_listpack(entries: list[bytes]) -> bytes:
    """A listpack holding ``entries`` (total bytes, count, entries, 0xFF)."""
    body = b"".join(entries)
    count = len(entries) if len(entries) < 65535 else 65535  # 65535 means "count them"
    return struct.pack("<IH", 6 + len(body) + 1, count) + body + b"\xff"


def _encode_list(value: Iterable[bytes]) -> bytes:
    """A list as a quicklist of listpack nodes of about 8 KB each (TYPE_LIST_QUICKLIST_2)."""
    nodes: list[bytes] = []
    entries: list[bytes] = []
    size = 0
    for item in value:
        entry = _lp_entry(bytes(item))
        if entries and size + len(entry) > LIST_NODE_BYTES:
            nodes.append(encode_listpack(entries))
            entries, size = [], 0
        entries.append(entry)
        size += len(entry)
    if entries:
        nodes.append(encode_listpack(entries))
    parts = [encode_length(len(nodes))]
    for node in nodes:
        parts.append(b"\x02")  # QUICKLIST_NODE_PACKED as a length
        parts.append(encode_string(node))
    return b"".join(parts)


def encode_value(value: Any) -> tuple[int, bytes]:
    """``(rdb type, serialised value)`` for a value of any type this server holds."""
    cls = value.__class__
    if cls is bytes or cls is bytearray:
        return TYPE_STRING, encode_string(value)
    kind = getattr(cls, "TYPE_NAME", None)
    if kind == b"list":
        return TYPE_LIST_QUICKLIST_2, _encode_list(value)
    if kind == b"set":
        members = list(value)
        return TYPE_SET, encode_length(len(members)) + b"".join(encode_string(m) for m in members)
    if kind == b"hash":
        pairs = list(value.items())
        parts = [encode_length(len(pairs))]
        for f, v in pairs:
            parts.append(encode_string(f))
            parts.append(encode_string(v))
        return TYPE_HASH, b"".join(parts)
    if kind == b"stream":
        from server.persistence.rdb_stream import encode_stream

        return TYPE_STREAM_LISTPACKS_2, encode_stream(value)
    if kind == b"zset":
        # Redis writes (and reads back) a skiplist zset from its tail, so that
        # loading inserts at the head; any order loads, ranks come from scores.
        pairs = list(value.items())
        parts = [encode_length(len(pairs))]
        for member, score in reversed(pairs):
            parts.append(encode_string(member))
            parts.append(_pack_d(float(score)))
        return TYPE_ZSET_2, b"".join(parts)
    raise RDBError(f"cannot serialise a value of type {cls.__name__}")


def dump_payload(value: object) -> bytes:
    """DUMP's reply: the value as an RDB record, the RDB version and a CRC-64."""
    rdb_type, body = encode_value(value)
    payload = bytes((rdb_type,)) + body + RDB_VERSION.to_bytes(2, "little")
    return payload + crc64(0, payload).to_bytes(8, "little")


@dataclass
class SaveInfo:
    """What a save wrote, for the log and INFO."""

    keys: int = 0
    bytes: int = 0
    seconds: float = 0.0


class _ChecksummedFile:
    """A binary file that also keeps the running CRC-64 of what was written."""

    def __init__(self, fh) -> None:
        self.fh = fh
        self.crc = 0
        self.size = 0

    def write(self, data: bytes) -> None:
        self.crc = crc64(self.crc, data)
        self.size += len(data)
        self.fh.write(data)

    def checksum(self) -> int:
        return self.crc


PARALLEL_CRC_KEYS = 100_000  # from this many keys a save checksums in a helper process


class _PipedChecksum(_ChecksummedFile):
    """The CRC-64 computed by a forked helper fed through a pipe, on the other core.

    Used only when the C extension is not built. In CPython the checksum costs about as much as serialising; a helper that only
    reads the pipe (touching none of the data's pages) does it alongside.
    """

    def __init__(self, fh) -> None:
        super().__init__(fh)
        data_r, data_w = os.pipe()
        try:  # fewer round trips between the two processes
            fcntl.fcntl(data_w, getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
        except OSError:
            pass
        result_r, result_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the helper: checksum what arrives, report, exit without cleanup
            code = 1
            try:
                os.close(data_w)
                os.close(result_r)
                _checksum_pipe(data_r, result_w)
                code = 0
            finally:
                os._exit(code)
        os.close(data_r)
        os.close(result_w)
        self.pid, self.data_w, self.result_r = pid, data_w, result_r

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.data_w, view):]
        self.size += len(data)
        self.fh.write(data)

    def checksum(self) -> int:
        os.close(self.data_w)
        self.data_w = -1
        got = b""
        while len(got) < 8:
            chunk = os.read(self.result_r, 8 - len(got))
            if not chunk:
                break
            got += chunk
        self.close()
        if len(got) != 8:
            raise RDBError("the checksum helper process failed")
        return int.from_bytes(got, "little")

    def close(self) -> None:
        for fd in (self.data_w, self.result_r):
            if fd >= 0:
                os.close(fd)
        self.data_w = self.result_r = -1
        if self.pid > 0:
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass
            self.pid = -1


def _checksum_pipe(data_r: int, result_w: int) -> None:
    """The helper's loop: CRC-64 of everything read until EOF, in batches of about 1 MB."""
    import gc

    gc.disable()
    crc = 0
    batch: list[bytes] = []
    size = 0
    while True:
        chunk = os.read(data_r, 1 << 20)
        if chunk:
            batch.append(chunk)
            size += len(chunk)
        if size >= (1 << 20) or (not chunk and batch):
            crc = crc64(crc, b"".join(batch))
            batch.clear()
            size = 0
        if not chunk:
            break
    os.write(result_w, crc.to_bytes(8, "little"))


def _aux(name: bytes, value: bytes | int) -> bytes:
    encoded = encode_int_string(value) if isinstance(value, int) else encode_string(value)
    return b"\xfa" + encode_string(name) + encoded


def write_header(out: _ChecksummedFile, aux: dict[bytes, bytes | int], preamble: bool = False,
                 functions: Sequence[bytes] = ()) -> None:
    """The magic, the aux fields, then one RDB_OPCODE_FUNCTION2 record per FUNCTION library's code,
    as Redis 7.0 writes them in every RDB file and AOF preamble."""
    parts = [b"REDIS%04d" % RDB_VERSION]
    fields: dict[bytes, bytes | int] = {
        b"redis-ver": REDIS_VERSION.encode(),
        b"redis-bits": 64,
        b"ctime": int(time.time()),
        b"used-mem": 0,
    }
    fields.update(aux)
    fields[b"aof-base"] = 1 if preamble else 0
    for name, value in fields.items():
        parts.append(_aux(name, value))
    for code in functions:
        parts.append(b"\xf5" + encode_string(code))
    out.write(b"".join(parts))


_CHUNK_KEYS = 50_000  # keys serialised between two writes (about 1-2 MB for small keys)
_CHUNK_BYTES = 1 << 20  # bytes the C writer serialises between two writes


def _database_header(index: int, data: dict, expires: dict) -> bytes:
    """SELECTDB and RESIZEDB: the database the next keys go to, and its sizes."""
    return b"\xfe" + encode_length(index) + b"\xfb" + encode_length(len(data)) + encode_length(len(expires))


def encode_entry(key: bytes, value: Any, deadline: int | None) -> bytes:
    """One key's record: its expiry prefix if it has one, the type, the key, the value."""
    prefix = b"" if deadline is None else b"\xfc" + _pack_q(deadline)
    rdb_type, body = encode_value(value)
    return prefix + bytes((rdb_type,)) + encode_string(key) + body


def write_database_python(out: _ChecksummedFile, index: int, data: dict, expires: dict) -> int:
    """SELECTDB, RESIZEDB and every key of one database; returns the number of keys.

    The reference writer: ``write_database`` must produce these bytes exactly.
    Small strings, by far the commonest values, are serialised inline with one
    bytes-formatting operation each; everything else goes through ``encode_value``.
    """
    out.write(_database_header(index, data, expires))
    chunk: list[bytes] = []
    append = chunk.append
    pending = 0
    for key, value in data.items():
        if expires:
            deadline = expires.get(key)
            if deadline is not None:
                append(b"\xfc" + _pack_q(deadline))
        cls = value.__class__
        if cls is bytes or cls is bytearray:
            if len(key) < 64 and len(value) < 64:
                append(b"\x00%c%b%c%b" % (len(key), key, len(value), value))
            else:
                append(b"\x00" + encode_string(key) + encode_string(value))
        else:
            rdb_type, body = encode_value(value)
            append(bytes((rdb_type,)) + encode_string(key) + body)
        pending += 1
        if pending == _CHUNK_KEYS:
            out.write(b"".join(chunk))
            chunk.clear()
            pending = 0
    if chunk:
        out.write(b"".join(chunk))
    return len(data)


def write_database(out: _ChecksummedFile, index: int, data: dict, expires: dict) -> int:
    """``write_database_python``'s bytes, with strings and hashes written in C when it is built.

    A forked child that walks the keyspace in Python writes to every object it
    meets (reference counts live in the objects) and so copies the parent's
    pages; ``encode_entries`` (``_rdbwriter.c``) reads strings and hashes of
    strings with borrowed references and writes only its output. Other values
    come back to Python one at a time.
    """
    encode = encode_entries
    if encode is None:
        return write_database_python(out, index, data, expires)
    from server.datatypes.hash import HashValue

    out.write(_database_header(index, data, expires))
    parts: list[bytes] = []
    size = 0
    pos = 0
    while pos >= 0:
        chunk, pos, key, value = encode(data, expires, pos, _CHUNK_BYTES - size, HashValue)
        parts.append(chunk)
        size += len(chunk)
        if key is not None:
            entry = encode_entry(key, value, expires.get(key) if expires else None)
            parts.append(entry)
            size += len(entry)
        if size >= _CHUNK_BYTES or pos < 0:
            out.write(b"".join(parts) if len(parts) > 1 else parts[0])
            parts.clear()
            size = 0
    return len(data)


def write_rdb(fh, databases: Iterable[tuple[int, dict, dict]], aux: dict | None = None,
              preamble: bool = False, functions: Sequence[bytes] = ()) -> SaveInfo:
    """Write a whole RDB file to the binary file ``fh``: header, databases, EOF, CRC."""
    start = time.perf_counter()
    databases = list(databases)
    # The checksum in Python costs as much as the writing: a helper process does it alongside.
    big = crc64 is crc64_python and sum(len(data) for _, data, _ in databases) >= PARALLEL_CRC_KEYS
    out = _ChecksummedFile(fh)
    if big:
        try:
            out = _PipedChecksum(fh)
        except OSError:  # no fork: checksum here
            pass
    try:
        write_header(out, aux or {}, preamble, functions)
        keys = 0
        for index, data, expires in databases:
            if data:
                keys += write_database(out, index, data, expires)
        out.write(b"\xff")
        fh.write(out.checksum().to_bytes(8, "little"))
    finally:
        if isinstance(out, _PipedChecksum):
            out.close()
    return SaveInfo(keys=keys, bytes=out.size + 8, seconds=time.perf_counter() - start)


class Orphaned(Exception):
    """A background save's parent died: its snapshot is stale and must not replace the file."""


class _ParentWatch:
    """A file whose writes stop once the process that forked us is gone (its parent pid changes)."""

    def __init__(self, fh, parent: int) -> None:
        self.fh = fh
        self.parent = parent

    def check(self) -> None:
        if os.getppid() != self.parent:
            raise Orphaned("the parent process is gone")

    def write(self, data: bytes) -> int:
        self.check()
        return self.fh.write(data)


def save_file(path: str, databases: Iterable[tuple[int, dict, dict]], aux: dict | None = None,
              preamble: bool = False, parent: int | None = None, functions: Sequence[bytes] = ()) -> SaveInfo:
    """Write an RDB file atomically: a temp file, fsync, rename, fsync of the directory.

    ``parent``: the pid of the server when a forked child saves. If that server
    dies meanwhile (kill -9, the OOM killer), a new one may already have saved
    newer data under ``path``: the child stops and ``Orphaned`` is raised, and the
    temp file never replaces anything.
    """
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f"temp-{os.getpid()}.rdb")
    try:
        with open(tmp, "wb", buffering=1 << 20) as fh:
            out = fh if parent is None else _ParentWatch(fh, parent)
            info = write_rdb(out, databases, aux, preamble, functions=functions)
            fh.flush()
            os.fsync(fh.fileno())
        if parent is not None and os.getppid() != parent:
            raise Orphaned("the parent process is gone")
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    fsync_directory(directory)
    return info


def fsync_directory(directory: str) -> None:
    """Make a rename durable: fsync the directory that holds the file."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# =========================================================================== reading


def value_factories(config=None) -> dict[str, Callable[[list], object]]:
    """Constructors for collections read from a file, by kind ("list", "set", "hash", "zset").

    With a server ``config``, the encoding thresholds (``hash-max-listpack-entries`` ...)
    are passed on, so a loaded value reports the encoding Redis would choose.
    """
    factories: dict[str, Callable[[list], object]] = {}

    def limit(name: str, default: int) -> int:
        try:
            return int(config[name]) if config is not None else default
        except (KeyError, TypeError, ValueError):
            return default

    try:
        from server.datatypes.list import ListValue

        factories["list"] = ListValue
    except ImportError:
        pass
    try:
        from server.datatypes.set import SetValue

        intset = limit("set-max-intset-entries", 512)
        factories["set"] = lambda items: SetValue(items, intset)
    except ImportError:
        pass
    try:
        from server.datatypes.hash import HashValue

        h_entries, h_value = limit("hash-max-listpack-entries", 128), limit("hash-max-listpack-value", 64)
        factories["hash"] = lambda items: HashValue(items, h_entries, h_value)
    except ImportError:
        pass
    try:
        from server.datatypes.zset import ZSetValue

        z_entries, z_value = limit("zset-max-listpack-entries", 128), limit("zset-max-listpack-value", 64)
        factories["zset"] = lambda items: ZSetValue(items, z_entries, z_value)
    except ImportError:
        pass
    return factories


@dataclass
class LoadResult:
    """Everything read from a file: per-database (data, expires), aux fields and counts."""

    databases: dict[int, tuple[dict, dict]] = field(default_factory=dict)
    aux: dict[bytes, bytes] = field(default_factory=dict)
    version: int = 0
    keys_loaded: int = 0
    keys_expired: int = 0
    functions: list[bytes] = field(default_factory=list)  # the code of each function library
    module_aux_skipped: int = 0
    checksum: str = "ok"  # "ok", "missing" (version < 5) or "disabled" (written as 0)


class Reader:
    """Decodes RDB records from a bytes buffer; ``pos`` is the next byte to read."""

    def __init__(self, buf: bytes, pos: int = 0, factories: dict[str, Callable[[list], object]] | None = None):
        self.buf = buf
        self.pos = pos
        self._classes = factories

    # -- primitives ------------------------------------------------------------

    def fail(self, message: str, offset: int | None = None) -> RDBError:
        return RDBError(message, self.pos if offset is None else offset)

    def take(self, n: int) -> bytes:
        pos = self.pos
        end = pos + n
        if end > len(self.buf):
            raise RDBError("unexpected end of file", len(self.buf))
        self.pos = end
        return self.buf[pos:end]

    def byte(self) -> int:
        pos = self.pos
        if pos >= len(self.buf):
            raise RDBError("unexpected end of file", pos)
        self.pos = pos + 1
        return self.buf[pos]

    def length_or_encoding(self) -> tuple[int, bool]:
        """A length, or (with True) the special string encoding that replaces one."""
        first = self.byte()
        kind = first >> 6
        if kind == 0:
            return first & 0x3F, False
        if kind == 1:
            return ((first & 0x3F) << 8) | self.byte(), False
        if kind == 3:
            return first & 0x3F, True
        if first == 0x80:
            return int.from_bytes(self.take(4), "big"), False
        if first == 0x81:
            return int.from_bytes(self.take(8), "big"), False
        raise self.fail(f"unknown length encoding 0x{first:02x}", self.pos - 1)

    def length(self) -> int:
        n, encoded = self.length_or_encoding()
        if encoded:
            raise self.fail("expected a length, found a string encoding", self.pos - 1)
        return n

    def string(self) -> bytes:
        n, encoded = self.length_or_encoding()
        if not encoded:
            return self.take(n)
        if n == ENC_INT8:
            return b"%d" % int.from_bytes(self.take(1), "little", signed=True)
        if n == ENC_INT16:
            return b"%d" % int.from_bytes(self.take(2), "little", signed=True)
        if n == ENC_INT32:
            return b"%d" % int.from_bytes(self.take(4), "little", signed=True)
        if n == ENC_LZF:
            start = self.pos
            compressed_len = self.length()
            real_len = self.length()
            try:
                return decompress(self.take(compressed_len), real_len)
            except LZFError as exc:
                raise self.fail(f"invalid LZF-compressed string: {exc}", start) from None
        raise self.fail(f"unknown string encoding {n}", self.pos - 1)

    def binary_double(self) -> float:
        return _unpack_d(self.take(8))[0]

    def string_double(self) -> float:
        """An old-style score: a length byte (253 nan, 254 +inf, 255 -inf) and ASCII text."""
        n = self.byte()
        if n == 253:
            return float("nan")
        if n == 254:
            return float("inf")
        if n == 255:
            return float("-inf")
        text = self.take(n)
        try:
            return float(text)
        except ValueError:
            raise self.fail(f"invalid score {text!r}") from None

    # -- values ----------------------------------------------------------------

    def cls(self, kind: str, offset: int) -> Callable[[list], object]:
        if self._classes is None:
            self._classes = value_factories()
        found = self._classes.get(kind)
        if found is None:
            raise RDBError(f"{kind} values are not supported by this server", offset)
        return found

    def value(self, rdb_type: int) -> object:
        """One value of type ``rdb_type``, in any encoding Redis 7.0 writes."""
        start = self.pos
        if rdb_type == TYPE_STRING:
            return self.string()
        if rdb_type == TYPE_LIST:
            return self.cls("list", start)([self.string() for _ in range(self.length())])
        if rdb_type == TYPE_LIST_QUICKLIST or rdb_type == TYPE_LIST_QUICKLIST_2:
            items: list[bytes] = []
            for _ in range(self.length()):
                container = QUICKLIST_NODE_PACKED
                if rdb_type == TYPE_LIST_QUICKLIST_2:
                    container = self.length()
                node_at = self.pos
                blob = self.string()
                if container == QUICKLIST_NODE_PLAIN:
                    items.append(blob)
                elif container != QUICKLIST_NODE_PACKED:
                    raise self.fail(f"unknown quicklist node container {container}", node_at)
                elif rdb_type == TYPE_LIST_QUICKLIST:
                    items.extend(parse_ziplist(blob, node_at))
                else:
                    items.extend(parse_listpack(blob, node_at))
            return self.cls("list", start)(items)
        if rdb_type == TYPE_LIST_ZIPLIST:
            blob = self.string()
            return self.cls("list", start)(parse_ziplist(blob, start))
        if rdb_type == TYPE_SET:
            members = [self.string() for _ in range(self.length())]
            return self.cls("set", start)(members)
        if rdb_type == TYPE_SET_INTSET:
            return self.cls("set", start)(parse_intset(self.string(), start))
        if rdb_type == TYPE_SET_LISTPACK:
            return self.cls("set", start)(parse_listpack(self.string(), start))
        if rdb_type == TYPE_HASH:
            n = self.length()
            pairs = [(self.string(), self.string()) for _ in range(n)]
            return self.cls("hash", start)(pairs)
        if rdb_type == TYPE_HASH_ZIPMAP:
            return self.cls("hash", start)(parse_zipmap(self.string(), start))
        if rdb_type == TYPE_HASH_ZIPLIST or rdb_type == TYPE_HASH_LISTPACK:
            blob = self.string()
            flat = parse_ziplist(blob, start) if rdb_type == TYPE_HASH_ZIPLIST else parse_listpack(blob, start)
            if len(flat) % 2:
                raise RDBError("hash encoding holds an odd number of entries", start)
            return self.cls("hash", start)(list(zip(flat[0::2], flat[1::2], strict=True)))
        if rdb_type == TYPE_ZSET or rdb_type == TYPE_ZSET_2:
            n = self.length()
            read_score = self.binary_double if rdb_type == TYPE_ZSET_2 else self.string_double
            pairs_z = []
            for _ in range(n):
                member = self.string()
                score = read_score()
                if score != score:
                    raise self.fail("sorted set score is NaN")
                pairs_z.append((member, score))
            return self.cls("zset", start)(pairs_z)
        if rdb_type == TYPE_ZSET_ZIPLIST or rdb_type == TYPE_ZSET_LISTPACK:
            blob = self.string()
            flat = parse_ziplist(blob, start) if rdb_type == TYPE_ZSET_ZIPLIST else parse_listpack(blob, start)
            if len(flat) % 2:
                raise RDBError("sorted set encoding holds an odd number of entries", start)
            try:
                scored = [(flat[i], float(flat[i + 1])) for i in range(0, len(flat), 2)]
            except ValueError:
                raise RDBError("invalid score in a sorted set encoding", start) from None
            return self.cls("zset", start)(scored)
        if rdb_type in (TYPE_STREAM_LISTPACKS, TYPE_STREAM_LISTPACKS_2, TYPE_STREAM_LISTPACKS_3):
            from server.persistence.rdb_stream import read_stream

            return read_stream(self, rdb_type)
        if rdb_type in (TYPE_MODULE_PRE_GA, TYPE_MODULE_2):
            raise RDBError("module values are not supported by this server (no modules are loaded)")
        raise RDBError(f"unknown value type {rdb_type}")

    def skip_module_aux(self) -> None:
        """Skip a MODULE_AUX record: module id, when-opcode, when, then typed fields to EOF."""
        self.length()  # module id
        when_opcode = self.length()
        self.length()  # when
        if when_opcode != _MODULE_UINT:
            raise self.fail("invalid module aux record")
        while True:
            opcode = self.length()
            if opcode == _MODULE_OPCODE_EOF:
                return
            if opcode in (_MODULE_SINT, _MODULE_UINT):
                self.length()
            elif opcode == _MODULE_FLOAT:
                self.take(4)
            elif opcode == _MODULE_DOUBLE:
                self.take(8)
            elif opcode == _MODULE_STRING:
                self.string()
            else:
                raise self.fail(f"unknown module data opcode {opcode}")


# -- compact encodings ----------------------------------------------------------


def parse_listpack(lp: bytes, offset: int = 0) -> list[bytes]:
    """Entries of a listpack, integers rendered as decimal text (as Redis returns them)."""
    out: list[bytes] = []
    append = out.append
    end = len(lp)
    if end < 7 or int.from_bytes(lp[0:4], "little") != end:
        raise RDBError("invalid listpack header", offset)
    pos = 6
    try:
        while True:
            b = lp[pos]
            if b < 0x80:
                append(b"%d" % b)
                size = 1
            elif b < 0xC0:
                n = b & 0x3F
                append(lp[pos + 1:pos + 1 + n])
                size = 1 + n
            elif b < 0xE0:
                v = ((b & 0x1F) << 8) | lp[pos + 1]
                append(b"%d" % (v - 8192 if v >= 4096 else v))
                size = 2
            elif b < 0xF0:
                n = ((b & 0x0F) << 8) | lp[pos + 1]
                append(lp[pos + 2:pos + 2 + n])
                size = 2 + n
            elif b == 0xF0:
                n = int.from_bytes(lp[pos + 1:pos + 5], "little")
                append(lp[pos + 5:pos + 5 + n])
                size = 5 + n
            elif b == 0xFF:
                break
            elif 0xF1 <= b <= 0xF4:
                width = (2, 3, 4, 8)[b - 0xF1]
                append(b"%d" % int.from_bytes(lp[pos + 1:pos + 1 + width], "little", signed=True))
                size = 1 + width
            else:
                raise RDBError(f"invalid listpack entry encoding 0x{b:02x}", offset)
            pos += size + (1 if size <= 127 else 2 if size < 16383 else 3 if size < 2097151
                           else 4 if size < 268435455 else 5)
            if pos >= end:
                raise RDBError("listpack entry past its end", offset)
    except IndexError:
        raise RDBError("truncated listpack", offset) from None
    if pos != end - 1:
        raise RDBError("listpack ends before its announced size", offset)
    return out


def parse_ziplist(zl: bytes, offset: int = 0) -> list[bytes]:
    """Entries of a ziplist (the compact encoding before listpack), integers as text."""
    out: list[bytes] = []
    append = out.append
    end = len(zl)
    if end < 11 or int.from_bytes(zl[0:4], "little") != end:
        raise RDBError("invalid ziplist header", offset)
    pos = 10
    try:
        while True:
            if zl[pos] == 0xFF:
                break
            pos += 1 if zl[pos] < 254 else 5  # the previous entry's length
            e = zl[pos]
            kind = e >> 6
            if kind == 0:
                n = e & 0x3F
                append(zl[pos + 1:pos + 1 + n])
                pos += 1 + n
            elif kind == 1:
                n = ((e & 0x3F) << 8) | zl[pos + 1]
                append(zl[pos + 2:pos + 2 + n])
                pos += 2 + n
            elif e == 0x80:
                n = int.from_bytes(zl[pos + 1:pos + 5], "big")
                append(zl[pos + 5:pos + 5 + n])
                pos += 5 + n
            elif e in _ZIPLIST_INT_WIDTHS:
                width = _ZIPLIST_INT_WIDTHS[e]
                append(b"%d" % int.from_bytes(zl[pos + 1:pos + 1 + width], "little", signed=True))
                pos += 1 + width
            elif 0xF1 <= e <= 0xFD:
                append(b"%d" % (e - 0xF1))
                pos += 1
            else:
                raise RDBError(f"invalid ziplist entry encoding 0x{e:02x}", offset)
            if pos >= end:
                raise RDBError("ziplist entry past its end", offset)
    except IndexError:
        raise RDBError("truncated ziplist", offset) from None
    return out


_ZIPLIST_INT_WIDTHS = {0xC0: 2, 0xD0: 4, 0xE0: 8, 0xF0: 3, 0xFE: 1}


def parse_intset(blob: bytes, offset: int = 0) -> list[bytes]:
    """Members of an intset: a width (2, 4, 8), a count, then sorted little-endian integers."""
    if len(blob) < 8:
        raise RDBError("truncated intset", offset)
    width = int.from_bytes(blob[0:4], "little")
    count = int.from_bytes(blob[4:8], "little")
    if width not in (2, 4, 8) or len(blob) != 8 + width * count:
        raise RDBError("invalid intset", offset)
    code = {2: "h", 4: "i", 8: "q"}[width]
    return [b"%d" % v for v in struct.unpack_from(f"<{count}{code}", blob, 8)]


def parse_zipmap(zm: bytes, offset: int = 0) -> list[tuple[bytes, bytes]]:
    """Field/value pairs of a zipmap (the hash encoding of Redis before 2.6)."""
    pairs = []
    pos = 1

    def read_len() -> int:
        nonlocal pos
        first = zm[pos]
        if first < 254:
            pos += 1
            return first
        if first == 254:
            value = int.from_bytes(zm[pos + 1:pos + 5], "little")
            pos += 5
            return value
        raise RDBError("unexpected end marker in zipmap", offset)

    try:
        while zm[pos] != 0xFF:
            klen = read_len()
            key = zm[pos:pos + klen]
            pos += klen
            vlen = read_len()
            free = zm[pos]
            pos += 1
            pairs.append((key, zm[pos:pos + vlen]))
            pos += vlen + free
    except IndexError:
        raise RDBError("truncated zipmap", offset) from None
    return pairs


# -- whole files ------------------------------------------------------------------


def load_payload(payload: bytes, factories: dict | None = None) -> object:
    """The value of a DUMP payload; RDBError if its version or checksum are wrong or it is malformed."""
    if len(payload) < 10:
        raise RDBError("payload too short")
    footer = payload[-10:]
    version = footer[0] | footer[1] << 8
    if version > RDB_VERSION:
        raise RDBError("payload version is newer than this server's")
    if int.from_bytes(footer[2:], "little") != crc64(0, payload[:-8]):
        raise RDBError("payload checksum is wrong")
    reader = Reader(payload[:-10], factories=factories)
    value = reader.value(reader.byte())
    if reader.pos != len(payload) - 10:
        raise RDBError("trailing bytes after the value", reader.pos)
    return value


def verify_payload(payload: bytes) -> bool:
    """True if a DUMP payload has an RDB version we read and a matching CRC-64."""
    if len(payload) < 10:
        return False
    footer = payload[-10:]
    if (footer[0] | footer[1] << 8) > RDB_VERSION:
        return False
    return int.from_bytes(footer[2:], "little") == crc64(0, payload[:-8])


def load_bytes(buf: bytes, now_ms: int | None = None, progress: Callable[[int, int], None] | None = None,
               skip_expired: bool = True, factories: dict | None = None, key_delay: int = 0) -> LoadResult:
    """Decode a whole RDB image. Keys already expired at ``now_ms`` are dropped, as Redis's master does.

    ``progress(done_bytes, total_bytes)`` is called now and then for long loads. ``key_delay``:
    Redis's ``key-load-delay`` (see `debug_delay`), for tests that watch a load in progress.
    """
    steps = load_steps(buf, now_ms, skip_expired, factories, key_delay=key_delay)
    try:
        while True:
            try:
                done, total = next(steps)
            except StopIteration as stop:
                return stop.value
            if progress is not None:
                progress(done, total)  # (may raise: a SHUTDOWN served during the load)
    finally:
        steps.close()


def load_steps(buf: bytes, now_ms: int | None = None, skip_expired: bool = True, factories: dict | None = None,
               step: int = 0, key_delay: int = 0) -> Generator[tuple[int, int], None, LoadResult]:
    """``load_bytes`` in steps: yields (done bytes, total bytes) after about every ``step`` bytes
    decoded and returns the ``LoadResult`` (a replica keeps answering -LOADING in between)."""
    result = LoadResult()
    step = step or PROGRESS_EVERY
    if len(buf) < 9 or buf[:5] != b"REDIS":
        raise RDBError("wrong signature: not an RDB file", 0)
    try:
        version = int(buf[5:9])
    except ValueError:
        raise RDBError("wrong signature: bad version number", 5) from None
    if not 1 <= version <= RDB_VERSION:
        raise RDBError(f"can't handle RDB format version {version}", 5)
    result.version = version
    now = int(time.time() * 1000) if now_ms is None else now_ms
    # The checksum of a well-formed file covers all but its last 8 bytes: compute it in a
    # helper process while this one decodes (two cores, half the wall time).
    checksum = _BackgroundChecksum(buf, len(buf) - 8) if version >= 5 and len(buf) >= _PARALLEL_CRC_MIN else None
    try:
        return (yield from _load_records(buf, version, now, step, skip_expired, factories, result, checksum,
                                         key_delay))
    finally:
        if checksum is not None:
            checksum.close()


# Bytes between two ``progress`` calls, the rhythm at which a loading server answers its clients
# (INFO, -LOADING). Redis serves them every 2 MB (loading-process-events-interval-bytes), a few
# milliseconds of its loading; this loader reads 256 KB in about as long.
PROGRESS_EVERY = 256 << 10
_PARALLEL_CRC_MIN = 4 << 20  # bytes; below this a helper process costs more than it saves


class _BackgroundChecksum:
    """CRC-64 of ``buf[:end]`` computed by a forked child, read back through a pipe."""

    def __init__(self, buf: bytes, end: int):
        self.buf, self.end = buf, end
        self.pid = -1
        read_fd, write_fd = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(read_fd)
            os.close(write_fd)
            self.read_fd = -1
            return
        if pid == 0:  # child: checksum, report, exit without running any parent cleanup
            code = 1
            try:
                os.close(read_fd)
                import gc

                gc.disable()
                os.write(write_fd, crc64(0, memoryview(buf)[:end]).to_bytes(8, "little"))
                code = 0
            finally:
                os._exit(code)
        os.close(write_fd)
        self.pid, self.read_fd = pid, read_fd

    def value(self, end: int) -> int:
        """The CRC of ``buf[:end]``: from the child when it covered exactly that, else computed here."""
        if end == self.end and self.read_fd >= 0:
            data = b""
            while len(data) < 8:
                chunk = os.read(self.read_fd, 8 - len(data))
                if not chunk:
                    break
                data += chunk
            self.close()
            if len(data) == 8:
                return int.from_bytes(data, "little")
        return crc64(0, memoryview(self.buf)[:end])

    def close(self) -> None:
        if self.read_fd >= 0:
            os.close(self.read_fd)
            self.read_fd = -1
        if self.pid > 0:
            try:
                os.kill(self.pid, 9)
            except ProcessLookupError:
                pass
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass
            self.pid = -1


def debug_delay(usec: int) -> None:
    """Redis's ``debugDelay``: sleep ``usec`` microseconds; a negative value sleeps 1 µs once in
    ``-usec`` calls on average (even the shortest sleep is a system call, so short delays are
    made by sleeping less often)."""
    if usec < 0:
        usec = 1 if random.randrange(-usec) == 0 else 0
    if usec:
        time.sleep(usec / 1_000_000)


def _load_records(buf: bytes, version: int, now: int, step: int, skip_expired: bool, factories,
                  result: LoadResult, checksum: _BackgroundChecksum | None, key_delay: int = 0
                  ) -> Generator[tuple[int, int], None, LoadResult]:
    """The record loop of ``load_bytes``: every key, opcode and the footer (yielding every ``step`` bytes)."""
    reader = Reader(buf, 9, factories)
    databases = result.databases
    data: dict = {}
    expires: dict = {}
    databases[0] = (data, expires)
    deadline = -1
    record_start = 9
    loaded = expired = 0
    total = len(buf)
    next_progress = step
    buf_len = total
    value_of = reader.value
    value: object  # a string (raw slice or decoded) or a collection, per record type
    try:
        while True:
            pos = reader.pos
            record_start = pos
            if pos >= buf_len:
                raise RDBError("unexpected end of file (no EOF marker)", pos)
            t = buf[pos]
            if t == 0 and deadline == -1 and not key_delay:
                # Fastest path: a run of short string keys with short string values and no
                # expiry (most records of most files), stored without leaving this loop.
                first = pos
                while True:
                    record_start = pos
                    kl = buf[pos + 1]
                    if kl >= 64:
                        break
                    vat = pos + 2 + kl
                    vl = buf[vat]
                    end = vat + 1 + vl
                    if vl >= 64 or end >= buf_len:
                        break
                    data[buf[pos + 2:vat]] = buf[vat + 1:end]
                    loaded += 1
                    pos = end
                    if buf[pos] != 0 or pos > next_progress:  # (leaves to report progress)
                        break
                if pos != first:
                    reader.pos = pos
                    if pos > next_progress:
                        yield pos, total
                        next_progress = pos + step
                    continue
            # Fast path: a string key with a short string value (most keys of most files).
            if t == 0:
                kl = buf[pos + 1]
                if kl < 64:
                    key = buf[pos + 2:pos + 2 + kl]
                    pos += 2 + kl
                    vl = buf[pos]
                    if vl < 64:
                        value = buf[pos + 1:pos + 1 + vl]
                        reader.pos = pos + 1 + vl
                        if reader.pos > buf_len:
                            raise RDBError("unexpected end of file", buf_len)
                    else:
                        reader.pos = pos
                        value = reader.string()
                else:
                    reader.pos = pos + 1
                    key = reader.string()
                    value = reader.string()
            elif t < OP_FUNCTION2:
                reader.pos = pos + 1
                key = reader.string()
                value = value_of(t)
            else:
                reader.pos = pos + 1
                if t == OP_EXPIRETIME_MS:
                    deadline = int.from_bytes(reader.take(8), "little", signed=True)
                elif t == OP_EXPIRETIME:
                    deadline = int.from_bytes(reader.take(4), "little", signed=True) * 1000
                elif t == OP_SELECTDB:
                    dbid = reader.length()
                    if dbid not in databases:
                        databases[dbid] = ({}, {})
                    data, expires = databases[dbid]
                elif t == OP_RESIZEDB:
                    reader.length()
                    reader.length()
                elif t == OP_AUX:
                    name = reader.string()
                    result.aux[name] = reader.string()
                elif t == OP_IDLE:
                    reader.length()
                elif t == OP_FREQ:
                    reader.byte()
                elif t == OP_EOF:
                    break
                elif t == OP_MODULE_AUX:
                    reader.skip_module_aux()
                    result.module_aux_skipped += 1
                elif t == OP_FUNCTION2:
                    result.functions.append(reader.string())  # a function library's source
                elif t == OP_FUNCTION_PRE_GA:
                    raise RDBError("pre-GA function records (Redis 7.0 release candidates) are not supported", pos)
                else:
                    raise RDBError(f"unknown record type {t}", pos)
                continue
            if deadline != -1:
                if skip_expired and deadline < now:
                    expired += 1
                    deadline = -1
                    continue
                expires[key] = deadline
                deadline = -1
            data[key] = value
            loaded += 1
            if key_delay:
                debug_delay(key_delay)
            if reader.pos > next_progress:
                yield reader.pos, total
                next_progress = reader.pos + step
    except IndexError:
        raise RDBError("unexpected end of file", min(record_start, buf_len)) from None
    except RDBError as exc:
        if exc.offset is None:
            exc.offset = record_start
        raise
    eof_at = reader.pos
    if version >= 5:
        if buf_len < eof_at + 8:
            raise RDBError("unexpected end of file (checksum missing)", buf_len)
        stored = int.from_bytes(buf[eof_at:eof_at + 8], "little")
        if stored == 0:
            result.checksum = "disabled"
        elif stored != (checksum.value(eof_at) if checksum is not None else crc64(0, memoryview(buf)[:eof_at])):
            raise RDBError("RDB checksum mismatch: the file is corrupt", eof_at)
        eof_at += 8
    else:
        result.checksum = "missing"
    if eof_at != buf_len:
        raise RDBError(f"{buf_len - eof_at} unexpected bytes after the end of the RDB data", eof_at)
    result.keys_loaded = loaded
    result.keys_expired = expired
    return result


def load_file(path: str, **kwargs) -> LoadResult:
    """Read and decode the RDB file at ``path`` (see ``load_bytes``)."""
    with open(path, "rb") as fh:
        buf = fh.read()
    return load_bytes(buf, **kwargs)


def iter_keyspace(keyspace) -> Iterator[tuple[int, dict, dict]]:
    """``(index, data, expires)`` for every database of a ``Keyspace``, for ``write_rdb``."""
    for db in keyspace.dbs:
        yield db.id, db.data, db.expires
