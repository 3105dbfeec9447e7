"""``redistui open PATH``: a dump file loaded by a private bundled server, never modified.

The server runs in a temporary directory of its own and listens on a Unix socket there
only (``--port 0``: no TCP port). What it may write (an RDB save, the AOF it continues,
a truncated AOF tail it cuts) lands in that directory, so nothing is ever written next
to the user's file:

- an RDB file is referenced read-only through a symbolic link (the server only reads
  it; a SAVE would replace the link, not the file it points to);
- an AOF (a directory with its manifest, the manifest itself, or a single append-only
  file) is copied, because loading appends to and may truncate the last file;
- a damaged RDB file (truncated, or a record that cannot be read) is read up to its last
  whole record, and a copy of that part, closed with an EOF marker and no checksum, is
  what the server loads: the explorer shows the keys read before the damage and says
  where it is.

The server starts with saving off and the default user unable to run write commands
(ACL ``-@write``): the explorer opens read-only. Allowing edits lifts that in the private
server only (``ACL SETUSER default +@write``); "save as" writes an RDB snapshot in the
temporary directory (SAVE) and copies it where the user asks.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from redistui.client import ConnectionSpec
from redistui.rdbscan import RDBDamage, open_rdb

READ_ONLY_RULES = ["on", "nopass", "~*", "&*", "+@all", "-@write"]
SOCKET_NAME = "redis.sock"
RDB_NAME = "dump.rdb"
AOF_DIR_NAME = "appendonlydir"
EOF_AND_NO_CHECKSUM = b"\xff" + bytes(8)


class OpenError(RuntimeError):
    """The file cannot be opened; the message says why (and the server log's tail, if any)."""


@dataclass(frozen=True)
class DumpKind:
    kind: str  # "rdb", "aof-dir" (multi-part AOF) or "aof-file" (one append-only file)
    path: Path  # the RDB file, the AOF directory, or the single file
    manifest: str | None = None  # aof-dir: the manifest's file name


def detect(path: str | os.PathLike[str]) -> DumpKind:
    """What ``path`` holds: an RDB file, an AOF directory (or its manifest), or a single AOF file."""
    p = Path(path).expanduser()
    if p.is_dir():
        manifests = sorted(m.name for m in p.glob("*.manifest"))
        if not manifests:
            raise OpenError(f"{p} is a directory without an AOF manifest (*.manifest)")
        return DumpKind("aof-dir", p, manifests[0])
    if not p.is_file():
        raise OpenError(f"{p}: no such file or directory")
    if p.name.endswith(".manifest"):
        return DumpKind("aof-dir", p.parent, p.name)
    with open(p, "rb") as fh:
        head = fh.read(5)
    if head == b"REDIS":
        return DumpKind("rdb", p)
    if head[:1] == b"*" or not head:
        return DumpKind("aof-file", p)
    raise OpenError(f"{p} is neither an RDB file (REDIS…) nor an append-only file (*…)")


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class PrivateServer:
    """The bundled server loading one dump file in a temporary directory, over a Unix socket."""

    def __init__(self, path: str | os.PathLike[str], read_only: bool = True, server_options: Sequence[str] = ()) -> None:
        self.source = detect(path)
        self.read_only = read_only
        self.server_options = list(server_options)  # more redis-server options, e.g. --key-load-delay
        self.workdir = Path(tempfile.mkdtemp(prefix="redistui-open-"))
        self.socket = self.workdir / SOCKET_NAME
        self.log_path = self.workdir / "server.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.damage: RDBDamage | None = None  # set when only the part before the damage is loaded
        self.total_bytes = self._size()

    def _size(self) -> int:
        source = self.source
        if source.kind == "aof-dir":
            return sum(f.stat().st_size for f in source.path.iterdir() if f.is_file())
        return source.path.stat().st_size

    @property
    def spec(self) -> ConnectionSpec:
        return ConnectionSpec(unix_socket=str(self.socket))

    @property
    def title(self) -> str:
        return str(self.source.path)

    def _prepare(self) -> list[str]:
        """Put the data in the work directory; the server options that load it."""
        source, work = self.source, self.workdir
        if source.kind == "rdb":
            os.symlink(source.path.resolve(), work / RDB_NAME)
            return ["--appendonly", "no", "--dbfilename", RDB_NAME]
        if source.kind == "aof-dir":
            assert source.manifest is not None
            shutil.copytree(source.path, work / AOF_DIR_NAME)
            return ["--appendonly", "yes", "--appenddirname", AOF_DIR_NAME,
                    "--appendfilename", source.manifest.removesuffix(".manifest"),
                    "--aof-load-truncated", "yes", "--dbfilename", RDB_NAME]  # fmt: skip
        shutil.copyfile(source.path, work / "appendonly.aof")
        return ["--appendonly", "yes", "--appendfilename", "appendonly.aof", "--appenddirname", AOF_DIR_NAME,
                "--aof-load-truncated", "yes", "--dbfilename", RDB_NAME]  # fmt: skip

    def recover(self) -> bool:
        """After the server refused a damaged RDB file: load the part read before the damage.

        The walk finds the first record that cannot be read; a file whose records all read
        (a wrong checksum, say) is loaded whole with its checksum left out. Returns False
        when there is nothing to recover (an AOF, or a second failure).
        """
        if self.source.kind != "rdb" or self.damage is not None:
            return False
        reason = _tail(self.log_path, 1).split("# ", 1)[-1].strip() or "the server refused the file"
        damage = find_damage(self.source.path)
        if damage is None:
            size = self.source.path.stat().st_size
            damage = RDBDamage(reason, max(size - 8, 0), max(size - 9, 9))
        self.damage = damage
        target = self.workdir / RDB_NAME
        target.unlink(missing_ok=True)
        write_readable_part(self.source.path, damage.good_end, target)
        self.spawn(["--appendonly", "no", "--dbfilename", RDB_NAME])
        return True

    def command(self, load_args: list[str]) -> list[str]:
        args = [
            sys.executable, "-m", "server",
            "--port", "0",
            "--unixsocket", str(self.socket),
            "--unixsocketperm", "700",
            "--dir", str(self.workdir),
            "--save", "",
            "--appendfsync", "no",
            *load_args,
        ]  # fmt: skip
        if self.read_only:
            args += ["--user", "default", *READ_ONLY_RULES]
        return args + self.server_options

    def start(self) -> None:
        """Start the server; it loads the file in the background of this call (see `wait_ready`)."""
        self.spawn(self._prepare())

    def spawn(self, load_args: list[str]) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.command(load_args), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def failed(self) -> str | None:
        """Why the server exited, if it has."""
        process = self.process
        if process is None or process.poll() is None:
            return None
        return f"the server could not load {self.title} (exit status {process.returncode}):\n{_tail(self.log_path)}"

    def client(self, timeout: float = 2.0) -> redis.Redis:
        """A connection to the private server that reports -LOADING at once (redis-py would
        retry it as a lost connection, waiting out the load)."""
        return redis.Redis(unix_socket_path=str(self.socket), socket_timeout=timeout, socket_connect_timeout=timeout,
                           retry=Retry(NoBackoff(), 0))

    def loading_info(self) -> dict[str, object] | None:
        """INFO persistence while the server loads (None until its socket answers)."""
        if not self.socket.exists():
            return None
        try:
            with self.client() as conn:
                return dict(conn.info("persistence"))
        except redis.RedisError:
            return None

    def wait_ready(self, timeout: float = 600.0) -> None:
        """Return once the server answers PING (the file is loaded); `OpenError` if it cannot."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reason = self.failed()
            if reason is not None and not self.recover():
                raise OpenError(reason)
            if self.ping():
                return
            time.sleep(0.05)
        raise OpenError(f"the server did not finish loading {self.title} within {timeout:.0f}s")

    def ping(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            with self.client() as conn:
                return bool(conn.ping())
        except redis.RedisError:  # not listening yet, or -LOADING
            return False

    def save_as(self, destination: str | os.PathLike[str]) -> Path:
        """SAVE in the work directory, then copy the snapshot to ``destination`` (atomically)."""
        target = Path(destination).expanduser().resolve()
        if target == self.source.path.resolve():
            raise OpenError("save as: that is the opened file, which is never modified; choose another path")
        with self.client(timeout=600) as conn:
            conn.execute_command("SAVE")
        snapshot = self.workdir / RDB_NAME
        copy_atomically(snapshot, target)
        return target

    def snapshot(self) -> Path:
        """SAVE the loaded data as an RDB file in the work directory (for analysing an AOF)."""
        with self.client(timeout=600) as conn:
            conn.execute_command("SAVE")
        return self.workdir / RDB_NAME

    def stop(self) -> None:
        """Stop the server without saving and remove the work directory."""
        process = self.process
        if process is not None and process.poll() is None:
            try:
                with self.client() as conn:
                    conn.execute_command("SHUTDOWN", "NOSAVE")
            except redis.RedisError:
                pass  # it closes the connection as it exits, or it is still loading
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGKILL)
                process.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> PrivateServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def find_damage(path: Path) -> RDBDamage | None:
    """Walk the whole file (read-only); the damage that stops it, or None for a sound file."""
    scanner = open_rdb(path)
    try:
        for _ in scanner.records():
            pass
    except RDBDamage as damage:
        return damage
    finally:
        buf = scanner.buf
        if not isinstance(buf, bytes):
            buf.close()
    return None


def write_readable_part(path: Path, good_end: int, target: Path) -> None:
    """Copy the file's whole records (up to ``good_end``) and close the copy with EOF and no checksum."""
    with open(path, "rb") as src, open(target, "wb") as dst:
        remaining = good_end
        while remaining > 0:
            chunk = src.read(min(remaining, 1 << 20))
            if not chunk:
                break
            dst.write(chunk)
            remaining -= len(chunk)
        dst.write(EOF_AND_NO_CHECKSUM)


def copy_atomically(source: Path, target: Path) -> None:
    tmp = target.with_name(f".{target.name}.redistui-tmp")
    shutil.copyfile(source, tmp)
    os.replace(tmp, target)
