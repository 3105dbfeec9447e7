"""The running server: settings, databases, clients, statistics and the periodic cron.

``Server`` ties the parts together without knowing their insides: the
keyspace holds data, the network layer holds sockets, commands hold meaning.
Other parts plug in through a few attributes that default to "off":
``acl_check`` (ACL), ``maxmemory_check`` (eviction), ``propagate`` (AOF),
``monitors`` (MONITOR), ``pubsub`` (channels and keyspace notifications).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from server import __version__
from server.blocking import Blocking
from server.client import Client
from server.config import Config
from server.keyspace import Keyspace
from server.redact import redacted
from server.tracking import Tracking

if TYPE_CHECKING:
    from server.command import Command
    from server.scripting.engine import Engine

LOG_LEVELS = {"debug": 0, "verbose": 1, "notice": 2, "warning": 3}
LOG_MARKS = {"debug": ".", "verbose": "-", "notice": "*", "warning": "#"}


class Stats:
    """Counters INFO stats reports, and the instantaneous ops/sec samples."""

    def __init__(self) -> None:
        self.connections = 0
        self.rejected_connections = 0
        self.net_input = 0
        self.net_output = 0
        self.unknown_or_bad = 0
        self.pubsub_messages = 0
        self.error_replies = 0
        self.errors: dict[str, int] = {}  # INFO errorstats: error code → count
        self.samples: dict[str, deque] = {"ops": deque(maxlen=16), "in": deque(maxlen=16), "out": deque(maxlen=16)}
        self._last: dict[str, tuple[float, int]] = {}

    @property
    def commands(self) -> int:
        """Commands processed: the sum of every command's call counter (kept by dispatch)."""
        from server.command import TABLE

        total = 0
        for cmd in TABLE.values():
            total += cmd.calls
            for sub in cmd.subcommands.values():
                total += sub.calls
        return total

    def sample(self) -> None:
        """Redis's trackInstantaneousMetric: a rate per second from the last 16 samples."""
        now = time.monotonic()
        for name, value in (("ops", self.commands), ("in", self.net_input), ("out", self.net_output)):
            last = self._last.get(name)
            if last is not None and now > last[0]:
                self.samples[name].append((value - last[1]) / (now - last[0]))
            self._last[name] = (now, value)

    def rate(self, name: str) -> float:
        samples = self.samples[name]
        return sum(samples) / len(samples) if samples else 0.0

    def count_error(self, message: bytes) -> None:
        self.error_replies += 1
        code = message.split(b" ", 1)[0].decode("utf-8", "replace")
        self.errors[code] = self.errors.get(code, 0) + 1

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]


class SlowLog:
    """SLOWLOG: the most recent commands that took longer than the threshold."""

    def __init__(self) -> None:
        self.entries: deque = deque()
        self.next_id = 0
        self.max_len = 128

    def add(self, client: Client, argv: list[bytes], duration_us: int) -> None:
        args = []
        shown = redacted(argv)  # no passwords kept, as in Redis
        if len(shown) > 32:
            shown = shown[:31]
        for arg in shown:
            if len(arg) > 128:
                arg = arg[:128] + b"... (%d more bytes)" % (len(arg) - 128)
            args.append(arg)
        if len(argv) > 32:
            args.append(b"... (%d more arguments)" % (len(argv) - 31))
        entry = [self.next_id, int(time.time()), duration_us, args, client.addr.encode(), client.name]
        self.next_id += 1
        self.entries.appendleft(entry)
        while len(self.entries) > self.max_len:
            self.entries.pop()


class Server:
    def __init__(self, config: Config | None = None):
        self.config = config or Config()
        self.keyspace = Keyspace(self.config["databases"])  # type: ignore[arg-type]
        self.clients: dict[int, Client] = {}
        self.next_client_id = 1
        self.start_time = time.time()
        self.start_monotonic = time.monotonic()
        self.stats = Stats()
        self.slowlog = SlowLog()
        self.blocking = Blocking(self)
        self.tracking = Tracking(self)  # client-side caching (CLIENT TRACKING)
        # Group commit (appendfsync always): while a list, replies wait here, as (deliver, data),
        # until the AOF is fsynced at the end of the loop turn (Persistence.group_commit).
        self.held_replies: list[tuple[Callable[[bytes | None], None], bytes | None]] | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.run_id = os.urandom(20).hex()
        self.tcp_port = 0
        self.version = __version__
        self.shutdown_requested: Callable[[], None] | None = None
        self.last_save = int(time.time())
        # Optional parts, off until something plugs in.
        self.acl_check: Callable[[Client, Command, list[bytes]], object] | None = None
        self.maxmemory_check: Callable[[Client, list[bytes]], object] | None = None
        # The error write commands (and PING) get while persistence is failing (MISCONF), else None.
        self.write_block: object | None = None
        self.propagate: Callable[[Client, Command, list[bytes]], None] | None = None
        self.monitors: list[Client] = []
        self.pubsub = None
        self.persistence = None
        self.scripting: Engine | None = None  # Lua scripting (server/scripting), set up at start-up
        # Persistence hands it the function libraries an RDB file holds (FUNCTION LOAD REPLACE each).
        self.load_function_libraries: Callable[[list[bytes]], None] | None = None
        self.cron_hooks: list[Callable[[], None]] = []
        self.info_sections: dict[str, Callable[[], list[tuple[str, object]]]] = {}
        self.disconnect_hooks: list[Callable[[Client], None]] = []
        self.pending_flush: list[Client] = []  # clients with queued output (Client.outbuf)
        self.output_epoch = 0  # moves on whenever output is queued or written (pub/sub batches)
        self.slowlog_threshold = 10000
        # CLIENT PAUSE: "write" or "all" until ``pause_end`` (time.monotonic()); None when off.
        self.pause_mode: str | None = None
        self.pause_end = 0.0
        self._pause_timer: asyncio.TimerHandle | None = None
        self.postponed: list[Client] = []  # clients whose requests wait for the pause to end
        self._bind_config()

    # -- configuration -------------------------------------------------------

    def _bind_config(self) -> None:
        cfg = self.config

        def set_threshold(value: object) -> None:
            self.slowlog_threshold = value  # type: ignore[assignment]

        def set_slowlog_len(value: object) -> None:
            self.slowlog.max_len = value  # type: ignore[assignment]
            while len(self.slowlog.entries) > self.slowlog.max_len:
                self.slowlog.entries.pop()

        def set_notify(value: object) -> None:
            self.keyspace.notify_flags = value  # type: ignore[assignment]

        cfg.on_change("slowlog-log-slower-than", set_threshold)
        cfg.on_change("slowlog-max-len", set_slowlog_len)
        cfg.on_change("notify-keyspace-events", set_notify)
        set_threshold(cfg["slowlog-log-slower-than"])
        set_slowlog_len(cfg["slowlog-max-len"])
        set_notify(cfg["notify-keyspace-events"])

    def requires_auth(self) -> bool:
        return bool(self.config["requirepass"])

    def default_user_has_password(self) -> bool:
        """Protected mode asks this; the ACL module replaces it when it owns users."""
        return bool(self.config["requirepass"])

    # -- logging -------------------------------------------------------------

    def log(self, level: str, message: str) -> None:
        """A log line in redis-server's format: ``pid:M 24 Nov 2026 06:00:00.123 * text``."""
        if LOG_LEVELS[level] < LOG_LEVELS.get(self.config["loglevel"], 2):  # type: ignore[arg-type]
            return
        now = time.time()
        stamp = time.strftime("%d %b %Y %H:%M:%S", time.localtime(now)) + ".%03d" % (int(now * 1000) % 1000)
        line = f"{os.getpid()}:M {stamp} {LOG_MARKS[level]} {message}\n"
        logfile = self.config["logfile"]
        if logfile:
            with open(logfile, "a", encoding="utf-8") as fh:  # type: ignore[arg-type]
                fh.write(line)
        else:
            sys.stdout.write(line)
            sys.stdout.flush()

    # -- clients -------------------------------------------------------------

    def new_client(self, addr: str = "", laddr: str = "", fd: int = -1) -> Client:
        client = Client(self, self.next_client_id, addr, laddr, fd)
        self.next_client_id += 1
        self.clients[client.id] = client
        self.stats.connections += 1
        return client

    def client_gone(self, client: Client) -> None:
        """Forget everything about a client that disconnected."""
        client.closed = True
        self.clients.pop(client.id, None)
        if client.blocked is not None:
            self.blocking.disconnected(client)
        if client.monitor and client in self.monitors:
            self.monitors.remove(client)
        if client.postponed:
            self.postponed.remove(client)
        for hook in self.disconnect_hooks:
            hook(client)

    def resume_client(self, client: Client) -> None:
        """A client finished waiting: run the requests it sent meanwhile, on the next loop turn."""
        if self.loop is not None:
            self.loop.call_soon(client.resume)

    # -- CLIENT PAUSE ------------------------------------------------------------

    def pause(self, seconds: float, mode: str) -> None:
        """Hold clients' commands (all, or those that write) for ``seconds``.

        As in Redis, a pause already on keeps the stricter mode and the later end.
        Replies are not lost: each held client's requests run, in order, once it ends.
        """
        if self.pause_mode != "all":
            self.pause_mode = mode
        self.pause_end = max(self.pause_end, time.monotonic() + seconds)
        if self._pause_timer is not None:
            self._pause_timer.cancel()
        if self.loop is not None:
            self._pause_timer = self.loop.call_later(self.pause_end - time.monotonic(), self.unpause)
        self.keyspace.expiry_paused = True

    def unpause(self) -> None:
        """End a pause (CLIENT UNPAUSE, or its time ran out): held clients run their requests."""
        self.pause_mode = None
        self.pause_end = 0.0
        self.keyspace.expiry_paused = False
        if self._pause_timer is not None:
            self._pause_timer.cancel()
            self._pause_timer = None
        held, self.postponed = self.postponed, []
        for client in held:
            client.postponed = False
            self.resume_client(client)

    def must_wait(self, client: Client, cmd: Command) -> bool:
        """Does CLIENT PAUSE hold this command? (In WRITE mode, EXEC waits if it queued a write.)"""
        if self.pause_mode == "all":
            return True
        if cmd.is_write or "may_replicate" in cmd.flags:
            return True
        return cmd.root_name == b"exec" and any(
            queued.is_write or "may_replicate" in queued.flags for queued, _ in client.multi_queue)

    def postpone(self, client: Client, frames: list[list[bytes]]) -> None:
        """Hold ``frames`` (a request and those after it) until the pause ends."""
        client.pending[:0] = frames
        if not client.postponed:
            client.postponed = True
            self.postponed.append(client)

    def after_unblocked(self, client: Client) -> None:
        """Hook run when a blocked command completes (persistence logs its effect)."""

    def schedule_flush(self, client: Client) -> None:
        """Write ``client``'s queued output at the end of this loop turn (with everyone else's)."""
        pending = self.pending_flush
        if not pending:
            if self.loop is None:
                client.flush()
                return
            self.loop.call_soon(self.flush_pending)
        pending.append(client)

    def arm_flush(self) -> None:
        """For callers that filled ``pending_flush`` themselves (pub/sub fan-out)."""
        if self.loop is None:
            self.flush_pending()
        else:
            self.loop.call_soon(self.flush_pending)

    def flush_pending(self) -> None:
        self.output_epoch += 1
        pending, self.pending_flush = self.pending_flush, []
        for client in pending:
            try:
                client.flush()
            except Exception as exc:  # one broken connection must not strand the others' output
                client.outbuf.clear()
                self.log("warning", f"Writing to client {client.id} failed: {exc!r}")

    def feed_monitors(self, client: Client, cmd: Command, argv: list[bytes]) -> bytes | None:
        """Replaced by the MONITOR implementation: the line for ``client`` itself, if it monitors."""
        return None

    # -- periodic work -------------------------------------------------------

    def cron(self) -> None:
        """Redis's serverCron: stats samples, active expiry, client timeouts, hooks."""
        self.stats.sample()
        self.keyspace.active_expire_cycle(budget_ms=25 * self.config["active-expire-effort"])  # type: ignore[operator]
        timeout = self.config["timeout"]
        if timeout:
            now = time.monotonic()
            for client in list(self.clients.values()):
                if (
                    client.blocked is None
                    and not client.subscriptions
                    and not client.monitor
                    and now - client.last_interaction > timeout  # type: ignore[operator]
                ):
                    self.log("verbose", "Closing idle client")
                    client.close()
        for hook in self.cron_hooks:
            hook()

    def uptime(self) -> int:
        return int(time.monotonic() - self.start_monotonic)
