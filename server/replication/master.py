"""The master's side of one attached replica: its state, its acknowledgements, its full sync.

A replica connection becomes a ``ReplicaLink`` when it sends SYNC or PSYNC. A link
that can continue from the backlog is online at once. Otherwise it waits for a
snapshot (``wait_bgsave``): the snapshot is taken by a forked child, either into
the RDB file (disk sync: the file is then sent as ``$<length>`` and its bytes) or
straight into a pipe the parent forwards (diskless sync: ``$EOF:<40 random
bytes>``, the data, the same 40 bytes). Meanwhile the replication stream that
follows the snapshot collects in ``pending``; it goes out once the snapshot is
through (after the disk form; after the replica's first ACK in the diskless form,
since a replica reading up to the end mark must not find stream bytes after it).
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from server.client import Client
    from server.instance import Server

# Link states, as INFO's slaveN lines name them.
WAIT_BGSAVE = "wait_bgsave"
SEND_BULK = "send_bulk"
ONLINE = "online"

CHUNK = 256 * 1024  # bytes of snapshot read and queued at once
QUEUE_HIGH = 2 * 1024 * 1024  # stop queueing snapshot bytes while the socket holds this much


class ReplicaLink:
    """One replica connected to this server."""

    __slots__ = ("client", "state", "capa_eof", "capa_psync2", "listening_port", "announced_ip", "ack_offset",
                 "ack_time", "pending", "pending_size", "start_on_ack", "sync_offset", "psync", "disk_file",
                 "disk_left", "started", "holding")

    def __init__(self, client: Client) -> None:
        self.client = client
        self.state = WAIT_BGSAVE
        self.capa_eof = False
        self.capa_psync2 = False
        self.listening_port = 0
        self.announced_ip = ""
        self.ack_offset = 0
        self.ack_time = time.monotonic()
        # The stream that follows the snapshot, held until the snapshot is through.
        self.pending: list[bytes] = []
        self.pending_size = 0
        self.start_on_ack = False  # diskless: the stream starts with the replica's first ACK
        self.sync_offset = 0  # the offset announced with +FULLRESYNC
        self.psync = True  # False for the old SYNC (no +FULLRESYNC line)
        self.disk_file = -1  # the descriptor of the RDB file being sent (disk sync)
        self.disk_left = 0
        self.started = 0.0
        self.holding = False  # the snapshot is being taken or sent: stream bytes go to ``pending``

    @property
    def ip(self) -> str:
        if self.announced_ip:
            return self.announced_ip
        addr = self.client.addr
        return addr.rsplit(":", 1)[0] if ":" in addr else addr

    @property
    def name(self) -> str:
        """How logs name the replica: its address and listening port (Redis's replicationGetSlaveName)."""
        return f"{self.ip}:{self.listening_port}" if self.listening_port else self.client.addr

    def lag(self) -> int:
        return int(time.monotonic() - self.ack_time)

    def hold(self, data: bytes) -> None:
        """Stream bytes that follow the snapshot: kept until the snapshot is through."""
        self.pending.append(data)
        self.pending_size += len(data)

    def go_online(self, server: Server) -> None:
        """The snapshot is through: send what accumulated meanwhile, then stream live."""
        server.replication.flush()
        self.state = ONLINE
        self.start_on_ack = False
        self.holding = False
        self.ack_time = time.monotonic()
        pending, self.pending = self.pending, []
        self.pending_size = 0
        if pending:
            server.output.send(self.client, b"".join(pending))
        server.log("notice", f"Synchronization with replica {self.name} succeeded")

    def close_file(self) -> None:
        fd, self.disk_file = self.disk_file, -1
        if fd >= 0:
            try:
                os.close(fd)
            except OSError:
                pass
