"""The append-only file, in Redis 7.0's multi-part layout.

With ``appendonly yes`` every command that changed the data is appended to a
file in RESP, the protocol clients speak, so replaying the file rebuilds the
data. Redis 7.0 keeps the AOF as several files in ``appenddirname``:

- a **base** file: a snapshot, either an RDB image (``.base.rdb``, the "RDB
  preamble") or RESP commands (``.base.aof``);
- **incremental** files (``.incr.aof``): the commands since that snapshot;
- a **manifest** (``appendonly.aof.manifest``) naming them in order, one line
  each: ``file appendonly.aof.1.base.rdb seq 1 type b``.

A rewrite (BGREWRITEAOF) opens a new incremental file for the writes that
follow, while a child process writes a new base from its copy of the data.
When the child is done, the manifest is replaced (written to a temp file and
renamed) so that it names the new base and the new incremental file only:
at every moment the manifest on disk names files that together hold all the
data. ``redis-check-aof`` reads this layout.

This module knows files and bytes; when to write, fsync or rewrite is decided
by ``server.persistence.manager``.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from server.persistence.rdb import fsync_directory

BASE, HISTORY, INCR = "b", "h", "i"


class AOFError(Exception):
    """A malformed manifest or AOF file; ``offset`` locates the problem when known."""

    def __init__(self, message: str, path: str = "", offset: int | None = None):
        self.path = path
        self.offset = offset
        where = f" in {path}" if path else ""
        at = f" at offset {offset}" if offset is not None else ""
        super().__init__(f"{message}{where}{at}")


class TruncatedAOF(AOFError):
    """The file ends in the middle of a command; ``offset`` is where the last whole one ends."""


class ManifestError(AOFError):
    """A manifest Redis would refuse: ``reason`` is its message, ``line`` the offending line."""

    def __init__(self, reason: str, path: str = "", number: int = 0, line: bytes | None = None):
        self.reason = reason
        self.number = number
        self.line = line
        super().__init__(reason, path)

    def log_lines(self) -> list[str]:
        """What redis-server logs before it exits (aofLoadManifestFromFile's loaderr)."""
        lines = ["\n*** FATAL AOF MANIFEST FILE ERROR ***\n"]
        if self.line is not None:
            lines.append(f"Reading the manifest file, at line {self.number}\n")
            lines.append(f">>> '{self.line.decode('utf-8', 'replace')}'\n")
        lines.append(f"{self.reason}\n")
        return lines


# --------------------------------------------------------------------------- RESP


def encode_command(argv: list[bytes]) -> bytes:
    """A command as a RESP array of bulk strings, the way Redis writes it to the AOF."""
    parts = [b"*%d\r\n" % len(argv)]
    for arg in argv:
        parts.append(b"$%d\r\n%b\r\n" % (len(arg), arg))
    return b"".join(parts)


BAD_FORMAT = "Bad file format reading the append only file"
TRUNCATED = "Unexpected end of file"


def parse_commands(buf: bytes, path: str = "") -> Iterator[tuple[list[bytes], int]]:
    """Commands of a RESP file, each with the offset just after it.

    Raises ``TruncatedAOF`` if the data stops inside a command (its offset is
    where the last complete command ends) and ``AOFError`` for anything else
    that is not a RESP array of bulk strings.
    """
    pos = 0
    end = len(buf)
    find = buf.find

    def header(pos: int, marker: int, start: int) -> tuple[int, int]:
        """The number of a ``*N`` or ``$N`` line at ``pos``, and the offset after that line."""
        if buf[pos] != marker:
            raise AOFError(BAD_FORMAT, path, pos)
        eol = find(b"\r\n", pos)
        if eol < 0:
            raise TruncatedAOF(TRUNCATED, path, start)
        try:
            return int(buf[pos + 1:eol]), eol + 2
        except ValueError:
            raise AOFError(BAD_FORMAT, path, pos) from None

    while pos < end:
        start = pos
        if buf[pos] == 0x23:  # '#': an annotation line (aof-timestamp-enabled writes "#TS:...")
            eol = find(b"\r\n", pos)
            if eol < 0:
                raise TruncatedAOF(TRUNCATED, path, start)
            pos = eol + 2
            continue
        count, after = header(pos, 0x2A, start)  # '*'
        if count < 1:
            raise AOFError(BAD_FORMAT, path, pos)
        pos = after
        argv = []
        for _ in range(count):
            if pos >= end:
                raise TruncatedAOF(TRUNCATED, path, start)
            n, pos = header(pos, 0x24, start)  # '$'
            if pos + n + 2 > end:
                raise TruncatedAOF(TRUNCATED, path, start)
            if buf[pos + n:pos + n + 2] != b"\r\n":
                raise AOFError(BAD_FORMAT, path, pos + n)
            argv.append(buf[pos:pos + n])
            pos += n + 2
        yield argv, pos


ITEMS_PER_COMMAND = 64  # elements per RPUSH/SADD/HSET/ZADD in a RESP base (Redis's AOF_REWRITE_ITEMS_PER_CMD)


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def write_resp_base(fh, databases, functions: Sequence[bytes] = ()) -> None:
    """A base file in RESP (``aof-use-rdb-preamble no``): the commands that rebuild the data,
    the FUNCTION libraries first."""
    if functions:
        fh.write(b"".join(encode_command([b"FUNCTION", b"LOAD", code]) for code in functions))
    for index, data, expires in databases:
        if not data:
            continue
        out = [encode_command([b"SELECT", b"%d" % index])]
        for key, value in data.items():
            if isinstance(value, (bytes, bytearray)):
                out.append(encode_command([b"SET", key, bytes(value)]))
            else:
                kind = getattr(value, "TYPE_NAME", b"")
                if kind == b"stream":
                    from server.persistence.rdb_stream import rewrite_commands

                    out.extend(encode_command(argv) for argv in rewrite_commands(key, value))
                    items, verb = [], b""
                elif kind == b"list":
                    items, verb = list(value), b"RPUSH"
                elif kind == b"set":
                    items, verb = list(value), b"SADD"
                elif kind == b"hash":
                    items, verb = [x for pair in value.items() for x in pair], b"HSET"
                elif kind == b"zset":
                    items, verb = [x for m, sc in value.items() for x in (repr(float(sc)).encode(), m)], b"ZADD"
                else:
                    raise AOFError(f"cannot write a value of type {type(value).__name__} to the AOF")
                step = ITEMS_PER_COMMAND * (2 if verb in (b"HSET", b"ZADD") else 1)
                for chunk in _chunks(items, step):
                    out.append(encode_command([verb, key, *chunk]))
            deadline = expires.get(key)
            if deadline is not None:
                out.append(encode_command([b"PEXPIREAT", key, b"%d" % deadline]))
            if len(out) >= 4096:
                fh.write(b"".join(out))
                out.clear()
        fh.write(b"".join(out))


# --------------------------------------------------------------------------- manifest

MANIFEST_MAX_LINE = 1024
_SPACE = b" \t\n\r\v\f"
_ESCAPES = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("a"): 7}


def _atoll(value: bytes) -> int:
    """C's atoll: leading blanks, a sign, then digits; 0 when there are none."""
    match = re.match(rb"\s*([+-]?\d+)", value)
    return int(match.group(1)) if match else 0


def split_args(line: bytes) -> list[bytes] | None:
    """Words of a line as Redis's sdssplitargs splits them (quotes, escapes); None if unbalanced."""
    words: list[bytes] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i] in _SPACE:
            i += 1
        if i >= n:
            return words
        word = bytearray()
        quote = 0
        while True:
            c = line[i] if i < n else -1
            if quote == 0x22:  # inside "..."
                if c < 0:
                    return None
                if c == 0x5C and i + 3 < n and line[i + 1] == 0x78 and _is_hex(line[i + 2:i + 4]):
                    word.append(int(line[i + 2:i + 4], 16))
                    i += 3
                elif c == 0x5C and i + 1 < n:
                    i += 1
                    word.append(_ESCAPES.get(line[i], line[i]))
                elif c == 0x22:
                    if i + 1 < n and line[i + 1] not in _SPACE:
                        return None  # the closing quote must end the word
                    i += 1
                    break
                else:
                    word.append(c)
            elif quote == 0x27:  # inside '...'
                if c < 0:
                    return None
                if c == 0x5C and i + 1 < n and line[i + 1] == 0x27:
                    i += 1
                    word.append(0x27)
                elif c == 0x27:
                    if i + 1 < n and line[i + 1] not in _SPACE:
                        return None
                    i += 1
                    break
                else:
                    word.append(c)
            elif c < 0 or c in _SPACE:
                break
            elif c in (0x22, 0x27):
                quote = c
            else:
                word.append(c)
            i += 1
        words.append(bytes(word))


def _is_hex(pair: bytes) -> bool:
    return len(pair) == 2 and all(ch in b"0123456789abcdefABCDEF" for ch in pair)



@dataclass
class AOFFile:
    name: str
    seq: int
    kind: str  # BASE, HISTORY or INCR


@dataclass
class Manifest:
    """The list of AOF files, in the order they are replayed (base first)."""

    base: AOFFile | None = None
    incrs: list[AOFFile] = field(default_factory=list)
    history: list[AOFFile] = field(default_factory=list)

    def render(self) -> bytes:
        lines = []
        for f in ([self.base] if self.base else []) + self.history + self.incrs:
            lines.append(f"file {f.name} seq {f.seq} type {f.kind}\n")
        return "".join(lines).encode()

    @classmethod
    def parse(cls, text: bytes, path: str = "") -> Manifest:
        """Read a manifest with Redis 7.0's rules (aofLoadManifestFromFile), refusing what it refuses.

        A damaged manifest must stop the server: starting from what it seems to say
        would let the next rewrite overwrite or delete the files it really names.
        """
        manifest = cls()
        maxseq = 0
        if not text:
            raise ManifestError("Found an empty AOF manifest", path)
        pos = 0
        number = 0
        while pos < len(text):
            # fgets with a buffer of MANIFEST_MAX_LINE + 1: a longer line arrives in pieces.
            eol = text.find(b"\n", pos, pos + MANIFEST_MAX_LINE)
            raw = text[pos:eol + 1] if eol >= 0 else text[pos:pos + MANIFEST_MAX_LINE]
            pos += len(raw)
            number += 1
            if raw[:1] == b"#":
                continue
            if eol < 0:
                raise ManifestError("The AOF manifest file contains too long line", path)
            line = raw.strip(b" \t\r\n")
            if not line:
                raise ManifestError("Invalid AOF manifest file format", path, number, line)
            words = split_args(line)
            if words is None or len(words) < 6 or len(words) % 2:
                raise ManifestError("Invalid AOF manifest file format", path, number, line)
            name: str | None = None
            seq = 0
            kind = ""
            for key, value in zip(words[0::2], words[1::2], strict=True):
                low = key.lower()
                if low == b"file":
                    name = value.decode("utf-8", "surrogateescape")
                    if "/" in name:
                        raise ManifestError("File can't be a path, just a filename", path, number, line)
                elif low == b"seq":
                    seq = _atoll(value)
                elif low == b"type":
                    kind = value[:1].decode("latin-1")
            if not name or not seq or not kind:
                raise ManifestError("Invalid AOF manifest file format", path, number, line)
            entry = AOFFile(name, seq, kind)
            if kind == BASE:
                if manifest.base is not None:
                    raise ManifestError("Found duplicate base file information", path, number, line)
                manifest.base = entry
            elif kind == HISTORY:
                manifest.history.append(entry)
            elif kind == INCR:
                if seq <= maxseq:
                    raise ManifestError("Found a non-monotonic sequence number", path, number, line)
                manifest.incrs.append(entry)
                maxseq = seq
            else:
                raise ManifestError("Unknown AOF file type", path, number, line)
        return manifest

    def next_incr_seq(self) -> int:
        return max((f.seq for f in self.incrs), default=0) + 1

    def next_base_seq(self) -> int:
        return (self.base.seq if self.base else 0) + 1


class AOFLayout:
    """Names and paths of the files of one AOF directory (``dir/appenddirname``)."""

    def __init__(self, directory: str, dirname: str, filename: str):
        self.root = os.path.join(directory, dirname)
        self.filename = filename
        self.manifest_name = f"{filename}.manifest"

    def path(self, name: str) -> str:
        return os.path.join(self.root, name)

    @property
    def manifest_path(self) -> str:
        return self.path(self.manifest_name)

    def base_name(self, seq: int, rdb: bool = True) -> str:
        return f"{self.filename}.{seq}.base.{'rdb' if rdb else 'aof'}"

    def incr_name(self, seq: int) -> str:
        return f"{self.filename}.{seq}.incr.aof"

    def exists(self) -> bool:
        return os.path.exists(self.manifest_path)

    def read_manifest(self) -> Manifest:
        with open(self.manifest_path, "rb") as fh:
            return Manifest.parse(fh.read(), self.manifest_path)

    def write_manifest(self, manifest: Manifest) -> None:
        """Replace the manifest atomically: temp file, fsync, rename, fsync of the directory."""
        os.makedirs(self.root, exist_ok=True)
        tmp = self.path(f"temp-{self.manifest_name}")
        with open(tmp, "wb") as fh:
            fh.write(manifest.render())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.manifest_path)
        fsync_directory(self.root)

    def remove_unlisted(self, manifest: Manifest) -> None:
        """Delete AOF files the manifest no longer names (the history after a rewrite)."""
        keep = {self.manifest_name} | {f.name for f in ([manifest.base] if manifest.base else []) + manifest.incrs}
        prefix = self.filename + "."
        for name in os.listdir(self.root):
            if name.startswith(prefix) and name not in keep and (".base." in name or ".incr." in name):
                try:
                    os.unlink(self.path(name))
                except OSError:
                    pass


class AppendWriter:
    """The open incremental file: appends RESP and fsyncs by policy.

    Writes go to the kernel at once (``os.write`` before the reply is sent), so a
    killed process loses nothing it acknowledged; ``fsync`` decides what
    survives a machine crash: ``always`` syncs every write, ``everysec`` is
    synced by the cron, ``no`` leaves it to the kernel.
    """

    def __init__(self, path: str, fsync_policy: str):
        self.path = path
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.policy = fsync_policy
        self.size = os.fstat(self.fd).st_size
        self.unsynced = False
        self.held: list[bytes] = []  # group commit: appended, not yet written (see ``hold``)
        self._syncer: threading.Thread | None = None

    def append(self, data: bytes) -> None:
        self.write_held()
        self._write(data)
        self.size += len(data)
        if self.policy == "always":
            os.fsync(self.fd)
        else:
            self.unsynced = True

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]

    def hold(self, data: bytes) -> None:
        """Group commit (``always``): keep ``data`` for ``commit``, which writes and fsyncs all at once.

        The caller must hold back every reply until ``commit`` has returned.
        """
        self.held.append(data)
        self.size += len(data)

    def write_held(self) -> None:
        if self.held:
            data = b"".join(self.held)
            self.held.clear()
            self._write(data)
            self.unsynced = True

    def commit(self) -> None:
        """One write and one fsync for everything held since the last commit."""
        self.write_held()
        if self.unsynced:
            self.unsynced = False
            os.fsync(self.fd)

    def sync(self) -> None:
        self._join()
        self.write_held()
        if self.unsynced:
            self.unsynced = False
            os.fsync(self.fd)

    def sync_in_background(self, on_error: Callable[[OSError], None]) -> None:
        """``everysec``: fsync in a thread (os.fsync releases the GIL), so a slow disk never stalls the loop.

        A sync still running from the previous second is left to finish, as Redis
        postpones the fsync when its background job is busy.
        """
        if not self.unsynced or (self._syncer is not None and self._syncer.is_alive()):
            return
        self.unsynced = False
        fd = self.fd

        def run() -> None:
            try:
                os.fsync(fd)
            except OSError as exc:
                on_error(exc)

        self._syncer = threading.Thread(target=run, name="aof-fsync", daemon=True)
        self._syncer.start()

    def _join(self) -> None:
        if self._syncer is not None:
            self._syncer.join()
            self._syncer = None

    def close(self) -> None:
        self._join()
        if self.fd >= 0:
            try:
                self.write_held()
                os.fsync(self.fd)
            finally:
                os.close(self.fd)
                self.fd = -1
