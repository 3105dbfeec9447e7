"""Per-connection state: what a command may ask about the client that sent it.

A ``Client`` is the ``ctx`` every command receives. It holds the selected
database, the protocol version, the name, the user, the MULTI queue, the
WATCHed keys, the subscriptions and the blocking state. It writes nothing to a
socket itself: replies go through ``send``, which the network layer supplies.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from server.instance import Server
    from server.keyspace import Database
    from server.tracking import TrackingState


class Blocked:
    """What a command returns when it must wait (BLPOP on an empty list).

    ``retry`` is called again whenever one of ``keys`` becomes ready; it returns
    the reply, or this ``Blocked`` itself to keep waiting. ``on_timeout`` gives the reply sent
    when ``timeout`` (seconds, 0 = forever) runs out.
    """

    __slots__ = ("keys", "timeout", "retry", "on_timeout", "handle", "since", "wants_missing", "argv")

    def __init__(
        self,
        keys: list[bytes],
        timeout: float,
        retry: Callable[[Client], object],
        on_timeout: Callable[[Client], object],
    ):
        self.keys = keys
        self.timeout = timeout
        self.retry = retry
        self.on_timeout = on_timeout
        self.handle: asyncio.TimerHandle | None = None
        self.since = time.monotonic()
        # Retried even when the key is gone (XREADGROUP answers an error when its stream is deleted).
        self.wants_missing = False
        self.argv: list[bytes] = []  # the command that blocked (its effects are derived from it)


class Client:
    """One connected client."""

    # Declared fields only: a slot is read faster than an instance-dict entry (this object is
    # read on every request), and a misspelt attribute fails at once instead of being added.
    __slots__ = (
        "server", "id", "addr", "laddr", "fd", "tls", "db", "resp", "name", "user", "authenticated",
        "created", "last_interaction", "last_command", "argv", "tracking", "tracking_pending", "in_multi",
        "executing_multi", "multi_queue", "multi_error", "asking", "readonly", "propagate_as", "woff",
        "watched", "watch_dirty", "channels", "patterns", "shard_channels", "blocked", "pending",
        "pending_error", "no_evict", "monitor", "close_after_reply", "closed", "reply_off", "skip_next",
        "skip_this", "postponed", "killed_reason", "kind", "send", "close", "resume", "output_size",
        "input_size", "abort", "soft_limit_since", "outbuf", "fast_stamp",
    )

    def __init__(self, server: Server, client_id: int, addr: str = "", laddr: str = "", fd: int = -1):
        self.server = server
        self.id = client_id
        self.addr = addr
        self.laddr = laddr
        self.fd = fd
        self.tls = False  # connected through the TLS listener
        self.db: Database = server.keyspace.dbs[0]
        self.resp = 2
        self.name = b""
        self.user = "default"
        self.authenticated = not server.requires_auth()
        self.created = time.time()
        self.last_interaction = time.monotonic()
        self.last_command = b"NULL"
        self.argv: list[bytes] = []
        self.tracking: TrackingState | None = None  # CLIENT TRACKING settings while on
        self.tracking_pending: list[bytes | None] = []  # own changes to announce after the reply  # the request running now, as sent (argv[0] in the client's spelling)
        # Transactions.
        self.in_multi = False
        self.executing_multi = False  # inside EXEC: blocking commands must not block
        self.multi_queue: list[tuple] = []
        self.multi_error = False
        # Cluster mode: ASKING (the next command may use an importing slot), READONLY (reads
        # served by a replica of the slot's master).
        self.asking = False
        self.readonly = False
        # What the running command did, when its argv does not say it (server/effects.py);
        # read and cleared by the effects pipeline.
        self.propagate_as: list[list[bytes]] | None = None
        self.woff = 0  # the replication offset after this client's last write (Redis's c->woff, for WAIT)
        self.watched: set[tuple[int, bytes]] = set()
        self.watch_dirty = False
        # Pub/sub.
        self.channels: set[bytes] = set()
        self.patterns: set[bytes] = set()
        self.shard_channels: set[bytes] = set()
        # Blocking.
        self.blocked: Blocked | None = None
        self.pending: list[list[bytes]] = []  # frames read while blocked
        self.pending_error: str | None = None  # a protocol error that follows them
        self.no_evict = False
        self.monitor = False
        self.close_after_reply = False
        self.closed = False
        # CLIENT REPLY: OFF mutes every reply; SKIP mutes the reply to the command after it.
        self.reply_off = False
        self.skip_next = False  # CLIENT REPLY SKIP just ran
        self.skip_this = False  # the reply to the command running now is muted
        self.postponed = False  # its requests wait for CLIENT PAUSE to end
        self.killed_reason = ""
        # normal / replica / master (the link we replicate from) / handshake (REPLCONF before
        # PSYNC): output-buffer limits, CLIENT LIST flags, replication's disconnect handling.
        self.kind = "normal"
        # Filled in by the network layer.
        self.send: Callable[[bytes], None] = lambda data: None
        self.close: Callable[[], None] = lambda: None
        self.resume: Callable[[], None] = lambda: None
        self.output_size: Callable[[], int] = lambda: 0
        self.input_size: Callable[[], int] = lambda: 0
        self.abort: Callable[[], None] = lambda: None  # close at once, dropping unsent output
        self.soft_limit_since: float | None = None
        # Output queued during this loop turn and written at its end, in order: one write
        # per client, not per message. Only ``server.output`` (server/output.py) touches it.
        self.outbuf: list[bytes] = []
        # ``server.fast_stamp`` when ``dispatch.fast_path_open`` last found this client open (-1: not).
        self.fast_stamp = -1

    @property
    def resp3(self) -> bool:
        return self.resp == 3

    @property
    def subscriptions(self) -> int:
        return len(self.channels) + len(self.patterns) + len(self.shard_channels)

    def reply_muted(self) -> bool:
        """Called once a command has its reply: is that reply muted by CLIENT REPLY?

        A pending SKIP moves on to the next command, as Redis's resetClient does.
        """
        muted = self.reply_off or self.skip_this
        self.skip_this = self.skip_next
        self.skip_next = False
        return muted

    def push(self, value: object) -> None:
        """Queue an out-of-band reply; it goes out at the end of this loop turn, in order."""
        self.server.output.push(self, value)

    def send_push(self, data: bytes) -> None:
        """``push`` for bytes already encoded for this client's protocol."""
        self.server.output.send(self, data)

    def select(self, index: int) -> None:
        self.db = self.server.keyspace.dbs[index]

    def flags(self) -> str:
        """The ``flags=`` field of CLIENT LIST, letters in Redis 7.0's order."""
        out = ""
        if self.monitor:
            out += "O"
        elif self.kind == "replica":
            out += "S"
        if self.kind == "master":
            out += "M"
        if self.subscriptions:
            out += "P"
        if self.in_multi:
            out += "x"
        if self.blocked is not None:
            out += "b"
        tracking = self.tracking
        if tracking is not None:
            out += "t"
            if tracking.broken_redirect:
                out += "R"
            if tracking.bcast:
                out += "B"
        if self.watch_dirty:
            out += "d"
        if self.close_after_reply:
            out += "c"
        if self.readonly:
            out += "r"
        if self.no_evict:
            out += "e"
        return out or "N"

    def info_line(self) -> str:
        """One line of CLIENT LIST / CLIENT INFO, with Redis 7.0's fields."""
        now = time.monotonic()
        age = int(time.time() - self.created)
        idle = int(now - self.last_interaction)
        multi = len(self.multi_queue) if self.in_multi else -1
        omem = self.output_size()
        qbuf = self.input_size()
        name = self.name.decode("utf-8", "replace")
        events = "r"
        if omem:
            events += "w"
        return (
            f"id={self.id} addr={self.addr} laddr={self.laddr} fd={self.fd} name={name} "
            f"age={age} idle={idle} flags={self.flags()} db={self.db.id} sub={len(self.channels)} "
            f"psub={len(self.patterns)} ssub={len(self.shard_channels)} multi={multi} qbuf={qbuf} "
            f"qbuf-free={max(0, 16384 - qbuf) if qbuf else 0} argv-mem=0 multi-mem=0 "
            f"rbs=16384 rbp=16384 obl=0 oll=0 omem={omem} tot-mem={22000 + omem + qbuf} "
            f"events={events} cmd={self.last_command.decode('utf-8', 'replace')} user={self.user} "
            f"redir={self.tracking.redirect if self.tracking is not None else -1} resp={self.resp}"
        )
