"""The replica's side: the link to our master (``MasterLink``).

The link goes through Redis's states: ``connect`` (waiting to dial; the cron
retries every second), ``connecting``, ``handshake`` (PING, AUTH with
masterauth/masteruser, REPLCONF listening-port / ip-address / capa eof psync2,
then PSYNC with the cached master's ID and offset), ``sync`` (receiving the
snapshot: ``$<length>`` or ``$EOF:<mark>``), ``connected`` (applying the stream).

The snapshot is read without blocking the loop and parsed whole before anything
is replaced: a transfer cut short or a damaged file leaves the old data set in
place and the link retries, so the data set is never a partial one. The stream's
commands run as the "master client" (flag M), which bypasses the read-only and
replica checks; each one is passed on, byte for byte, to our own replicas.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Generator
from itertools import chain
from time import perf_counter_ns
from typing import TYPE_CHECKING, cast

import hiredis

from server.config import ConfigError
from server.dispatch import LOOKUP, MULTI_IMMEDIATE, after_call, call, failure_reply, resolve
from server.persistence import rdb
from server.persistence.aof import encode_command
from server.protocol import Error, wire_size
from server.replication.backlog import Backlog
from server.tls import client_context

if TYPE_CHECKING:
    from server.client import Client
    from server.replication.core import Replication

CONNECT = "connect"
CONNECTING = "connecting"
HANDSHAKE = "handshake"
SYNC = "sync"
CONNECTED = "connected"

LOAD_STEP = 256 * 1024  # bytes of snapshot decoded between two checks of the clock
_BYTES_ONLY = frozenset([bytes])  # the argument types of a well-formed command
_LIST_ONLY = frozenset([list])
_PROBE = b"*0\r\n"  # an empty multibulk after a read: comes out last if the read ended between commands
LOAD_SLICE = 0.05  # seconds of loading before the loop serves the others (-LOADING)


class MasterLink(asyncio.Protocol):
    """Our connection to the master, from dialling to applying its stream."""

    def __init__(self, replication: Replication, host: str, port: int) -> None:
        self.replication = replication
        self.server = replication.server
        self.host = host
        self.port = port
        self.state = CONNECT
        self.transport: asyncio.Transport | None = None
        self.cached: tuple[str, int] | None = None  # (replid, offset) to continue from
        self.cached_db = 0
        self.client: Client | None = None  # the master client, while connected
        self.stopped = False
        self.started = 0.0
        self.last_io = time.monotonic()
        self.down_since = 0.0  # when a working link went down (0: never up)
        self.inbuf = bytearray()  # handshake replies and the snapshot's header
        self.expect: list[str] = []  # the handshake replies still to read, in order
        self.payload = bytearray()
        self.eof_mark: bytes | None = None
        self.bulk_size = -1
        self.bulk_read = 0
        self.sync_replid = ""
        self.sync_offset = 0
        self.reader = hiredis.Reader()  # the command stream, once connected
        self.clean = True  # the reader holds no part of a command
        self.last_ack = 0.0
        self.loading: Generator[tuple[int, int], None, rdb.LoadResult] | None = None  # the snapshot being decoded
        self.load_source = "disk"
        self.load_logged = 0.0
        self.raw = bytearray()  # stream bytes received and not yet passed on
        self.current: list[list[bytes]] = []  # the frames of the read being applied
        self.frame_base = 0
        self.frames_done = 0

    # ------------------------------------------------------------------ state

    @property
    def connected(self) -> bool:
        return self.state == CONNECTED

    @property
    def transferring(self) -> bool:
        return self.state == SYNC and (self.bulk_size >= 0 or self.eof_mark is not None)

    @property
    def processed(self) -> int:
        """The offset of the stream applied so far (slave_repl_offset)."""
        return self.replication.offset

    def role_state(self) -> str:
        return self.state

    def log(self, level: str, message: str) -> None:
        self.server.log(level, message)

    # ------------------------------------------------------------------ connecting

    def connect(self) -> None:
        loop = self.server.loop
        if loop is None or self.stopped or self.state != CONNECT:
            return
        self.state = CONNECTING
        self.started = time.monotonic()
        self.log("notice", f"Connecting to MASTER {self.host}:{self.port}")
        self.log("notice", "MASTER <-> REPLICA sync started")
        loop.create_task(self._dial(loop))

    async def _dial(self, loop: asyncio.AbstractEventLoop) -> None:
        config = self.server.config
        try:
            context = client_context(config) if config["tls-replication"] else None
            await asyncio.wait_for(loop.create_connection(lambda: self, self.host, self.port, ssl=context),
                                   config.get_int("repl-timeout"))
        except ConfigError as exc:
            self.log("warning", f"Error condition on socket for SYNC: {exc}")
            self.state = CONNECT
        except (OSError, asyncio.TimeoutError) as exc:
            if not self.stopped:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "timeout"
                self.log("warning", f"Error condition on socket for SYNC: {reason}")
                self.state = CONNECT

    def connection_made(self, base: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, base)
        if self.stopped:
            transport.close()
            return
        self.transport = transport
        self.state = HANDSHAKE
        self.last_io = time.monotonic()
        self.inbuf.clear()
        self.log("notice", "Non blocking connect for SYNC fired the event.")
        self.expect = ["ping"]
        self._send([b"PING"])

    def _send(self, argv: list[bytes]) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(encode_command(argv))

    def stop(self) -> None:
        """REPLICAOF NO ONE or another master: close the link for good."""
        self.stopped = True
        self._close()

    def _close_soon(self) -> None:
        loop = self.server.loop
        if loop is not None:
            loop.call_soon(self._close)

    def _close(self) -> None:
        transport, self.transport = self.transport, None
        if transport is not None:
            transport.close()
        self._lost()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is None:
            return
        self.transport = None
        if self.state == CONNECTED:
            self.log("notice", "Connection with master lost.")
        elif self.state == SYNC:
            self.log("warning", "I/O error trying to sync with MASTER: connection lost")
        else:
            self.log("warning", "Master closed the connection during the handshake")
        self._lost()

    def _lost(self) -> None:
        """Back to ``connect``; a working link is remembered for a partial resync."""
        if self.loading is not None:
            self._stop_loading()
        client = self.client
        if self.state == CONNECTED and client is not None:
            self.log("notice", "Caching the disconnected master state.")
            self.cached = (self.replication.replid, self.replication.offset)
            self.cached_db = client.db.id
        if client is not None:
            self.client = None
            client.closed = True
            self.server.client_gone(client)
        if self.state in (CONNECTED, SYNC):
            self.down_since = time.monotonic()
        self.payload = bytearray()
        self.reader = hiredis.Reader()
        self.clean = True
        self.eof_mark = None
        self.bulk_size = -1
        self.state = CONNECT

    # ------------------------------------------------------------------ reading

    def data_received(self, data: bytes) -> None:
        self.last_io = time.monotonic()
        if self.state == CONNECTED:
            self._apply_stream(data)
            return
        self.inbuf += data
        if self.loading is not None:
            return  # the stream after the snapshot: applied once it is loaded
        while self.transport is not None and self.state in (HANDSHAKE, SYNC):
            if self.state == SYNC and (self.bulk_size >= 0 or self.eof_mark is not None):
                self._take_payload()
                return
            line = self._line()
            if line is None:
                return
            if self.state == HANDSHAKE:
                self._handshake_reply(line)
            else:
                self._bulk_header(line)

    def _line(self) -> bytes | None:
        """The next reply line; the bare newlines a master sends to keep a waiting link alive are skipped."""
        buf = self.inbuf
        while buf[:1] == b"\n":
            del buf[:1]
        end = buf.find(b"\r\n")
        if end < 0:
            return None
        line = bytes(buf[:end])
        del buf[:end + 2]
        return line

    def _fail(self, message: str) -> None:
        self.log("warning", message)
        self._close()

    def _handshake_reply(self, line: bytes) -> None:
        step = self.expect.pop(0) if self.expect else "psync"
        text = line.decode("utf-8", "replace")
        config = self.server.config
        if step == "ping":
            if line.startswith(b"-") and not line.startswith((b"-NOAUTH", b"-NOPERM", b"-ERR operation not permitted")):
                self._fail(f"Error reply to PING from master: '{text}'")
                return
            self.log("notice", "Master replied to PING, replication can continue...")
            auth = config.get_str("masterauth")
            if auth:
                user = config.get_str("masteruser")
                self.expect.append("auth")
                self._send([b"AUTH", user.encode(), auth.encode()] if user else [b"AUTH", auth.encode()])
            port = config.get_int("replica-announce-port") or self.server.tcp_port
            self.expect.append("port")
            self._send([b"REPLCONF", b"listening-port", b"%d" % port])
            announce = config.get_str("replica-announce-ip")
            if announce:
                self.expect.append("ip")
                self._send([b"REPLCONF", b"ip-address", announce.encode()])
            self.expect.append("capa")
            self._send([b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"])
        elif step == "auth":
            if line.startswith(b"-"):
                self._fail(f"Unable to AUTH to MASTER: {text}")
        elif step == "port":
            if line.startswith(b"-"):
                self.log("notice", f"(Non critical) Master does not understand REPLCONF listening-port: {text}")
        elif step == "ip":
            if line.startswith(b"-"):
                self.log("notice", f"(Non critical) Master does not understand REPLCONF ip-address: {text}")
        elif step == "capa":
            if line.startswith(b"-"):
                self.log("notice", f"(Non critical) Master does not understand REPLCONF capa: {text}")
        else:
            self._psync_reply(line)
            return
        if not self.expect and self.transport is not None:
            self._send_psync()

    def _send_psync(self) -> None:
        cached = self.cached
        if cached is not None:
            replid, offset = cached
            self.log("notice", f"Trying a partial resynchronization (request {replid}:{offset + 1}).")
            argv = [b"PSYNC", replid.encode(), b"%d" % (offset + 1)]
            if self.replication.failover_state == "failover-in-progress":
                argv.append(b"FAILOVER")  # the target takes over the master role
            self._send(argv)
        else:
            self.log("notice", "Partial resynchronization not possible (no cached master)")
            self._send([b"PSYNC", b"?", b"-1"])
        self.expect = ["psync"]

    def _psync_reply(self, line: bytes) -> None:
        text = line.decode("utf-8", "replace")
        replication = self.replication
        if replication.failover_state == "failover-in-progress":
            if line.startswith((b"+FULLRESYNC", b"+CONTINUE")):
                replication.clear_failover()
            else:
                replication.abort_failover("Failover target rejected psync request")
                return
        if line.startswith(b"+FULLRESYNC"):
            parts = text.split()
            if len(parts) < 3 or len(parts[1]) != 40 or not parts[2].lstrip("-").isdigit():
                self._fail(f"Master replied with wrong +FULLRESYNC syntax: {text}")
                return
            self.sync_replid, self.sync_offset = parts[1], int(parts[2])
            self.log("notice", f"Full resync from master: {self.sync_replid}:{self.sync_offset}")
            self.state = SYNC
            self.bulk_size = -1
            self.eof_mark = None
            self.bulk_read = 0
            # A new history: our own replicas must start over, and our old backlog is void.
            self.cached = None
            self.replication.disconnect_replicas()
            self.replication.backlog = None
        elif line.startswith(b"+CONTINUE"):
            parts = text.split()
            replication = self.replication
            new_id = parts[1] if len(parts) > 1 and len(parts[1]) == 40 else ""
            self.log("notice", "Successful partial resynchronization with master.")
            if new_id and new_id != replication.replid:
                replication.replid2 = replication.replid
                replication.second_replid_offset = replication.offset + 1
                replication.replid = new_id
                self.log("notice", f"Master replication ID changed to {new_id}")
                replication.disconnect_replicas()
            if replication.backlog is None:
                replication.create_backlog()
            self._go_connected(self.cached_db)
            self.log("notice", "MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.")
            rest = bytes(self.inbuf)
            self.inbuf.clear()
            if rest:
                self._apply_stream(rest)
        elif line.startswith((b"-NOMASTERLINK", b"-LOADING")):
            self._fail(f"Master is currently unable to PSYNC but should be in the future: {text}")
        else:
            self._fail(f"Unexpected reply to PSYNC from master: {text}")

    def _bulk_header(self, line: bytes) -> None:
        text = line.decode("utf-8", "replace")
        if line.startswith(b"-"):
            self._fail(f"MASTER aborted replication with an error: {text}")
            return
        if not line.startswith(b"$"):
            self._fail(f"Bad protocol from MASTER, the first byte is not '$' (we received '{text}'), "
                       f"are you sure the host and port are right?")
            return
        if line.startswith(b"$EOF:") and len(line) == 5 + 40:
            self.eof_mark = line[5:]
            self.bulk_size = -1
            self.log("notice", "MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to memory")
        else:
            try:
                self.bulk_size = int(line[1:])
            except ValueError:
                self._fail(f"Bad protocol from MASTER: {text}")
                return
            self.log("notice", f"MASTER <-> REPLICA sync: receiving {self.bulk_size} bytes from master to memory")
        self.payload = bytearray()
        self.bulk_read = 0

    def _take_payload(self) -> None:
        data = bytes(self.inbuf)
        self.inbuf.clear()
        rest = b""
        if self.eof_mark is None:
            need = self.bulk_size - len(self.payload)
            if len(data) > need:
                data, rest = data[:need], data[need:]
            self.payload += data
            self.bulk_read = len(self.payload)
            if len(self.payload) < self.bulk_size:
                return
            payload = self.payload
        else:
            self.payload += data
            self.bulk_read = len(self.payload)
            mark = self.eof_mark
            if len(self.payload) < len(mark) or self.payload[-len(mark):] != mark:
                return
            payload = self.payload[:-len(mark)]
        self.payload = bytearray()
        self.inbuf += rest  # the stream that follows the snapshot waits for the load
        self._start_load(bytes(payload))

    def _start_load(self, payload: bytes) -> None:
        """Parse the snapshot a step at a time (clients get -LOADING meanwhile), then swap it in
        whole: a damaged snapshot leaves the old data set in place."""
        server = self.server
        self.log("notice", "MASTER <-> REPLICA sync: Loading DB in memory")
        self.loading = rdb.load_steps(payload, skip_expired=False, factories=rdb.value_factories(server.config),
                                      step=LOAD_STEP)
        self.load_source = "socket" if self.eof_mark is not None else "disk"
        self.load_logged = time.monotonic()
        persistence = server.persistence
        persistence.loading = True  # dispatch answers -LOADING; INFO persistence shows the progress
        server.standing_changed()
        persistence.loading_start_time = int(time.time())
        persistence.loading_total_bytes = len(payload)
        persistence.loading_loaded_bytes = 0
        self._load_step()

    def _load_step(self) -> None:
        steps = self.loading
        if steps is None:
            return
        server = self.server
        deadline = time.monotonic() + LOAD_SLICE
        try:
            while time.monotonic() < deadline:
                done, total = next(steps)
                server.persistence.loading_loaded_bytes = done
                now = time.monotonic()
                if now - self.load_logged >= 1.0:
                    self.load_logged = now
                    self.log("notice", f"MASTER <-> REPLICA sync: loading {100 * done // max(total, 1)}% "
                                       f"({done >> 20} MB of {total >> 20} MB)")
        except StopIteration as stop:
            self._stop_loading()
            self._finish_load(stop.value)
            return
        except Exception as exc:  # a damaged transfer keeps the old data set
            self._stop_loading()
            reason = exc.reason if isinstance(exc, rdb.RDBError) else repr(exc)
            self.log("warning", f"Failed trying to load the MASTER synchronization DB from {self.load_source}, "
                                f"check server logs. ({reason})")
            self._close()
            return
        loop = server.loop
        if loop is not None:
            loop.call_soon(self._load_step)  # the other clients get their -LOADING in between

    def _stop_loading(self) -> None:
        steps, self.loading = self.loading, None
        if steps is not None:
            steps.close()
        self.server.persistence.loading = False
        self.server.standing_changed()

    def _finish_load(self, result: rdb.LoadResult) -> None:
        server = self.server
        persistence = server.persistence
        try:
            self.log("notice", "MASTER <-> REPLICA sync: Flushing old data")
            persistence.install(result)
        except Exception as exc:  # (more databases than we have)
            self.log("warning", f"Failed trying to load the MASTER synchronization DB from {self.load_source}, "
                                f"check server logs. ({exc})")
            self._close()
            return
        persistence.load_keys_loaded = result.keys_loaded
        persistence.load_keys_expired = result.keys_expired
        replication = self.replication
        replication.replid = self.sync_replid
        replication.offset = self.sync_offset
        replication.replid2, replication.second_replid_offset = "0" * 40, -1
        replication.backlog = Backlog(server.config.get_int("repl-backlog-size"), self.sync_offset + 1)
        stream_db = result.aux.get(b"repl-stream-db", b"0")
        try:
            db = int(stream_db)
        except ValueError:
            db = 0
        self._go_connected(db if 0 <= db < len(server.keyspace.dbs) else 0)
        self.log("notice", "MASTER <-> REPLICA sync: Finished with success")
        rest = bytes(self.inbuf)
        self.inbuf.clear()
        if rest:
            self._apply_stream(rest)

    def _go_connected(self, db: int) -> None:
        server = self.server
        client = server.new_client(f"{self.host}:{self.port}", "", -1)
        client.kind = "master"
        client.authenticated = True
        client.close = self._close_soon  # CLIENT KILL TYPE master drops the link (it reconnects, as Redis's)
        client.select(db)
        self.client = client
        self.state = CONNECTED
        self.cached = None
        self.reader = hiredis.Reader()
        self.clean = True
        self.raw = bytearray()
        self.send_ack()

    # ------------------------------------------------------------------ the stream

    def _apply_stream(self, data: bytes) -> None:
        """Run the master's commands in ``data``, then pass their bytes on unchanged.

        The stream is parsed by one hiredis reader that keeps a command cut by the end of a
        read for the next one (a master's stream is trusted: the limits a client's parser
        checks do not apply). Commands run on dispatch's per-batch fast path where a client's
        would (``run_requests``: its inlined ``call``; the master client is exempt from every
        check that path skips), the others through ``call``; tests/server/test_call_paths.py
        runs every fast-path command both through here and through ``call`` and fails on any
        difference (statistics, SLOWLOG, MONITOR, effects, data). A master writes every command
        as a canonical RESP array, so the commands of a read cover exactly their encoded
        sizes of the bytes received: those bytes go to our own backlog and replicas as they
        came, with no re-encoding.
        """
        client = self.client
        if client is None:
            return
        frames, error, size = self._frames(data)
        raw = self.raw
        raw += data
        replication = self.replication
        server = self.server
        keyspace = server.keyspace
        self.frame_base = replication.offset
        self.frames_done = 0
        expire_enabled = keyspace.expire_enabled
        keyspace.expire_enabled = False  # the master's commands see keys the master still has
        self.current = frames
        lookup = LOOKUP.get
        propagating = server.effects.active
        monitored = bool(server.monitors)
        in_multi = client.in_multi
        try:
            for index, argv in enumerate(frames):
                cmd = lookup(argv[0])
                n = len(argv)
                if (cmd is not None and cmd.batchable and not in_multi
                        and cmd.min_args <= n <= cmd.max_args):
                    # dispatch.run_requests's fast path, as it runs for a client's request.
                    dirty_before = keyspace.dirty
                    client.last_command = cmd.name_bytes
                    client.argv = argv
                    func = cmd.func
                    start = perf_counter_ns()
                    try:
                        if n == 3:
                            reply = func(client, argv[1], argv[2])
                        elif n == 2:
                            reply = func(client, argv[1])
                        elif n == 4:
                            reply = func(client, argv[1], argv[2], argv[3])
                        else:
                            reply = func(client, *argv[1:])
                    except Exception as exc:
                        reply = failure_reply(server, cmd, exc)
                    duration = (perf_counter_ns() - start) // 1000
                    cmd.calls += 1
                    cmd.usec += duration
                    if (
                        reply.__class__ is Error
                        or duration >= server.slowlog_threshold
                        or (propagating and keyspace.dirty != dirty_before)
                        or monitored
                        or keyspace.ready_keys
                    ):
                        after_call(client, cmd, argv, reply, duration, dirty_before)
                    continue
                self.frames_done = index  # (REPLCONF GETACK counts the commands before it)
                if cmd is None or cmd.subcommands or not cmd.min_args <= n <= cmd.max_args:
                    resolved = resolve(argv)
                    if isinstance(resolved, Error):
                        self.log("warning", "Command from the master failed: "
                                            f"{resolved.message.decode('utf-8', 'replace')}")
                        continue
                    cmd = resolved
                if in_multi and cmd.root_name not in MULTI_IMMEDIATE:
                    client.multi_queue.append((cmd, argv))
                    continue
                call(client, cmd, argv)
                if self.client is not client:  # the command changed our role (REPLICAOF in the stream)
                    return
                in_multi = client.in_multi
                propagating = server.effects.active
                monitored = bool(server.monitors)
        finally:
            keyspace.expire_enabled = expire_enabled
            self.current = []
        if size < 0 or len(raw) != len(data):  # (the read's own length counts only when nothing was held)
            size = wire_size(frames)
        if size == len(raw):  # the read ended between commands: hand the whole buffer over
            self.clean = not error
            self.raw = bytearray()
            chunk: bytes | bytearray = raw
        else:
            chunk = bytes(raw[:size])
            del raw[:size]
        if size:
            replication.feed(chunk)
        if error:
            self._fail(f"Protocol error from the master: {error}")

    def _frames(self, data: bytes) -> tuple[list[list[bytes]], str | None, int]:
        """The complete commands the stream holds so far (a cut one waits in the reader), and
        the bytes they took when that is known without sizing them (-1 otherwise).

        While the reader holds nothing (the last read ended between commands, as most do: a
        master writes whole commands), the read goes in with an empty multibulk after it, as
        ``RequestParser.feed`` does: if that probe comes out last, the read ended between
        commands and its length is the commands' size. Otherwise the commands are sized, one
        that took the probe's bytes is dropped, and a new reader starts with the cut command.
        Commands are checked once for the whole read (C-level passes): every one an array of
        bulk strings; at the first one that is not, those before it are kept and the link fails."""
        reader = self.reader
        frames: list[list[bytes]] = []
        append = frames.append
        if self.clean:
            reader.feed(data + _PROBE)
            gets = reader.gets
            try:
                frame = gets()
                while frame is not False and frame != []:
                    append(frame)
                    frame = gets()
            except hiredis.ProtocolError:
                frame = None  # (a probe read into a cut command): read again, without it
            if frame == [] and not reader.has_data():
                return self._checked(frames, None, len(data))
            self.clean = False
            if frame is False:
                used = wire_size(frames) if frames else 0
                if used > len(data):  # the last one took the probe's bytes: it is the cut one
                    frames.pop()
                    used = wire_size(frames)
                self.reader = reader = hiredis.Reader()
                reader.feed(data[used:])
                return self._checked(frames, None, used)
            self.reader = reader = hiredis.Reader()
            frames.clear()
        reader.feed(data)
        gets = reader.gets
        try:
            frame = gets()
            while frame is not False:
                append(frame)
                frame = gets()
        except hiredis.ProtocolError as exc:
            return self._well_formed(frames, str(exc)) + (-1,)
        return self._checked(frames, None, -1)

    def _checked(self, frames: list[list[bytes]], error: str | None, size: int) -> tuple[list[list[bytes]], str | None, int]:
        if _LIST_ONLY.issuperset(map(type, frames)) and all(frames) and _BYTES_ONLY.issuperset(
                map(type, chain.from_iterable(frames))):
            return frames, error, size
        return self._well_formed(frames, error) + (-1,)

    @staticmethod
    def _well_formed(frames: list, error: str | None) -> tuple[list[list[bytes]], str | None]:
        """The commands before the first malformed one (and the error to fail the link with)."""
        for index, frame in enumerate(frames):
            if frame.__class__ is not list or not frame or not _BYTES_ONLY.issuperset(map(type, frame)):
                return frames[:index], "expected a command (an array of bulk strings)"
        return frames, error

    def applied_offset(self) -> int:
        """The offset of what we applied, counting inside a read being applied (REPLCONF GETACK)."""
        if self.current:
            return self.frame_base + wire_size(self.current[:self.frames_done])
        return self.replication.offset

    def send_ack(self) -> None:
        """REPLCONF ACK <offset>: what we applied (each second, and when the master asks)."""
        self.last_ack = time.monotonic()
        self._send([b"REPLCONF", b"ACK", b"%d" % self.applied_offset()])

    # ------------------------------------------------------------------ periodic work

    def cron(self, now: float) -> None:
        timeout = self.server.config.get_int("repl-timeout")
        if self.state == CONNECT:
            self.connect()
        elif self.state in (CONNECTING, HANDSHAKE) and now - self.started > timeout:
            self.log("warning", "Timeout connecting to the MASTER...")
            self._close()
        elif self.state == SYNC and now - self.last_io > timeout:
            self.log("warning", "Timeout receiving bulk data from MASTER... If the problem persists try to set "
                                "the 'repl-timeout' parameter in redis.conf to a larger value.")
            self._close()
        elif self.state == CONNECTED:
            if now - self.last_io > timeout:
                self.log("warning", "MASTER timeout: no data nor PING received...")
                self._close()
            else:
                self.send_ack()
