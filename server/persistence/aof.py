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
import threading
from collections.abc import Callable, Iterator
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


# --------------------------------------------------------------------------- RESP


def encode_command(argv: list[bytes]) -> bytes:
    """A command as a RESP array of bulk strings, the way Redis writes it to the AOF."""
    parts = [b"*%d\r\n" % len(argv)]
    for arg in argv:
        parts.append(b"$%d\r\n%b\r\n" % (len(arg), arg))
    return b"".join(parts)


def parse_commands(buf: bytes, path: str = "") -> Iterator[tuple[list[bytes], int]]:
    """Commands of a RESP file, each with the offset just after it.

    Raises ``TruncatedAOF`` if the data stops inside a command (its offset is
    where the last complete command ends) and ``AOFError`` for anything else
    that is not a RESP array of bulk strings.
    """
    pos = 0
    end = len(buf)
    find = buf.find
    while pos < end:
        start = pos
        if buf[pos] == 0x23:  # '#': an annotation line (aof-timestamp-enabled writes "#TS:...")
            eol = find(b"\r\n", pos)
            if eol < 0:
                raise TruncatedAOF("Unexpected end of file", path, start)
            pos = eol + 2
            continue
        if buf[pos] != 0x2A:  # '*'
            raise AOFError("Bad file format reading the append only file", path, pos)
        eol = find(b"\r\n", pos)
        if eol < 0:
            raise TruncatedAOF("Unexpected end of file", path, start)
        try:
            count = int(buf[pos + 1:eol])
        except ValueError:
            raise AOFError("Bad file format reading the append only file", path, pos) from None
        if count < 1:
            raise AOFError("Bad file format reading the append only file", path, pos)
        pos = eol + 2
        argv = []
        for _ in range(count):
            if pos >= end:
                raise TruncatedAOF("Unexpected end of file", path, start)
            if buf[pos] != 0x24:  # '$'
                raise AOFError("Bad file format reading the append only file", path, pos)
            eol = find(b"\r\n", pos)
            if eol < 0:
                raise TruncatedAOF("Unexpected end of file", path, start)
            try:
                n = int(buf[pos + 1:eol])
            except ValueError:
                raise AOFError("Bad file format reading the append only file", path, pos) from None
            pos = eol + 2
            if pos + n + 2 > end:
                raise TruncatedAOF("Unexpected end of file", path, start)
            if buf[pos + n:pos + n + 2] != b"\r\n":
                raise AOFError("Bad file format reading the append only file", path, pos + n)
            argv.append(buf[pos:pos + n])
            pos += n + 2
        yield argv, pos


ITEMS_PER_COMMAND = 64  # elements per RPUSH/SADD/HSET/ZADD in a RESP base (Redis's AOF_REWRITE_ITEMS_PER_CMD)


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def write_resp_base(fh, databases) -> None:
    """A base file in RESP (``aof-use-rdb-preamble no``): the commands that rebuild the data."""
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
        manifest = cls()
        for number, raw in enumerate(text.decode("utf-8", "replace").splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            words = line.split()
            if len(words) % 2:
                raise AOFError(f"Invalid AOF manifest file format (line {number})", path)
            info = dict(zip(words[0::2], words[1::2], strict=True))
            try:
                entry = AOFFile(info["file"], int(info["seq"]), info["type"])
            except (KeyError, ValueError):
                raise AOFError(f"Invalid AOF manifest file format (line {number})", path) from None
            if entry.kind == BASE:
                if manifest.base is not None:
                    raise AOFError("Found duplicate base file information", path)
                manifest.base = entry
            elif entry.kind == INCR:
                manifest.incrs.append(entry)
            elif entry.kind == HISTORY:
                manifest.history.append(entry)
            else:
                raise AOFError(f"Unknown AOF file type '{entry.kind}' (line {number})", path)
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
        self._syncer: threading.Thread | None = None

    def append(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]
        self.size += len(data)
        if self.policy == "always":
            os.fsync(self.fd)
        else:
            self.unsynced = True

    def sync(self) -> None:
        self._join()
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
                os.fsync(self.fd)
            finally:
                os.close(self.fd)
                self.fd = -1
