"""Replication as Redis 7.0 does it, with Redis's own protocol (``server.replication``).

One ``Replication`` per server holds both roles' state:

- as a master: the replication ID (and the previous one, after a promotion), the
  offset, the backlog, the attached replicas (``ReplicaLink``, server/replication/master.py),
  full syncs from a forked child (disk or diskless), WAIT and min-replicas-to-write;
- as a replica: the link to the master (``MasterLink``, server/replication/replica.py),
  which performs the handshake, loads the snapshot and applies the command stream.

The command stream a master sends is the effects pipeline's output
(``apply_effects``: SELECT where the database changes, MULTI/EXEC around units), fed
into the backlog and every replica. A replica does not produce its own stream: it
passes on the bytes it applies from its master (``feed``), so a chain of replicas
shares one replication ID and one offset space, as in Redis.

The public API (for commands and cluster mode): ``replicate_from(host, port)``,
``become_master()``, ``is_replica``, ``info_fields()``, ``role_reply()``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from hiredis import pack_command as _hiredis_pack

from server.effects import Op, with_selects
from server.persistence import rdb
from server.persistence.aof import encode_command
from server.protocol import Error
from server.replication.backlog import Backlog
from server.replication.master import CHUNK, ONLINE, QUEUE_HIGH, SEND_BULK, WAIT_BGSAVE, ReplicaLink

if TYPE_CHECKING:
    from server.client import Client
    from server.command import Command
    from server.instance import Server
    from server.replication.replica import MasterLink

NULL_REPLID = "0" * 40
PING = encode_command([b"PING"])
NOREPLICAS = Error(b"NOREPLICAS Not enough good replicas to write.")
READONLY = Error(b"READONLY You can't write against a read only replica.")
MASTERDOWN = Error(b"MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.")
EOF_MARK_LEN = 40


def new_replid() -> str:
    return os.urandom(20).hex()


class Replication:
    """Both sides of replication for one server; see the module docstring."""

    # As the effects pipeline's only consumer, it lets dispatch keep a read's plain writes for
    # the read's end: feeding the stream cannot fail (the AOF's write can, and must be known).
    defers_plain = True

    def __init__(self, server: Server) -> None:
        self.server = server
        config = server.config
        self.config = config
        # Identity of the stream (PSYNC2).
        self.replid = new_replid()
        self.replid2 = NULL_REPLID
        self.second_replid_offset = -1
        self.offset = 0  # master_repl_offset: the last byte of the stream fed
        self.backlog: Backlog | None = None
        self.selected_db = -1  # the database the stream has selected (Redis's slaveseldb)
        self._outgoing: list[bytes | bytearray] = []  # fed this loop turn, not yet flushed
        self._flush_armed = False
        # Master side.
        self.replicas: dict[int, ReplicaLink] = {}  # by client id
        self.no_replicas_since = time.monotonic()
        self.good_replicas = 0
        self.sync_full = 0
        self.sync_partial_ok = 0
        self.sync_partial_err = 0
        self.diskless_due = 0.0  # when the delayed diskless sync starts (repl-diskless-sync-delay)
        self.socket_child: _SocketTransfer | None = None
        self.waiting: list[tuple[Client, int, int]] = []  # WAIT: (client, offset, replicas wanted)
        self.getack_armed = False
        self.failover_state = "no-failover"
        self.failover_target: tuple[str, int] | None = None
        self.failover_end = 0.0
        self.failover_force = False
        # REPLCONF before SYNC/PSYNC: (listening port, announced ip, capa eof, capa psync2) per client.
        self._conf: dict[int, tuple[int, str, bool, bool]] = {}
        # SHUTDOWN waiting for lagging replicas (Redis 7.0's shutdown-timeout).
        self.shutdown_deadline = 0.0  # time.monotonic() when it gives up waiting; 0: no wait on
        self.shutdown_options: tuple[bool | None, bool] = (None, False)  # (save, force)
        self.shutdown_by_signal = False  # the loop's stop does the saving (Persistence.on_shutdown)
        self.shutdown_clients: list[Client] = []  # blocked in SHUTDOWN until it ends
        self.shutdown_paused = False  # the wait paused writes (not a CLIENT PAUSE already on)
        # Replica side.
        self.master: MasterLink | None = None
        self.master_host = ""
        self.master_port = 0
        self.last_cron = 0.0
        self.cron_loops = 0
        # Dispatch asks ``refuse`` only while this is set (fast_path_open reads it).
        self.gate = False
        config.on_change("repl-backlog-size", self._resize_backlog)
        config.on_change("min-replicas-to-write", self._update_gate)
        config.on_change("replica-read-only", self._update_gate)
        config.on_change("replica-serve-stale-data", self._update_gate)
        self._update_gate()

    # ------------------------------------------------------------------ start-up and roles

    def start(self) -> None:
        """Start-up: ``replicaof host port`` in the configuration makes this server a replica."""
        configured = self.config.get_str("replicaof").split()
        if len(configured) == 2 and configured[1].isdigit():
            self.replicate_from(configured[0], int(configured[1]))

    @property
    def is_replica(self) -> bool:
        return bool(self.master_host)

    def replicate_from(self, host: str, port: int) -> None:
        """Become (or stay) a replica of ``host:port`` (REPLICAOF host port, cluster replicas).

        As Redis's replicationSetMaster: blocked clients are released, our own replicas are
        dropped (they reconnect and learn the new history), and a server that was a master
        keeps its own history as the "cached master", so the new master may continue it
        with a partial resync (the old master after a failover).
        """
        from server.replication.replica import MasterLink

        was_master = not self.is_replica
        self._release_blocked()
        if self.master is not None:
            self.master.stop()
        self.master_host, self.master_port = host, port
        self.disconnect_replicas()
        self.server.keyspace.expiry_paused = True  # a replica waits for the master's DELs
        self.server.effects.unregister(self)
        link = MasterLink(self, host, port)
        if was_master:
            link.cached = (self.replid, self.offset)
        elif self.master is not None and self.master.cached is not None:
            link.cached = self.master.cached
        self.master = link
        self._update_gate()
        link.connect()

    def become_master(self) -> None:
        """REPLICAOF NO ONE: keep the data, start a new history that continues the old one.

        The previous ID stays valid as ``master_replid2`` up to the current offset, so the
        former master and the other replicas can continue from us with a partial resync.
        """
        if not self.is_replica:
            return
        if self.master is not None:
            self.master.stop()
        self.master = None
        self.master_host, self.master_port = "", 0
        self.shift_replid()
        self.disconnect_replicas()
        self.selected_db = -1
        self.no_replicas_since = time.monotonic()
        self.server.keyspace.expiry_paused = self.server.pause_mode is not None
        if self.backlog is not None:
            self.server.effects.register(self)
        self._update_gate()

    def shift_replid(self) -> None:
        self.replid2 = self.replid
        self.second_replid_offset = self.offset + 1
        self.replid = new_replid()
        self.server.log("notice", f"Setting secondary replication ID to {self.replid2}, valid up to offset: "
                                  f"{self.second_replid_offset}. New replication ID is {self.replid}")

    def _release_blocked(self) -> None:
        """Clients blocked in WAIT get their answer: this server's role is changing."""
        for client, wanted_offset, _ in list(self.waiting):
            self._finish_wait(client, self.acked(wanted_offset))
        self.waiting.clear()

    # ------------------------------------------------------------------ the stream

    def create_backlog(self) -> None:
        if self.backlog is None:
            self.backlog = Backlog(self.config.get_int("repl-backlog-size"), self.offset + 1)
            if not self.is_replica:
                self.server.effects.register(self)

    def _resize_backlog(self, value: object) -> None:
        if self.backlog is not None:
            self.backlog.resize(self.config.get_int("repl-backlog-size"))

    def apply_effects(self, ops: list[Op]) -> None:
        """``EffectConsumer``: what this master's commands did, as its replication stream."""
        if len(ops) == 1 and ops[0][0] == self.selected_db:
            self.feed(_encode(ops[0][1]))
            return
        commands, self.selected_db = with_selects(ops, self.selected_db)
        self.feed(b"".join([_encode(argv) for argv in commands]))

    def apply_raw(self, dbid: int, raw: bytes) -> bool:
        """Plain writes as a client sent them (``Effects.settle``): their bytes go into the stream
        as they are, with a SELECT first if the stream is in another database."""
        if dbid != self.selected_db:
            self.feed(_encode([b"SELECT", b"%d" % dbid]))
            self.selected_db = dbid
        self.feed(raw)
        return True

    def propagate(self, dbid: int, argv: list[bytes]) -> None:
        """A command for replicas only (PUBLISH: Redis's PROPAGATE_REPL), never the AOF."""
        if not self.is_replica:
            effects = self.server.effects
            if effects.plain:  # the writes before it in the read go first
                effects.settle(None)
            self.apply_effects([(dbid, argv)])

    def feed(self, data: bytes | bytearray) -> None:
        """Bytes of the replication stream: counted now, written to the backlog and the
        replicas once per loop turn (``flush``), so a pipeline of writes costs one send."""
        if self.backlog is None:
            return
        self.offset += len(data)
        self._outgoing.append(data)
        if not self._flush_armed:
            self._flush_armed = True
            loop = self.server.loop
            if loop is None:
                self.flush()
            else:
                loop.call_soon(self.flush)

    def flush(self) -> None:
        """Move what ``feed`` gathered into the backlog and to every replica. Called before
        anything reads the backlog or changes a replica's state, so the order is never lost."""
        self._flush_armed = False
        outgoing = self._outgoing
        if not outgoing:
            return
        data = bytes(outgoing[0]) if len(outgoing) == 1 else b"".join(outgoing)
        outgoing.clear()
        backlog = self.backlog
        if backlog is None:
            return
        backlog.append(data)
        if self.replicas:
            send = self.server.output.send
            for link in self.replicas.values():
                if link.state == ONLINE:
                    send(link.client, data)
                elif link.holding:
                    link.hold(data)

    def request_acks(self) -> None:
        """REPLCONF GETACK * to every replica, once per loop turn (WAIT)."""
        if self.getack_armed:
            return
        self.getack_armed = True
        loop = self.server.loop

        def send() -> None:
            self.getack_armed = False
            if self.replicas and not self.is_replica:
                self.feed(encode_command([b"REPLCONF", b"GETACK", b"*"]))

        if loop is None:
            send()
        else:
            loop.call_soon(send)

    # ------------------------------------------------------------------ a replica attaches

    def link_for(self, client: Client) -> ReplicaLink:
        link = self.replicas.get(client.id)
        if link is None:
            link = ReplicaLink(client)
        return link

    def sync(self, client: Client, replid: bytes | None, offset: int) -> object:
        """SYNC (``replid`` None) or PSYNC: continue from the backlog, or start a full sync."""
        from server.protocol import NO_REPLY, Raw

        server = self.server
        if self.is_replica and (self.master is None or not self.master.connected):
            return Error(b"NOMASTERLINK Can't SYNC while not connected with my master")
        self.flush()
        link = self.link_for(client)
        pending_conf = self._conf.pop(client.id, None)
        if pending_conf is not None:
            link.listening_port, link.announced_ip, link.capa_eof, link.capa_psync2 = pending_conf
        if replid is not None:
            continued = self._try_continue(link, replid.decode("latin-1"), offset)
            if continued is not None:
                return Raw(continued)
            if replid != b"?":
                self.sync_partial_err += 1
            server.log("notice", f"Replica {link.name} asks for synchronization")
            server.log("notice", f"Full resync requested by replica {link.name}")
        else:
            link.psync = False
            server.log("notice", f"Replica {link.name} asks for synchronization")
        self.sync_full += 1
        client.kind = "replica"
        link.state = WAIT_BGSAVE
        link.holding = False
        self.replicas[client.id] = link
        self.create_backlog()
        self._schedule_full_sync(link)
        return NO_REPLY

    def _try_continue(self, link: ReplicaLink, replid: str, offset: int) -> bytes | None:
        """Redis's masterTryPartialResynchronization: the +CONTINUE reply and backlog, or None."""
        server = self.server
        backlog = self.backlog
        if replid == "?":
            return None
        if replid != self.replid and (replid != self.replid2 or offset > self.second_replid_offset):
            if replid != self.replid and replid != self.replid2:
                server.log("notice", f"Partial resynchronization not accepted: Replication ID mismatch "
                                     f"(Replica asked for '{replid}', my replication IDs are '{self.replid}' "
                                     f"and '{self.replid2}')")
            else:
                server.log("notice", f"Partial resynchronization not accepted: Requested offset for second ID "
                                     f"was {offset}, but I can reply up to {self.second_replid_offset}")
            return None
        data = backlog.since(offset) if backlog is not None else None
        if data is None:
            server.log("notice", f"Unable to partial resync with replica {link.name} for lack of backlog "
                                 f"(Replica request was: {offset}).")
            return None
        link.client.kind = "replica"
        link.state = ONLINE
        link.ack_time = time.monotonic()
        link.ack_offset = offset - 1
        self.replicas[link.client.id] = link
        self.sync_partial_ok += 1
        server.log("notice", f"Partial resynchronization request from {link.name} accepted. Sending {len(data)} "
                             f"bytes of backlog starting from offset {offset}.")
        line = b"+CONTINUE %s\r\n" % self.replid.encode() if link.capa_psync2 else b"+CONTINUE\r\n"
        return line + data

    def replconf(self, client: Client, options: list[tuple[bytes, bytes]]) -> object:
        """REPLCONF <option> <value> ...: the replica describes itself, or acknowledges."""
        from server.protocol import NO_REPLY, OK

        link = self.replicas.get(client.id)
        port, ip, eof, psync2 = self._conf.get(client.id, (0, "", False, False))
        if link is not None:
            port, ip, eof, psync2 = link.listening_port, link.announced_ip, link.capa_eof, link.capa_psync2
        for name, value in options:
            option = name.lower()
            if option == b"listening-port":
                number = _int_or_none(value)
                if number is None:
                    return Error(b"ERR value is not an integer or out of range")
                port = number
            elif option == b"ip-address":
                if len(value) >= 46:  # NET_HOST_STR_LEN
                    return Error(b"ERR REPLCONF ip-address provided by replica instance is too long: %d bytes"
                                 % len(value))
                ip = value.decode("latin-1")
            elif option == b"capa":
                if value.lower() == b"eof":
                    eof = True
                elif value.lower() == b"psync2":
                    psync2 = True
            elif option == b"ack":
                acked = _int_or_none(value)
                if link is None or acked is None:
                    return NO_REPLY
                if acked > link.ack_offset:
                    link.ack_offset = acked
                link.ack_time = time.monotonic()
                if link.start_on_ack and link.state == SEND_BULK:
                    link.go_online(self.server)
                self.refresh_good_replicas()
                self._check_waiting()
                self._update_failover()
                self._check_shutdown()
                return NO_REPLY
            elif option == b"getack":
                master = self.master
                if master is not None and client is master.client:
                    master.send_ack()
                return NO_REPLY
            elif option in (b"rdb-only", b"rdb-filter-only"):
                pass
            else:
                return Error(b"ERR Unrecognized REPLCONF option: %s" % name)
        if link is not None:
            link.listening_port, link.announced_ip, link.capa_eof, link.capa_psync2 = port, ip, eof, psync2
        else:
            self._conf[client.id] = (port, ip, eof, psync2)
            if client.kind == "normal":
                client.kind = "handshake"  # so that its going away is reported here
        return OK

    def client_gone(self, client: Client) -> None:
        """A replica (or our master's) connection closed."""
        self._conf.pop(client.id, None)
        link = self.replicas.pop(client.id, None)
        if link is not None:
            link.close_file()
            self.server.log("notice", f"Connection with replica {link.name} lost.")
            if not self.replicas:
                self.no_replicas_since = time.monotonic()
            transfer = self.socket_child
            if transfer is not None and link in transfer.links:
                transfer.links.remove(link)
                if not transfer.links:
                    transfer.abandon()
        self.waiting = [entry for entry in self.waiting if entry[0] is not client]
        if client in self.shutdown_clients:
            self.shutdown_clients.remove(client)

    def disconnect_replicas(self) -> None:
        for link in list(self.replicas.values()):
            link.client.close()
            self.client_gone(link.client)

    # ------------------------------------------------------------------ full sync

    def _schedule_full_sync(self, link: ReplicaLink) -> None:
        diskless = self.config["repl-diskless-sync"] and link.capa_eof
        if diskless:
            if not self.diskless_due:
                self.diskless_due = time.monotonic() + self.config.get_int("repl-diskless-sync-delay")
                if self.config.get_int("repl-diskless-sync-delay") == 0:
                    self.diskless_due = time.monotonic()
        loop = self.server.loop
        if loop is not None:
            loop.call_soon(self.start_waiting_syncs)

    def start_waiting_syncs(self) -> None:
        """Start the snapshot for replicas waiting for one, when no other child runs."""
        waiting = [link for link in self.replicas.values() if link.state == WAIT_BGSAVE and not link.holding]
        if not waiting:
            self.diskless_due = 0.0
            return
        persistence = self.server.persistence
        if persistence.child_running():
            return  # the cron tries again when the child is done
        diskless = [link for link in waiting if link.capa_eof and self.config["repl-diskless-sync"]]
        if diskless:
            if time.monotonic() < self.diskless_due:
                most = self.config.get_int("repl-diskless-sync-max-replicas")
                if not most or len(diskless) < most:
                    return  # the delay lets more replicas join the same transfer
            self.diskless_due = 0.0
            self._start_socket_sync(diskless)
            return
        self._start_disk_sync(waiting)

    def _announce_full(self, links: list[ReplicaLink]) -> None:
        """+FULLRESYNC <replid> <offset>: the snapshot taken now matches this offset."""
        self.flush()
        if not self.is_replica:
            self.selected_db = -1  # the stream that follows starts with a SELECT
        for link in links:
            link.sync_offset = self.offset
            link.holding = True  # the stream from here on waits for the snapshot to be through
            link.pending, link.pending_size = [], 0
            link.started = time.monotonic()
            if link.psync:
                self.server.output.send(link.client, b"+FULLRESYNC %s %d\r\n" % (self.replid.encode(), self.offset))

    def _start_disk_sync(self, links: list[ReplicaLink]) -> None:
        server = self.server
        server.log("notice", "Starting BGSAVE for SYNC with target: disk")
        if not server.persistence.bgsave(self.rdb_aux()):
            for link in links:
                server.log("warning", "BGSAVE for replication failed")
                link.client.close()
            return
        self._announce_full(links)

    def rdb_aux(self) -> dict:
        """The replication fields of a snapshot for replicas: the stream's database (a replica
        passing its master's stream on is in the middle of it), ID and offset."""
        master = self.master
        stream_db = master.client.db.id if master is not None and master.client is not None else 0
        return {b"repl-stream-db": stream_db, b"repl-id": self.replid.encode(), b"repl-offset": self.offset}

    def bgsave_done(self, ok: bool) -> None:
        """A BGSAVE child finished: replicas waiting for that disk snapshot get the file."""
        waiting = [link for link in self.replicas.values()
                   if link.state == WAIT_BGSAVE and link.holding]
        if not waiting:
            return
        if not ok:
            for link in waiting:
                self.server.log("warning", "SYNC failed. BGSAVE child returned an error")
                link.client.close()
            return
        path = self.server.persistence.rdb_path
        for link in waiting:
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError as exc:
                self.server.log("warning", f"SYNC failed. Can't open/stat DB after BGSAVE: {exc.strerror}")
                link.client.close()
                continue
            size = os.fstat(fd).st_size
            link.disk_file, link.disk_left = fd, size
            link.state = SEND_BULK
            self.server.output.send(link.client, b"$%d\r\n" % size)
            self._send_file(link)
        self.start_waiting_syncs()

    def _send_file(self, link: ReplicaLink) -> None:
        """Queue the next pieces of the RDB file, as fast as the replica reads them."""
        if link.client.closed or link.disk_file < 0:
            return
        queued = 0
        while link.disk_left and link.client.output_size() < QUEUE_HIGH and queued < QUEUE_HIGH:
            chunk = os.read(link.disk_file, min(CHUNK, link.disk_left))
            if not chunk:
                break
            link.disk_left -= len(chunk)
            queued += len(chunk)
            self.server.output.send(link.client, chunk)
        if link.disk_left:
            loop = self.server.loop
            if loop is not None:
                loop.call_later(0.001 if queued else 0.01, self._send_file, link)
            return
        link.close_file()
        link.go_online(self.server)

    def _start_socket_sync(self, links: list[ReplicaLink]) -> None:
        server = self.server
        server.log("notice", "Starting BGSAVE for SYNC with target: replicas sockets")
        transfer = _SocketTransfer(self, links)
        if not transfer.start():
            for link in links:
                link.client.close()
            return
        self.socket_child = transfer
        self._announce_full(links)
        for link in links:
            link.state = SEND_BULK
            server.output.send(link.client, b"$EOF:" + transfer.mark + b"\r\n")

    def socket_child_done(self, ok: bool) -> None:
        """The diskless child exited (Persistence.reap): finish or fail its transfer."""
        transfer = self.socket_child
        if transfer is None:
            return
        transfer.child_done(ok)

    # ------------------------------------------------------------------ FAILOVER

    def failover_command(self, client: Client, args: list[bytes]) -> object:
        """FAILOVER [TO host port [FORCE]] [TIMEOUT ms] | ABORT, as Redis 7.0's failoverCommand."""
        from server.commands.args import SYNTAX_ERROR, parse_int
        from server.protocol import OK

        if len(args) == 1 and args[0].lower() == b"abort":
            if self.failover_state == "no-failover":
                return Error(b"ERR No failover in progress.")
            self.abort_failover("Failover manually aborted")
            return OK
        timeout_ms = 0
        force = False
        host: str | None = None
        port = 0
        i = 0
        while i < len(args):
            opt = args[i].lower()
            if opt == b"timeout" and i + 1 < len(args) and timeout_ms == 0:
                timeout_ms = parse_int(args[i + 1])
                if timeout_ms <= 0:
                    return Error(b"ERR FAILOVER timeout must be greater than 0")
                i += 2
            elif opt == b"to" and i + 2 < len(args) and host is None:
                port = parse_int(args[i + 2])
                host = args[i + 1].decode("utf-8", "surrogateescape")
                i += 3
            elif opt == b"force" and not force:
                force = True
                i += 1
            else:
                raise SYNTAX_ERROR
        if self.failover_state != "no-failover":
            return Error(b"ERR FAILOVER already in progress.")
        if self.is_replica:
            return Error(b"ERR FAILOVER is not valid when server is a replica.")
        if not self.replicas:
            return Error(b"ERR FAILOVER requires connected replicas.")
        if force and (not timeout_ms or host is None):
            return Error(b"ERR FAILOVER with force option requires both a timeout and target HOST and IP.")
        if host is not None:
            target = self._find_replica(host, port)
            if target is None:
                return Error(b"ERR FAILOVER target HOST and PORT is not a replica.")
            if target.state != ONLINE:
                return Error(b"ERR FAILOVER target replica is not online.")
            self.failover_target = (host, port)
            self.server.log("notice", f"FAILOVER requested to {host}:{port}.")
        else:
            self.failover_target = None
            self.server.log("notice", "FAILOVER requested to any replica.")
        self.failover_end = time.monotonic() + timeout_ms / 1000.0 if timeout_ms else 0.0
        self.failover_force = force
        self.failover_state = "waiting-for-sync"
        self.server.pause(10 ** 9, "write")
        return OK

    def _find_replica(self, host: str, port: int) -> ReplicaLink | None:
        for link in self.replicas.values():
            if link.ip.lower() == host.lower() and link.listening_port == port:
                return link
        return None

    def abort_failover(self, reason: str) -> None:
        if self.failover_state == "no-failover":
            return
        target = self.failover_target
        if target is not None:
            self.server.log("notice", f"FAILOVER to {target[0]}:{target[1]} aborted: {reason}")
        else:
            self.server.log("notice", f"FAILOVER to any replica aborted: {reason}")
        if self.failover_state == "failover-in-progress":
            self.become_master()
        self.clear_failover()

    def clear_failover(self) -> None:
        was = self.failover_state
        self.failover_state = "no-failover"
        self.failover_target = None
        self.failover_end = 0.0
        self.failover_force = False
        if was != "no-failover":
            self.server.unpause()

    def _update_failover(self) -> None:
        """Redis's updateFailoverStatus: hand over once the target has acknowledged everything."""
        if self.failover_state != "waiting-for-sync":
            return
        if self.failover_end and time.monotonic() >= self.failover_end:
            if self.failover_force and self.failover_target is not None:
                host, port = self.failover_target
                self.server.log("notice", f"FAILOVER to {host}:{port} time out exceeded, failing over.")
                self.failover_state = "failover-in-progress"
                self.replicate_from(host, port)
            else:
                self.abort_failover("Replica never caught up before timeout")
            return
        target: ReplicaLink | None = None
        if self.failover_target is not None:
            target = self._find_replica(*self.failover_target)
        else:
            for link in self.replicas.values():
                if link.ack_offset == self.offset:
                    target = link
                    self.failover_target = (link.ip, link.listening_port)
                    break
        if target is not None and target.ack_offset == self.offset and self.failover_target is not None:
            host, port = self.failover_target
            self.failover_state = "failover-in-progress"
            self.server.log("notice", f"Failover target {host}:{port} is synced, failing over.")
            self.replicate_from(host, port)

    def psync_failover(self, client: Client, replid: bytes) -> Error | None:
        """PSYNC ... FAILOVER from our master: it hands us the master role (if it is ours)."""
        if not self.is_replica:
            return Error(b"ERR PSYNC FAILOVER can't be sent to a master.")
        if replid.decode("latin-1") != self.replid:
            return Error(b"ERR PSYNC FAILOVER replid must match my replid.")
        self.become_master()
        self.server.log("notice", f"MASTER MODE enabled (failover request from '{client.info_line()}')")
        return None

    # ------------------------------------------------------------------ WAIT, min-replicas, checks

    def acked(self, offset: int) -> int:
        """How many replicas acknowledged the stream up to ``offset``."""
        return sum(1 for link in self.replicas.values() if link.state == ONLINE and link.ack_offset >= offset)

    def wait(self, client: Client, wanted: int, timeout_ms: int) -> object:
        from server.client import Blocked

        if self.is_replica:
            return Error(b"ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 "
                         b"if a replica is configured to be writable (which is not the default) writes to replicas "
                         b"are just local and are not propagated.")
        offset = client.woff  # its own last write, not the stream's end (Redis's c->woff)
        count = self.acked(offset)
        if count >= wanted or client.executing_multi:
            return count
        self.waiting.append((client, offset, wanted))
        self.request_acks()

        def on_timeout(ctx: Client) -> object:
            self.waiting = [entry for entry in self.waiting if entry[0] is not ctx]
            return self.acked(offset)

        return Blocked([], timeout_ms / 1000.0, lambda ctx: Blocked([], 0, lambda c: None, on_timeout), on_timeout)

    def _check_waiting(self) -> None:
        if not self.waiting:
            return
        still = []
        for client, offset, wanted in self.waiting:
            count = self.acked(offset)
            if count >= wanted:
                self._finish_wait(client, count)
            else:
                still.append((client, offset, wanted))
        self.waiting = still

    def _finish_wait(self, client: Client, count: object) -> None:
        if client.blocked is not None and not client.closed:
            self.server.blocking.finish(client, count)

    # ------------------------------------------------------------------ SHUTDOWN

    def _lagging(self) -> list[ReplicaLink]:
        """Replicas that have not acknowledged the whole stream (Redis's isReadyToShutdown)."""
        self.flush()
        return [link for link in self.replicas.values() if link.ack_offset != self.offset]

    def begin_shutdown(self, save: bool | None, force: bool, now: bool, by_signal: bool = False) -> bool:
        """Redis 7.0's prepareForShutdown: True to finish at once; False when lagging replicas
        get up to ``shutdown-timeout`` seconds to catch up (writes paused, GETACK sent), after
        which the cron (or the ACK that completes them) calls ``finish_shutdown``."""
        timeout = self.config.get_int("shutdown-timeout")
        self.shutdown_options = (save, force)
        self.shutdown_by_signal = by_signal
        if now or not timeout or not self._lagging():
            return True
        server = self.server
        self.shutdown_deadline = time.monotonic() + timeout
        if server.pause_mode is None:
            self.request_acks()
            server.pause(10 ** 9, "write")
            self.shutdown_paused = True
        server.log("notice", "Waiting for replicas before shutting down.")
        return False

    @property
    def shutting_down(self) -> bool:
        return self.shutdown_deadline != 0.0

    def wait_for_shutdown(self, client: Client) -> object:
        """Block the SHUTDOWN caller until the shutdown ends (the server exits, or it fails)."""
        from server.client import Blocked

        self.shutdown_clients.append(client)

        def keep(ctx: Client) -> object:
            return blocked

        blocked = Blocked([], 0, keep, keep)
        return blocked

    def _check_shutdown(self) -> None:
        if self.shutdown_deadline and (time.monotonic() >= self.shutdown_deadline or not self._lagging()):
            self.finish_shutdown()

    def finish_shutdown(self) -> bool:
        """Redis's finishShutdown: log the replicas left lagging, save (Persistence.prepare_shutdown),
        stop the loop. False (and the server runs on) when the save failed without FORCE."""
        server = self.server
        self.shutdown_deadline = 0.0
        lagging = self._lagging()
        now = time.monotonic()
        for link in lagging:
            lag = int(now - link.ack_time) if link.state == ONLINE else 0
            server.log("warning", f"Lagging replica {link.name} reported offset {self.offset - link.ack_offset} "
                                  f"behind master, lag={lag}, state={link.state}.")
        if self.replicas:
            server.log("notice", f"{len(self.replicas) - len(lagging)} of {len(self.replicas)} replicas are in "
                                 f"sync when shutting down.")
        if not self.shutdown_by_signal:
            save, force = self.shutdown_options
            if not server.persistence.prepare_shutdown(save, force):
                server.log("warning", "Errors trying to shut down the server. Check the logs for more information.")
                self.cancel_shutdown()
                return False
            server.persistence.shutdown_done = True
        if server.shutdown_requested is not None:
            server.shutdown_requested()
        return True

    def cancel_shutdown(self) -> None:
        """The wait ends without exiting (SHUTDOWN ABORT, a failed save): writes resume and the
        blocked SHUTDOWN callers get Redis's error."""
        self.shutdown_deadline = 0.0
        self.shutdown_by_signal = False
        if self.shutdown_paused:
            self.shutdown_paused = False
            self.server.unpause()
        clients, self.shutdown_clients = self.shutdown_clients, []
        for client in clients:
            self._finish_wait(client, Error(b"ERR Errors trying to SHUTDOWN. Check logs."))

    def shutdown_info(self) -> list[tuple[str, object]]:
        """INFO server's shutdown_in_milliseconds, while a shutdown waits."""
        if not self.shutdown_deadline:
            return []
        return [("shutdown_in_milliseconds", max(0, int((self.shutdown_deadline - time.monotonic()) * 1000)))]

    def _update_gate(self, *_changed: object) -> None:
        self.gate = self.is_replica or self.config.get_int("min-replicas-to-write") > 0
        self.server.standing_changed()

    def refuse(self, client: Client, cmd: Command) -> Error | None:
        """Dispatch's replication checks (Redis's order): NOREPLICAS, READONLY, MASTERDOWN (LOADING
        is dispatch's own, from ``persistence.loading``, which a replica sets while it loads)."""
        if client.kind == "master":
            return None
        config = self.config
        if cmd.is_write:
            if (not self.is_replica and config.get_int("min-replicas-to-write")
                    and config.get_int("min-replicas-max-lag")
                    and self.good_replicas < config.get_int("min-replicas-to-write")):
                return NOREPLICAS
            if self.is_replica and config["replica-read-only"]:
                return READONLY
        if (self.is_replica and not config["replica-serve-stale-data"] and "stale" not in cmd.flags
                and (self.master is None or not self.master.connected)):
            return MASTERDOWN
        return None

    # ------------------------------------------------------------------ periodic work

    def cron(self) -> None:
        """Redis's replicationCron, once a second (Server.cron calls this at every tick)."""
        now = time.monotonic()
        self._check_shutdown()
        if self.failover_state == "waiting-for-sync":
            self._update_failover()
        if self.diskless_due and now >= self.diskless_due:
            self.start_waiting_syncs()
        if now - self.last_cron < 1.0:
            return
        self.last_cron = now
        self.cron_loops += 1
        server = self.server
        config = self.config
        master = self.master
        if master is not None:
            master.cron(now)
        timeout = config.get_int("repl-timeout")
        if self.replicas:
            if (not self.is_replica and server.pause_mode is None
                    and self.cron_loops % config.get_int("repl-ping-replica-period") == 0):
                self.feed(PING)
            for link in list(self.replicas.values()):
                if link.state == WAIT_BGSAVE:
                    server.output.send(link.client, b"\n")  # keeps the replica's link alive meanwhile
                elif link.state == ONLINE and now - link.ack_time > timeout:
                    server.log("warning", f"Disconnecting timedout replica (streaming sync): {link.name}")
                    link.client.close()
            self.start_waiting_syncs()
        elif self.backlog is not None and not self.is_replica:
            ttl = config.get_int("repl-backlog-ttl")
            if ttl and now - self.no_replicas_since > ttl:
                self.backlog = None
                server.effects.unregister(self)
                self.replid = new_replid()
                self.replid2, self.second_replid_offset = NULL_REPLID, -1
                server.log("notice", f"Replication backlog freed after {ttl} seconds without connected replicas.")
        self.refresh_good_replicas()

    def refresh_good_replicas(self) -> None:
        """min-replicas-to-write counts the online replicas heard from within min-replicas-max-lag."""
        if not self.config.get_int("min-replicas-to-write"):
            return
        max_lag = self.config.get_int("min-replicas-max-lag")
        now = time.monotonic()
        self.good_replicas = sum(1 for link in self.replicas.values()
                                 if link.state == ONLINE and now - link.ack_time <= max_lag)

    # ------------------------------------------------------------------ introspection

    def role_reply(self) -> list:
        """ROLE: ["master", offset, replicas] or ["slave", host, port, state, offset]."""
        if self.is_replica:
            master = self.master
            state = master.role_state() if master is not None else "connect"
            offset = master.processed if master is not None and master.connected else -1
            return [b"slave", self.master_host.encode(), self.master_port, state.encode(), offset]
        return [b"master", self.offset, [
            [link.ip.encode(), b"%d" % link.listening_port, b"%d" % link.ack_offset]
            for link in self.replicas.values() if link.state == ONLINE
        ]]

    def info_fields(self) -> list[tuple[str, object]]:
        """INFO replication, field by field as Redis 7.0 prints it."""
        fields: list[tuple[str, object]] = []
        now = time.monotonic()
        master = self.master
        if self.is_replica:
            connected = master is not None and master.connected
            fields += [
                ("role", "slave"),
                ("master_host", self.master_host),
                ("master_port", self.master_port),
                ("master_link_status", "up" if connected else "down"),
                ("master_last_io_seconds_ago", int(now - master.last_io) if connected and master else -1),
                ("master_sync_in_progress", 1 if master is not None and master.transferring else 0),
                ("slave_read_repl_offset", master.processed if master is not None else 0),
                ("slave_repl_offset", master.processed if master is not None else 0),
            ]
            if master is not None and master.transferring:
                total = master.bulk_size
                read = master.bulk_read
                fields += [
                    ("master_sync_total_bytes", total),
                    ("master_sync_read_bytes", read),
                    ("master_sync_left_bytes", total - read if total >= 0 else -1),
                    ("master_sync_perc", "%.2f" % (read * 100 / total if total > 0 else 0)),
                    ("master_sync_last_io_seconds_ago", int(now - master.last_io)),
                ]
            if not connected:
                since = master.down_since if master is not None else now
                fields.append(("master_link_down_since_seconds", int(now - since) if since else -1))
            fields += [
                ("slave_priority", self.config.get_int("replica-priority")),
                ("slave_read_only", 1 if self.config["replica-read-only"] else 0),
                ("replica_announced", 1 if self.config["replica-announced"] else 0),
            ]
        else:
            fields.append(("role", "master"))
        fields.append(("connected_slaves", len(self.replicas)))
        if (not self.is_replica and self.config.get_int("min-replicas-to-write")
                and self.config.get_int("min-replicas-max-lag")):
            fields.append(("min_slaves_good_slaves", self.good_replicas))
        for index, link in enumerate(self.replicas.values()):
            fields.append((f"slave{index}", f"ip={link.ip},port={link.listening_port},state={link.state},"
                                            f"offset={link.ack_offset},lag={link.lag()}"))
        backlog = self.backlog
        fields += [
            ("master_failover_state", self.failover_state),
            ("master_replid", self.replid),
            ("master_replid2", self.replid2),
            ("master_repl_offset", self.offset),
            ("second_repl_offset", self.second_replid_offset),
            ("repl_backlog_active", 1 if backlog is not None else 0),
            ("repl_backlog_size", self.config.get_int("repl-backlog-size")),
            ("repl_backlog_first_byte_offset", backlog.first_byte_offset if backlog is not None else 0),
            ("repl_backlog_histlen", backlog.histlen if backlog is not None else 0),
        ]
        return fields


class _SocketTransfer:
    """A diskless full sync: a forked child writes the RDB into a pipe, the parent forwards it."""

    def __init__(self, replication: Replication, links: list[ReplicaLink]) -> None:
        self.replication = replication
        self.links = list(links)
        self.mark = os.urandom(EOF_MARK_LEN // 2).hex().encode()
        self.fd = -1
        self.eof = False
        self.child_ok: bool | None = None
        self.reading = False
        self.finished = False

    def start(self) -> bool:
        server = self.replication.server
        persistence = server.persistence
        read_fd, write_fd = os.pipe()
        databases = persistence.databases()
        functions = persistence.functions()
        aux = self.replication.rdb_aux()

        def work() -> None:
            os.close(read_fd)
            with os.fdopen(write_fd, "wb", buffering=1 << 20) as fh:
                rdb.write_rdb(fh, databases, aux=aux, functions=functions)

        if not persistence.fork_for_replication(work):
            os.close(read_fd)
            os.close(write_fd)
            return False
        os.close(write_fd)
        os.set_blocking(read_fd, False)
        self.fd = read_fd
        self._resume()
        return True

    def _resume(self) -> None:
        loop = self.replication.server.loop
        if loop is not None and not self.reading and self.fd >= 0:
            loop.add_reader(self.fd, self._readable)
            self.reading = True

    def _pause(self) -> None:
        loop = self.replication.server.loop
        if loop is not None and self.reading:
            loop.remove_reader(self.fd)
            self.reading = False

    def _readable(self) -> None:
        server = self.replication.server
        send = server.output.send
        queued = 0
        while queued < QUEUE_HIGH:
            try:
                chunk = os.read(self.fd, CHUNK)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            if not chunk:
                self._pause()
                os.close(self.fd)
                self.fd = -1
                self.eof = True
                server.persistence.reap()
                self._maybe_finish()
                return
            queued += len(chunk)
            for link in self.links:
                send(link.client, chunk)
        if any(link.client.output_size() >= QUEUE_HIGH for link in self.links):
            self._pause()
            loop = server.loop
            if loop is not None:
                loop.call_later(0.005, self._resume)

    def child_done(self, ok: bool) -> None:
        self.child_ok = ok
        self._maybe_finish()

    def _maybe_finish(self) -> None:
        replication = self.replication
        server = replication.server
        if self.child_ok is None or self.finished:
            return
        if self.child_ok is False:
            self.finished = True
            server.log("warning", "Diskless rdb transfer, last replica dropped, killing fork child."
                       if not self.links else "SYNC failed. BGSAVE child returned an error")
            self._close()
            for link in self.links:
                link.client.close()
            replication.socket_child = None
            return
        if not self.eof:
            return
        self.finished = True  # (both the pipe's end and the child's exit lead here: once)
        for link in self.links:
            server.output.send(link.client, self.mark)
            link.start_on_ack = True
            server.log("notice", f"Streamed RDB transfer with replica {link.name} succeeded (socket). "
                                 f"Waiting for REPLCONF ACK from replica to enable streaming")
        replication.socket_child = None
        replication.start_waiting_syncs()

    def _close(self) -> None:
        self._pause()
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def abandon(self) -> None:
        """Every replica of this transfer went away: stop the child."""
        server = self.replication.server
        server.log("warning", "Diskless rdb transfer, last replica dropped, killing fork child.")
        self._close()
        self.replication.socket_child = None
        server.persistence.kill_child()


# hiredis's stub declares a one-element tuple; it takes any number of arguments.
pack_command = cast("Callable[[tuple[bytes, ...]], bytes]", _hiredis_pack)


def _encode(argv: list[bytes]) -> bytes:
    """A command as RESP, as ``encode_command`` writes it; hiredis's packer (in C) when it takes the arguments."""
    try:
        return pack_command(tuple(argv))
    except TypeError:  # (an argument hiredis does not take, such as a bytearray)
        return encode_command(argv)


def _int_or_none(value: bytes) -> int | None:
    from server.commands.args import to_int

    return to_int(value)
