"""When and how the server saves: snapshots, the append-only file, loading and shutdown.

``Persistence`` is the runtime side of ``rdb`` and ``aof``. One instance
hangs off ``server.persistence``; the commands in
``server.commands.persistence`` call it, and it plugs into the server through
the hooks the core offers:

- ``Server.cron`` calls ``cron``: reap finished child processes, fire save points,
  start scheduled saves and rewrites, fsync the AOF once a second;
- it registers with ``server.effects`` while an AOF is on (``apply_effects``
  appends what each write did);
- INFO's persistence section comes from ``info_fields``;
- ``on_shutdown`` makes the final save when the loop stops.

Background work forks, as Redis does: the child process has a frozen copy
of the data (copy-on-write), writes it to a temp file, fsyncs, renames it into
place and exits with ``os._exit``; the parent keeps serving and learns the
outcome in the cron with ``waitpid(WNOHANG)``. Only one child runs at a time.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING

from server.effects import Op, with_selects
from server.memory import private_dirty_bytes
from server.persistence import rdb
from server.persistence.aof import (
    BASE,
    INCR,
    AOFError,
    AOFFile,
    AOFLayout,
    AppendWriter,
    Manifest,
    ManifestError,
    TruncatedAOF,
    encode_command,
    parse_commands,
    write_resp_base,
)
from server.protocol import Error

if TYPE_CHECKING:
    from server.instance import Server

CHILD_RDB = "rdb"
MISCONF_RDB = Error(
    b"MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. "
    b"Commands that may modify the data set are disabled, because this instance is configured to report "
    b"errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check "
    b"the Redis logs for details about the RDB error."
)
CHILD_AOF = "aof"
CHILD_REPL = "repl"  # a diskless replication snapshot, written into a pipe
BGSAVE_RETRY_DELAY = 5  # seconds before a failed automatic BGSAVE is tried again (Redis's value)


CHILD_STOPPED = 255  # a child's exit code when stopped on purpose (Redis's SERVER_CHILD_NOERROR_RETVAL)
PR_SET_PDEATHSIG = 1


M_MMAP_THRESHOLD = -3


def _load_libc(name: str) -> Callable[..., int] | None:
    """A function of Linux's C library through ctypes (resolved once, in the parent), or None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        function: Callable[..., int] = getattr(ctypes.CDLL(None, use_errno=True), name)
        return function
    except (OSError, AttributeError):
        return None


_PRCTL = _load_libc("prctl")
_MALLOPT = _load_libc("mallopt")


def _discard(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _die_with_parent(parent: int, temp: str) -> None:
    """In a forked child: exit (removing ``temp``) on SIGUSR1, and get SIGUSR1 when the parent dies.

    SIGUSR1 is how the parent stops a child (kill_child); PR_SET_PDEATHSIG makes
    the kernel send it when the parent dies, however it dies. The writers also
    compare ``os.getppid()`` with ``parent`` as they go and before renaming, which
    covers a parent that died before the prctl and systems without it.
    """

    def stop(_signum: int, _frame: object) -> None:
        _discard(temp)
        os._exit(CHILD_STOPPED)

    signal.signal(signal.SIGUSR1, stop)
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, int(signal.SIGUSR1), 0, 0, 0)
    if os.getppid() != parent:
        stop(0, None)


class LoadError(Exception):
    """Data on disk could not be loaded; the server must not start (nor overwrite it).

    ``log_lines``, when given, are logged as they are instead of the message (Redis's own texts).
    """

    def __init__(self, message: str, log_lines: list[str] | None = None):
        super().__init__(message)
        self.log_lines = log_lines


class Persistence:
    """Snapshots, AOF and their background children for one ``Server``."""

    def __init__(self, server: Server):
        self.server = server
        self.config = server.config
        # The one background child, if any.
        self.child_pid: int | None = None
        self.child_type: str | None = None
        self.child_started = 0.0
        self.child_tmp: str | None = None
        self.bgsave_scheduled = False
        self.aof_rewrite_scheduled = False
        # RDB statistics (INFO persistence).
        self.dirty_before_bgsave = 0
        self.last_bgsave_status = "ok"
        self.last_bgsave_try = 0.0
        self.last_bgsave_seconds = -1
        self.rdb_saves = 0
        self.load_keys_loaded = 0
        self.load_keys_expired = 0
        self.loading = False
        self.loaded = False  # the start-up load has run (``start``)
        # Progress of a load, for INFO persistence while ``loading`` (Redis's loading_* fields).
        self.loading_start_time = 0
        self.loading_total_bytes = 0
        self.loading_loaded_bytes = 0
        # Called now and then during a start-up load to answer clients (`server.persistence.loading`).
        self.serve_while_loading: Callable[[], None] | None = None
        # AOF state.
        self.layout = AOFLayout(str(self.config["dir"]), str(self.config["appenddirname"]),
                                str(self.config["appendfilename"]))
        self.manifest = Manifest()
        self.writer: AppendWriter | None = None
        self.aof_enabled = bool(self.config["appendonly"])
        self.aof_selected_db = -1
        self.aof_enable_pending = False  # CONFIG SET appendonly yes: waiting for the first base
        self.aof_last_bgrewrite_status = "ok"
        self.aof_last_write_status = "ok"
        self.aof_last_write_error = ""
        self.aof_rewrites = 0
        self.aof_last_rewrite_seconds = -1
        self.aof_base_size = 0
        self.rewrite_preamble = True
        self.aof_rewrite_base_size = 0  # AOF size after the last rewrite (auto-aof-rewrite-percentage)
        self.aof_last_fsync = time.monotonic()
        self.commit_armed = False  # a group commit is scheduled for the end of this loop turn
        self.latest_fork_usec = 0
        self.total_forks = 0
        # MISCONF: the error write commands (and PING) get while saving fails, else None.
        self.write_block: Error | None = None
        # Shutdown: set by SHUTDOWN once it has saved, so the loop's exit does not save again.
        self.shutdown_done = False
        self.shutdown_exit_code = 0

        config = server.config
        config.on_change("appendonly", self.set_appendonly)
        config.on_change("appendfsync", self.set_appendfsync)
        config.on_change("stop-writes-on-bgsave-error", self.update_write_block)
        config.on_change("save", self.update_write_block)

    def start(self) -> None:
        """Start-up: load the data from disk, then feed the AOF if it is on.

        A file that cannot be loaded stops the server with exit code 1 (and is left untouched).
        """
        self.loaded = True
        try:
            self.load_at_startup()
        except LoadError as exc:
            if exc.log_lines:
                for line in exc.log_lines:
                    self.log("warning", line)
            else:
                self.log("warning", f"Fatal error loading the DB: {exc}. Exiting.")
            raise SystemExit(1) from None
        except OSError as exc:
            self.log("warning", f"Fatal error opening the persistence files: {exc}. Exiting.")
            raise SystemExit(1) from None
        self.plug_propagation()

    def after_flushall(self) -> None:
        """FLUSHALL: stop a running BGSAVE and, with save points set, write the (empty) snapshot now."""
        if self.child_type == CHILD_RDB:
            self.kill_child()
        if self.save_points():
            ks = self.server.keyspace
            dirty = ks.dirty
            self.save()
            ks.dirty = dirty  # the FLUSHALL itself must still count (and be logged)

    # ------------------------------------------------------------------ helpers

    def log(self, level: str, message: str) -> None:
        self.server.log(level, message)

    @property
    def rdb_path(self) -> str:
        return os.path.join(str(self.config["dir"]), str(self.config["dbfilename"]))

    def save_points(self) -> list[tuple[int, int]]:
        return self.config.get_list("save")

    def databases(self):
        return rdb.iter_keyspace(self.server.keyspace)

    def functions(self) -> list[bytes]:
        """The FUNCTION libraries' code, saved with the data in every RDB file and AOF base."""
        return self.server.scripting.function_library_codes()

    def child_running(self) -> bool:
        return self.child_pid is not None

    # ------------------------------------------------------------------ SAVE

    def save(self) -> bool:
        """Write the RDB file now, in this process (SAVE, SHUTDOWN, FLUSHALL)."""
        try:
            info = rdb.save_file(self.rdb_path, self.databases(), functions=self.functions())
        except OSError as exc:  # as Redis's rdbSave: logged, but the BGSAVE status is left alone
            self.log("warning", f"Write error saving DB on disk: {exc.strerror or exc}")
            return False
        except rdb.RDBError as exc:
            self.log("warning", f"Failed saving the DB: {exc}")
            return False
        self.log("notice", f"DB saved on disk ({info.keys} keys, {info.bytes} bytes, {info.seconds:.3f} seconds)")
        self.server.keyspace.dirty = 0
        self.server.last_save = int(time.time())
        self.last_bgsave_status = "ok"
        self.update_write_block()
        self.rdb_saves += 1
        return True

    def update_write_block(self, *_changed: object) -> None:
        """MISCONF: refuse writes while saving fails, as Redis's writeCommandsDeniedByDiskError."""
        block = None
        if self.config["stop-writes-on-bgsave-error"] and self.save_points() and self.last_bgsave_status == "err":
            block = MISCONF_RDB
        elif (self.aof_enabled or self.aof_enable_pending) and self.aof_last_write_status == "err":
            block = Error(b"MISCONF Errors writing to the AOF file: " + self.aof_last_write_error.encode())
        if block is not self.write_block:
            self.write_block = block
            self.server.standing_changed()

    # ------------------------------------------------------------------ children

    def _fork(self, kind: str, work: Callable[[], None], temp_for: Callable[[int], str]) -> bool:
        """Run ``work()`` in a child process; the child exits 0 on success.

        ``temp_for(pid)`` is the temp file the child writes: it is removed if the
        child is stopped (kill_child) or finds itself orphaned.
        """
        sys.stdout.flush()
        sys.stderr.flush()
        start = time.perf_counter()
        parent = os.getpid()
        # Out of the cyclic collector's sight, for good (as after loading): a collection in
        # the parent while the child runs would write to every tracked object's header and
        # copy its page. The young generations go first, so little garbage is frozen.
        gc.collect(1)
        gc.freeze()
        try:
            pid = os.fork()
        except OSError as exc:
            self.log("warning", f"Can't save in background: fork: {exc.strerror}")
            return False
        if pid == 0:  # the child: never returns
            code = 1
            try:
                gc.disable()  # collecting would touch every object and defeat copy-on-write
                if _MALLOPT is not None:
                    # Big buffers from fresh mappings, grown in place (mremap): not from
                    # the inherited heap, where each reuse copies a page of the parent.
                    _MALLOPT(M_MMAP_THRESHOLD, 128 * 1024)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                _die_with_parent(parent, temp_for(os.getpid()))
                work()
                code = 0
            except rdb.Orphaned:
                _discard(temp_for(os.getpid()))
                code = CHILD_STOPPED
            except BaseException:  # report, then exit without running the parent's cleanup
                traceback.print_exc()
            finally:
                os._exit(code)
        self.latest_fork_usec = int((time.perf_counter() - start) * 1_000_000)
        self.total_forks += 1
        self.child_pid = pid
        self.child_type = kind
        self.child_started = time.time()
        return True

    def _log_copy_on_write(self, what: str) -> None:
        """In a child, at its end: the memory copy-on-write cost it, logged as Redis's child logs it."""
        cow = private_dirty_bytes()
        if cow:
            self.log("notice", f"{what}: {cow // (1024 * 1024)} MB of memory used by copy-on-write")

    def bgsave(self, aux: dict | None = None) -> bool:
        """Start a background save (BGSAVE, save points; a disk full sync passes its ``aux`` fields)."""
        path = self.rdb_path
        databases = self.databases()
        functions = self.functions()
        parent = os.getpid()

        def work() -> None:
            info = rdb.save_file(path, databases, aux=aux, parent=parent, functions=functions)
            self.log("notice", f"DB saved on disk by the child ({info.keys} keys, {info.seconds:.3f} seconds)")
            self._log_copy_on_write("RDB")

        def temp_for(pid: int) -> str:
            return os.path.join(os.path.dirname(os.path.abspath(path)), f"temp-{pid}.rdb")

        self.dirty_before_bgsave = self.server.keyspace.dirty
        self.last_bgsave_try = time.time()
        if not self._fork(CHILD_RDB, work, temp_for):
            self.last_bgsave_status = "err"
            self.update_write_block()
            return False
        assert self.child_pid is not None
        self.child_tmp = temp_for(self.child_pid)
        self.log("notice", f"Background saving started by pid {self.child_pid}")
        return True

    def fork_for_replication(self, work: Callable[[], None]) -> bool:
        """Fork the child of a diskless full sync: ``work`` writes the snapshot into a pipe
        (server/replication/core.py forwards it); its exit is reported to ``server.replication``."""
        return self._fork(CHILD_REPL, work, lambda pid: "")

    def kill_child(self) -> None:
        """Stop the running child (FLUSHALL, SHUTDOWN, appendonly no) and remove its temp file."""
        pid = self.child_pid
        if pid is None:
            return
        try:
            os.kill(pid, signal.SIGUSR1)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        if self.child_tmp:
            try:
                os.unlink(self.child_tmp)
            except OSError:
                pass
        kind = self.child_type
        self.child_pid = self.child_type = self.child_tmp = None
        if kind == CHILD_REPL:
            self.server.replication.socket_child_done(False)
        self.log("notice", f"Killed the background {'saving' if kind != CHILD_AOF else 'AOF rewriting'} child")

    def reap(self) -> None:
        """Collect a finished child and record its outcome (from the cron)."""
        pid = self.child_pid
        if pid is None:
            return
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done, status = pid, 1 << 8
        if done == 0:
            return
        ok = os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
        kind = self.child_type
        elapsed = int(time.time() - self.child_started)
        self.child_pid = self.child_type = None
        tmp, self.child_tmp = self.child_tmp, None
        if kind == CHILD_RDB:
            self.last_bgsave_seconds = elapsed
            if ok:
                self.log("notice", "Background saving terminated with success")
                ks = self.server.keyspace
                ks.dirty = max(0, ks.dirty - self.dirty_before_bgsave)
                self.server.last_save = int(time.time())
                self.last_bgsave_status = "ok"
                self.rdb_saves += 1
            else:
                self.log("warning", "Background saving error")
                self.last_bgsave_status = "err"
            self.update_write_block()
            self.server.replication.bgsave_done(ok)
        elif kind == CHILD_REPL:
            if ok:
                self.log("notice", "Background RDB transfer terminated with success")
            else:
                self.log("warning", "Background transfer error")
            self.server.replication.socket_child_done(ok)
        else:
            self.aof_last_rewrite_seconds = elapsed
            self._rewrite_done(ok, tmp)
        if tmp and os.path.exists(tmp):
            try:
                os.unlink(tmp)
            except OSError:
                pass

    # ------------------------------------------------------------------ cron

    def cron(self) -> None:
        """Redis's serverCron persistence part."""
        self.reap()
        now = time.time()
        if self.child_pid is None:
            if self.bgsave_scheduled:
                self.bgsave_scheduled = False
                self.bgsave()
            elif self.aof_rewrite_scheduled:
                self.aof_rewrite_scheduled = False
                self.rewrite_background()
            elif self._aof_grew_enough():
                self.log("notice", "Starting automatic rewriting of AOF on growth")
                self.rewrite_background()
            else:
                dirty = self.server.keyspace.dirty
                for seconds, changes in self.save_points():
                    if (dirty >= changes and now - self.server.last_save > seconds
                            and (now - self.last_bgsave_try > BGSAVE_RETRY_DELAY or self.last_bgsave_status == "ok")):
                        self.log("notice", f"{changes} changes in {seconds} seconds. Saving...")
                        self.bgsave()
                        break
        writer = self.writer
        if writer is not None and writer.policy == "everysec" and time.monotonic() - self.aof_last_fsync >= 1:
            self.aof_last_fsync = time.monotonic()
            writer.sync_in_background(lambda exc: self.log("warning", f"Error syncing the AOF: {exc}"))

    def aof_current_size(self) -> int:
        return self.aof_base_size + (self.writer.size if self.writer is not None else 0)

    def _aof_grew_enough(self) -> bool:
        """Redis's auto-aof-rewrite rule: past the minimum size and grown by the percentage."""
        if not self.aof_enabled or self.writer is None:
            return False
        percentage = self.config.get_int("auto-aof-rewrite-percentage")
        minimum = self.config.get_int("auto-aof-rewrite-min-size")
        current = self.aof_current_size()
        if not percentage or current <= minimum:
            return False
        base = self.aof_rewrite_base_size or 1
        return (current - base) * 100 // base >= percentage

    # ------------------------------------------------------------------ loading

    def install(self, result: rdb.LoadResult, flush: bool = True) -> None:
        """Put loaded databases into the keyspace."""
        dbs = self.server.keyspace.dbs
        for dbid in result.databases:
            if dbid >= len(dbs):
                raise LoadError(f"the data has database {dbid}, this server is configured with {len(dbs)} databases")
        for db in dbs:
            loaded = result.databases.get(db.id)
            if flush:
                db.clear()
            if loaded is None:
                continue
            if not db.data:
                db.data, db.expires = loaded
            else:
                db.data.update(loaded[0])
                db.expires.update(loaded[1])
            reindex = getattr(db, "reindex", None)
            if reindex is not None:
                reindex()  # the SCAN and expiry orders of the keyspace
        if result.functions:
            self.server.scripting.load_function_libraries(result.functions)

    def _progress(self, label: str, base: int = 0):
        """A loader's ``progress(done, total)``: the log each second, INFO's figures, and clients
        answered (``serve_while_loading``). ``base``: bytes of earlier files of the same load."""
        state = {"last": time.monotonic()}

        def report(done: int, total: int) -> None:
            self.loading_loaded_bytes = base + done
            serve = self.serve_while_loading
            if serve is not None:
                serve()
            now = time.monotonic()
            if now - state["last"] >= 1.0:
                state["last"] = now
                self.log("notice", f"Loading {label}: {100 * done // total}% ({done >> 20} MB of {total >> 20} MB)")

        return report

    def _start_loading(self, total_bytes: int) -> None:
        self.loading_start_time = int(time.time())
        self.loading_total_bytes = total_bytes
        self.loading_loaded_bytes = 0

    def load_rdb(self, path: str, flush: bool = True) -> rdb.LoadResult:
        """Load an RDB file into the keyspace; ``LoadError`` names the file and offset on failure."""
        start = time.perf_counter()
        try:
            self._start_loading(os.path.getsize(path))
            result = rdb.load_file(path, progress=self._progress(os.path.basename(path)),
                                   factories=rdb.value_factories(self.config),
                                   key_delay=self.config.get_int("key-load-delay"))
        except rdb.RDBError as exc:
            raise LoadError(f"Bad RDB file {path}: {exc.reason} at offset {exc.offset}") from None
        except OSError as exc:
            raise LoadError(f"Can't read RDB file {path}: {exc.strerror}") from None
        self.install(result, flush)
        ver = result.aux.get(b"redis-ver", b"?").decode("utf-8", "replace")
        self.log("notice", f"Loading RDB produced by version {ver}")
        if result.checksum == "disabled":
            self.log("warning", "RDB file was saved with checksum disabled: no check performed.")
        if result.module_aux_skipped:
            self.log("warning", f"Skipped {result.module_aux_skipped} module aux records (not supported here)")
        if result.functions:
            self.log("notice", f"Loaded {len(result.functions)} function libraries")
        self.log("notice", f"Done loading RDB, keys loaded: {result.keys_loaded}, "
                           f"keys expired: {result.keys_expired}.")
        self.log("notice", f"DB loaded from disk: {time.perf_counter() - start:.3f} seconds")
        self.load_keys_loaded = result.keys_loaded
        self.load_keys_expired = result.keys_expired
        return result

    def load_at_startup(self) -> None:
        """AOF if enabled (preferred, as Redis), otherwise the RDB file if there is one."""
        self.loading = True
        self.server.standing_changed()
        try:
            if self.layout.exists():  # read even with appendonly no, as Redis does: a bad one stops us
                self.manifest = self._read_manifest()
            if self.aof_enabled:
                legacy = os.path.join(str(self.config["dir"]), self.layout.filename)
                if self.layout.exists():
                    self.load_aof()
                elif os.path.isfile(legacy):
                    self.load_legacy_aof(legacy)
                self.open_aof_at_startup()
            elif os.path.exists(self.rdb_path):
                self.load_rdb(self.rdb_path)
        finally:
            self.loading = False
            self.server.standing_changed()
        self.server.keyspace.dirty = 0
        # The loaded values live on and hold no reference cycles: take them out of the
        # cyclic collector's sight. Otherwise each full collection walks every hash, list,
        # set and sorted set (about 250 ms per million on this machine), stalling every client.
        gc.freeze()

    # ------------------------------------------------------------------ AOF: loading

    def _read_manifest(self) -> Manifest:
        """The manifest on disk; ``LoadError`` with Redis's fatal log lines if it is damaged."""
        path = self.layout.manifest_path
        try:
            return self.layout.read_manifest()
        except OSError as exc:
            raise LoadError(f"Fatal error: can't open the AOF manifest file {path} for reading: "
                            f"{exc.strerror}") from None
        except ManifestError as exc:
            raise LoadError(str(exc), exc.log_lines()) from None

    def load_aof(self) -> None:
        """Replay the base and incremental files named by the manifest.

        Every file it names must exist, the last incremental one too (Redis's
        getBaseAndIncrAppendOnlyFilesSize): a missing one means lost writes, so
        nothing is loaded and the server does not start.
        """
        start = time.perf_counter()
        manifest = self._read_manifest()
        self.manifest = manifest
        files = ([manifest.base] if manifest.base else []) + manifest.incrs
        for entry in files:
            try:
                os.stat(self.layout.path(entry.name))
            except OSError as exc:
                message = f"Unable to obtain the AOF file {entry.name} length. stat: {exc.strerror}"
                raise LoadError(message, [message]) from None
        keyspace = self.server.keyspace
        for db in keyspace.dbs:
            db.clear()
        self._start_loading(sum(os.path.getsize(self.layout.path(entry.name)) for entry in files))
        done = 0
        for index, entry in enumerate(files):
            path = self.layout.path(entry.name)
            with open(path, "rb") as fh:
                buf = fh.read()
            progress = self._progress(entry.name, done)
            done += len(buf)
            if buf[:5] == b"REDIS":
                try:
                    result = rdb.load_bytes(buf, skip_expired=False, factories=rdb.value_factories(self.config),
                                            progress=progress)
                except rdb.RDBError as exc:
                    raise LoadError(f"Bad RDB preamble in AOF file {path}: {exc.reason} at offset {exc.offset}") from None
                self.install(result, flush=False)
                if entry.kind == BASE:
                    self.aof_base_size = len(buf)
                continue
            self._replay(buf, path, last=index == len(files) - 1, progress=progress)
        self.loading_loaded_bytes = done
        self.log("notice", f"DB loaded from append only file: {time.perf_counter() - start:.3f} seconds")

    def load_legacy_aof(self, path: str) -> None:
        """A single-file AOF from Redis before 7.0: load it; the new layout starts from its data.

        The old file is left where it is (Redis 7.0 moves it into the directory instead).
        """
        self.log("notice", f"Loading the single-file AOF {path} (Redis before 7.0)")
        with open(path, "rb") as fh:
            buf = fh.read()
        self._start_loading(len(buf))
        base = 0
        if buf[:5] == b"REDIS":
            end = base = _rdb_preamble_end(buf, path)
            try:
                result = rdb.load_bytes(buf[:end], skip_expired=False, factories=rdb.value_factories(self.config))
            except rdb.RDBError as exc:
                raise LoadError(f"Bad RDB preamble in AOF file {path}: {exc.reason} at offset {exc.offset}") from None
            self.install(result)
            buf = buf[end:]
        self._replay(buf, path, last=True, progress=self._progress(os.path.basename(path), base))

    def _replay(self, buf: bytes, path: str, last: bool, progress: Callable[[int, int], None] | None = None) -> None:
        """Execute the commands of one RESP file; MULTI/EXEC blocks apply whole or not at all."""
        from server.client import Client
        from server.command import Command
        from server.dispatch import call, resolve

        client = Client(self.server, 0, addr="aof")
        client.authenticated = True
        pending: list[tuple[Command, list[bytes]]] | None = None
        multi_start = 0
        good_end = 0
        offset = 0
        next_progress = rdb.PROGRESS_EVERY
        try:
            for argv, offset in parse_commands(buf, path):
                if progress is not None and offset > next_progress:
                    progress(offset, len(buf))
                    next_progress = offset + rdb.PROGRESS_EVERY
                name = argv[0].lower()
                if name == b"multi":
                    pending, multi_start = [], offset - len(encode_command(argv))
                    continue
                resolved = resolve(argv)
                if isinstance(resolved, Command):
                    cmd = resolved
                elif not (name == b"exec" and pending is not None):
                    raise LoadError(f"Unknown command '{argv[0].decode('utf-8', 'replace')}' reading the "
                                    f"append only file {path} at offset {offset}")
                if name == b"exec":
                    for queued_cmd, queued_argv in pending or []:
                        call(client, queued_cmd, queued_argv)
                    pending = None
                elif pending is not None:
                    pending.append((cmd, argv))
                else:
                    call(client, cmd, argv)
                if pending is None:
                    good_end = offset
            if pending is not None:
                raise TruncatedAOF("Unexpected end of file inside MULTI/EXEC", path, multi_start)
        except TruncatedAOF as exc:
            cut = good_end if pending is None else multi_start
            if not last or not self.config["aof-load-truncated"]:
                raise LoadError(f"Bad file format reading the append only file {path}: "
                                f"truncated at offset {exc.offset}; make a backup and run "
                                f"'redis-check-aof --fix'") from None
            self.log("warning", f"!!! Warning: short read while loading the AOF file {path}!!!")
            self.log("warning", f"!!! Truncating the AOF {path} at offset {cut} !!!")
            os.truncate(path, cut)
            self.log("warning", "AOF loaded anyway because aof-load-truncated is enabled")
        except AOFError as exc:
            raise LoadError(f"Bad file format reading the append only file: {exc}") from None

    # ------------------------------------------------------------------ AOF: writing

    def open_aof_at_startup(self) -> None:
        """Continue the last incremental file, or create base + incremental + manifest."""
        layout = self.layout
        os.makedirs(layout.root, exist_ok=True)
        manifest = self.manifest if layout.exists() else Manifest()
        if manifest.base is None and not manifest.incrs:
            preamble = bool(self.config["aof-use-rdb-preamble"])
            name = layout.base_name(1, rdb=preamble)
            if preamble:
                rdb.save_file(layout.path(name), self.databases(), preamble=True, functions=self.functions())
            else:
                with open(layout.path(name), "wb") as fh:
                    write_resp_base(fh, self.databases(), self.functions())
                    fh.flush()
                    os.fsync(fh.fileno())
            manifest.base = AOFFile(name, 1, BASE)
            self.log("notice", f"Creating AOF base file {name} on server start")
        if not manifest.incrs:
            manifest.incrs.append(AOFFile(layout.incr_name(manifest.next_incr_seq()), manifest.next_incr_seq(), INCR))
            self.log("notice", f"Creating AOF incr file {manifest.incrs[-1].name} on server start")
        # The incremental file exists before the manifest names it: a crash in between
        # must not leave a manifest naming a missing file (which stops the next start).
        self.writer = AppendWriter(layout.path(manifest.incrs[-1].name), str(self.config["appendfsync"]))
        layout.write_manifest(manifest)
        self.manifest = manifest
        self.aof_selected_db = -1
        if manifest.base is not None and os.path.exists(layout.path(manifest.base.name)):
            self.aof_base_size = os.path.getsize(layout.path(manifest.base.name))
        self.aof_rewrite_base_size = self.aof_current_size()

    def _open_new_incr(self) -> None:
        """Start a new incremental file for the writes that follow (a rewrite begins)."""
        manifest = self.manifest
        seq = manifest.next_incr_seq()
        entry = AOFFile(self.layout.incr_name(seq), seq, INCR)
        os.makedirs(self.layout.root, exist_ok=True)
        writer = AppendWriter(self.layout.path(entry.name), str(self.config["appendfsync"]))
        if not self.aof_enable_pending:
            manifest.incrs.append(entry)
            self.layout.write_manifest(manifest)
        else:
            self.manifest.incrs = [entry]
        if self.writer is not None:
            self.writer.close()
        self.writer = writer
        self.aof_selected_db = -1

    def rewrite_background(self) -> bool:
        """BGREWRITEAOF: a child writes a compact base (RDB preamble) of the data at fork time."""
        if self.aof_enabled or self.aof_enable_pending:
            try:
                self._open_new_incr()
            except OSError as exc:
                self.log("warning", f"Can't open a new AOF incr file: {exc.strerror}")
                return False
        os.makedirs(self.layout.root, exist_ok=True)
        databases = self.databases()
        functions = self.functions()
        root = self.layout.root

        preamble = bool(self.config["aof-use-rdb-preamble"])
        self.rewrite_preamble = preamble

        def temp_for(pid: int) -> str:
            return os.path.join(root, f"temp-rewriteaof-bg-{pid}.aof")

        def work() -> None:
            with open(temp_for(os.getpid()), "wb", buffering=1 << 20) as fh:
                if preamble:
                    rdb.write_rdb(fh, databases, preamble=True, functions=functions)
                else:
                    write_resp_base(fh, databases, functions)
                fh.flush()
                os.fsync(fh.fileno())
            self._log_copy_on_write("AOF rewrite")

        if not self._fork(CHILD_AOF, work, temp_for):
            self.aof_last_bgrewrite_status = "err"
            return False
        assert self.child_pid is not None
        self.child_tmp = temp_for(self.child_pid)
        self.log("notice", f"Background append only file rewriting started by pid {self.child_pid}")
        return True

    def _rewrite_done(self, ok: bool, tmp: str | None) -> None:
        if not ok or tmp is None or not os.path.exists(tmp):
            self.log("warning", "Background AOF rewrite terminated with error")
            self.aof_last_bgrewrite_status = "err"
            return
        manifest = self.manifest
        seq = manifest.next_base_seq()
        name = self.layout.base_name(seq, rdb=self.rewrite_preamble)
        os.replace(tmp, self.layout.path(name))
        self.aof_base_size = os.path.getsize(self.layout.path(name))
        manifest.base = AOFFile(name, seq, BASE)
        manifest.history = []
        if self.aof_enabled or self.aof_enable_pending:
            manifest.incrs = manifest.incrs[-1:]
        else:
            manifest.incrs = []
        self.layout.write_manifest(manifest)
        self.layout.remove_unlisted(manifest)
        if self.aof_enable_pending:
            self.aof_enable_pending = False
            self.aof_enabled = True
            self.log("notice", "Background AOF rewrite finished successfully; AOF is on")
        self.aof_rewrite_base_size = self.aof_current_size()
        self.aof_rewrites += 1
        self.aof_last_bgrewrite_status = "ok"
        self.log("notice", "Background AOF rewrite terminated with success")

    def set_appendonly(self, value: object) -> None:
        """CONFIG SET appendonly: start (by a rewrite that writes the first base) or stop the AOF."""
        if value and not (self.aof_enabled or self.aof_enable_pending):
            # self.manifest is the one read at start-up and kept since, as Redis keeps
            # server.aof_manifest: re-reading a file damaged meanwhile could reuse live names.
            self.aof_enable_pending = True
            if self.child_pid is not None:
                self.kill_child()
            if not self.rewrite_background():
                self.aof_enable_pending = False
                from server.config import ConfigError

                raise ConfigError("Failed to start the AOF rewrite")
            self.plug_propagation()
        elif not value and (self.aof_enabled or self.aof_enable_pending):
            if self.child_type == CHILD_AOF:
                self.kill_child()
            self.aof_enabled = self.aof_enable_pending = False
            if self.writer is not None:
                self.writer.close()
                self.writer = None
            self.plug_propagation()

    def plug_propagation(self) -> None:
        """Receive effects only while there is an AOF to feed: no cost per write otherwise."""
        if self.aof_enabled or self.aof_enable_pending:
            self.server.effects.register(self)
        else:
            self.server.effects.unregister(self)

    def set_appendfsync(self, value: object) -> None:
        if self.writer is not None:
            self.writer.policy = str(value)

    def write_commands(self, commands: list[list[bytes]]) -> None:
        """Append commands to the AOF (SELECTs included); a failed write blocks writes (MISCONF)."""
        writer = self.writer
        if writer is None:
            return
        data = b"".join([encode_command(argv) for argv in commands])
        try:
            if writer.policy == "always" and self.server.loop is not None:
                writer.hold(data)  # written and fsynced once for the whole loop turn
                if not self.commit_armed:
                    self.commit_armed = True
                    self.server.held_replies = []
                    self.server.loop.call_soon(self.group_commit)
            else:
                writer.append(data)
        except OSError as exc:
            self.aof_last_write_status = "err"
            self.aof_last_write_error = exc.strerror or str(exc)
            self.log("warning", f"Error writing to the AOF file: {exc.strerror}")
            self.update_write_block()
            return
        if self.aof_last_write_status != "ok":
            self.aof_last_write_status = "ok"
            self.update_write_block()

    def group_commit(self) -> None:
        """``appendfsync always``: write and fsync what this loop turn appended, then let replies go.

        Redis's flushAppendOnlyFile in beforeSleep: one fsync for all the clients'
        writes of a loop turn instead of one per command. Every reply of that turn
        waited in ``server.held_replies`` (see ``RedisProtocol.send``), so nothing is
        acknowledged before it is on disk. As in Redis, a failed write or fsync
        under ``always`` stops the server rather than acknowledge a lost write.
        """
        self.commit_armed = False
        server = self.server
        held, server.held_replies = server.held_replies, None
        writer = self.writer
        if writer is not None:
            try:
                writer.commit()
            except OSError as exc:
                self.log("warning", "Can't persist AOF for fsync error when the AOF fsync policy is 'always': "
                                    f"{exc.strerror}. Exiting...")
                os._exit(1)
        for deliver, data in held or ():
            deliver(data)

    def apply_effects(self, ops: list[Op]) -> None:
        """``EffectConsumer``: append what commands did (``server.effects`` decides what that is)."""
        if self.writer is None or self.loading:
            return
        commands, self.aof_selected_db = with_selects(ops, self.aof_selected_db)
        self.write_commands(commands)

    # ------------------------------------------------------------------ shutdown

    def prepare_shutdown(self, save: bool | None, force: bool) -> bool:
        """Redis's finishShutdown: stop children, flush the AOF, save if asked or if save points exist.

        ``save`` None means "as configured". Returns False (and keeps running) if
        the save failed and ``force`` is not given.
        """
        if self.child_pid is not None:
            self.kill_child()
        if self.writer is not None:
            try:
                self.writer.sync()
            except OSError as exc:
                self.log("warning", f"Error syncing the AOF on shutdown: {exc.strerror}")
        do_save = bool(self.save_points()) if save is None else save
        if do_save:
            self.log("notice", "Saving the final RDB snapshot before exiting.")
            if not self.save():
                if not force:
                    self.log("warning", "Error trying to save the DB, can't exit.")
                    return False
                self.log("warning", "Error trying to save the DB. Exit anyway.")
            else:
                self.log("notice", "DB saved on disk")
        return True

    def on_shutdown(self) -> int:
        """``server.on_shutdown``: the loop stopped (SHUTDOWN already prepared, or a signal)."""
        if not self.shutdown_done:
            if not self.prepare_shutdown(None, force=True):
                return 1
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        return self.shutdown_exit_code

    # ------------------------------------------------------------------ INFO

    def info_fields(self) -> list[tuple[str, object]]:
        now = time.time()
        rdb_child = self.child_type == CHILD_RDB
        aof_child = self.child_type == CHILD_AOF
        writer = self.writer
        fields: list[tuple[str, object]] = [
            ("loading", 1 if self.loading else 0),
            ("async_loading", 0),
            ("current_cow_peak", 0),
            ("current_cow_size", 0),
            ("current_cow_size_age", 0),
            ("current_fork_perc", "0.00"),
            ("current_save_keys_processed", 0),
            ("current_save_keys_total", 0),
            ("rdb_changes_since_last_save", self.server.keyspace.dirty),
            ("rdb_bgsave_in_progress", 1 if rdb_child else 0),
            ("rdb_last_save_time", self.server.last_save),
            ("rdb_last_bgsave_status", self.last_bgsave_status),
            ("rdb_last_bgsave_time_sec", self.last_bgsave_seconds),
            ("rdb_current_bgsave_time_sec", int(now - self.child_started) if rdb_child else -1),
            ("rdb_saves", self.rdb_saves),
            ("rdb_last_cow_size", 0),
            ("rdb_last_load_keys_expired", self.load_keys_expired),
            ("rdb_last_load_keys_loaded", self.load_keys_loaded),
            ("aof_enabled", 1 if self.aof_enabled else 0),
            ("aof_rewrite_in_progress", 1 if aof_child else 0),
            ("aof_rewrite_scheduled", 1 if self.aof_rewrite_scheduled else 0),
            ("aof_last_rewrite_time_sec", self.aof_last_rewrite_seconds),
            ("aof_current_rewrite_time_sec", int(now - self.child_started) if aof_child else -1),
            ("aof_last_bgrewrite_status", self.aof_last_bgrewrite_status),
            ("aof_rewrites", self.aof_rewrites),
            ("aof_rewrites_consecutive_failures", 0),
            ("aof_last_write_status", self.aof_last_write_status),
            ("aof_last_cow_size", 0),
            ("module_fork_in_progress", 0),
            ("module_fork_last_cow_size", 0),
        ]
        if self.aof_enabled and writer is not None:
            fields += [
                ("aof_current_size", self.aof_current_size()),
                ("aof_base_size", self.aof_rewrite_base_size),
                ("aof_pending_rewrite", 1 if self.aof_rewrite_scheduled else 0),
                ("aof_buffer_length", 0),
                ("aof_pending_bio_fsync", 0),
                ("aof_delayed_fsync", 0),
            ]
        if self.loading:  # Redis's figures, ETA included (elapsed x remaining / loaded)
            total, loaded = self.loading_total_bytes, self.loading_loaded_bytes
            perc = loaded / total * 100 if total else 0.0
            elapsed = int(now) - self.loading_start_time
            eta = 1 if elapsed == 0 else elapsed * max(total - loaded, 1 if not total else 0) // (loaded + 1)
            fields += [
                ("loading_start_time", self.loading_start_time),
                ("loading_total_bytes", total),
                ("loading_rdb_used_mem", 0),
                ("loading_loaded_bytes", loaded),
                ("loading_loaded_perc", f"{perc:.2f}"),
                ("loading_eta_seconds", eta),
            ]
        return fields


# ---------------------------------------------------------------------- AOF rewriting of commands

def _rdb_preamble_end(buf: bytes, path: str) -> int:
    """Where the RDB preamble of an old single-file AOF ends (EOF opcode plus checksum)."""
    try:
        rdb.load_bytes(buf, skip_expired=False)
    except rdb.RDBError as exc:
        if exc.offset is not None and "unexpected bytes after the end" in exc.reason:
            return exc.offset
        raise LoadError(f"Bad RDB preamble in AOF file {path}: {exc.reason} at offset {exc.offset}") from None
    return len(buf)
