"""The running server: settings, databases, clients, statistics and the periodic cron.

``Server`` ties the parts together without knowing their insides: the
keyspace holds data, the network layer holds sockets, commands hold meaning.
Every part is a declared field built by ``Server.__init`` in a stated order
(see docs/server-internals.md, "Assembly"); dispatch asks the parts that can
refuse or record a command directly: ``acl.restricted``/``acl.check``,
``eviction.limited``/``eviction.check``, ``persistence.write_block``,
``effects.active``/``effects.command``, ``monitors``.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from server import __version__
from server.acl import ACL, load_users
from server.blocking import Blocking
from server.client import Client
from server.cluster.state import Cluster
from server.config import Config
from server.effects import Effects
from server.eviction import Eviction
from server.keyspace import ACCESS_LFU, ACCESS_LRU, Keyspace
from server.output import Output
from server.persistence.manager import Persistence
from server.pubsub import PubSub
from server.redact import redacted
from server.replication import Replication
from server.scripting.engine import Engine
from server.tracking import Tracking
from server.watches import Watches

if TYPE_CHECKING:
    from server.command import Command
    from server.keyspace import Database

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
        Stats.__init__(self)


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
        # A script's commands run on the connectionless Lua client: Redis shows "?:0" for it.
        peer = b"?:0" if client.addr == "lua" else client.addr.encode()
        entry = [self.next_id, int(time.time()), duration_us, args, peer, client.name]
        self.next_id += 1
        self.entries.appendleft(entry)
        while len(self.entries) > self.max_len:
            self.entries.pop()


class Server:
    """One running server: every subsystem is a declared field, built in ``__init__``.

    ``__slots__`` makes the list below the whole of it: nothing can add an
    attribute to a server after the fact (tests/server/test_assembly.py checks it).
    Subsystems other modules own are built here, in the order stated in
    ``__init__``; they reach each other through these fields, never by patching.
    """

    __slots__ = (
        # settings, data, clients
        "config", "keyspace", "clients", "next_client_id",
        # identity and clocks
        "start_time", "start_monotonic", "run_id", "version", "loop", "tcp_port", "tls_port", "listen_sockets",
        "shutdown_requested", "last_save",
        # statistics
        "stats", "slowlog", "slowlog_threshold",
        # input limits read on every read of every client (mirrored from the config)
        "query_buffer_limit", "proto_max_bulk_len",
        # subsystems
        "effects", "acl", "eviction", "watches", "tracking", "pubsub", "blocking", "monitors",
        "scripting", "cluster", "persistence", "replication",
        # output written at the end of the loop turn
        "output", "held_replies",
        # CLIENT PAUSE
        "pause_mode", "pause_end", "_pause_timer", "postponed",
        # what dispatch.fast_path_open reads has changed since (``standing_changed``)
        "fast_stamp",
    )

    def __init__(self, config: Config | None = None, user_lines: list[list[str]] | None = None):
        """Build every part, in this order (each step may use those before it):

        1. settings (``config``), then the data (``keyspace``) sized by them;
        2. clients, identity, clocks, statistics and SLOWLOG;
        3. the effects pipeline (``effects``): empty until a consumer registers;
        4. ACL (users from ``user_lines`` or the ACL file), eviction (memory accounting);
        5. the keyspace's listeners: WATCH (``watches``) and client-side caching (``tracking``)
           hear of every changed key, pub/sub of keyspace notifications, ``blocking`` of keys
           made ready; then MONITOR (``monitors``);
        6. Lua scripting (``scripting``): runs commands through dispatch, so after all of the above;
        7. cluster mode's state (``cluster``, None unless ``cluster-enabled``): it reads or creates
           nodes.conf and indexes database 0's keys by slot, so it exists before any data loads;
        8. persistence: it registers with ``effects`` once it loads data (``start``),
           and loading replays commands through everything above;
        9. replication: its snapshots go through persistence's fork path, it feeds replicas
           from ``effects`` and applies a master's stream through dispatch, so it comes last;
        10. CONFIG SET listeners that mirror settings into the parts above.
        """
        # 1. Settings and data.
        self.config: Config = config or Config()
        self.keyspace: Keyspace = Keyspace(self.config.get_int("databases"))
        # 2. Clients, identity, statistics.
        self.clients: dict[int, Client] = {}
        self.next_client_id = 1
        self.start_time = time.time()
        self.start_monotonic = time.monotonic()
        self.run_id = os.urandom(20).hex()
        self.version = __version__
        self.loop: asyncio.AbstractEventLoop | None = None  # set when the server runs (main.run)
        self.tcp_port = 0  # the ports actually listened on (network.listen)
        # The plain TCP and unix listening sockets, for accepting during a busy script (scripting/engine.py).
        self.listen_sockets: list[Any] = []
        self.tls_port = 0
        self.shutdown_requested: Callable[[], None] | None = None  # main.run: stop the loop
        self.last_save = int(time.time())  # LASTSAVE; persistence moves it on each save
        self.stats = Stats()
        self.slowlog = SlowLog()
        self.slowlog_threshold = 10000
        self.query_buffer_limit = 1 << 30
        self.proto_max_bulk_len = 512 << 20
        # Group commit (appendfsync always): while a list, replies wait here, as (deliver, data),
        # until the AOF is fsynced at the end of the loop turn (Persistence.group_commit).
        self.held_replies: list[tuple[Callable[[bytes | None], None], bytes | None]] | None = None
        self.output = Output(self)  # the one owner of output queues and their order
        # CLIENT PAUSE: "write" or "all" until ``pause_end`` (time.monotonic()); None when off.
        self.pause_mode: str | None = None
        # Moved by every change to what ``dispatch.fast_path_open`` reads (``standing_changed``).
        self.fast_stamp = 0
        self.pause_end = 0.0
        self._pause_timer: asyncio.TimerHandle | None = None
        self.postponed: list[Client] = []  # clients whose requests wait for the pause to end
        # 3. Effects of commands (the AOF registers itself; replicas and tracking will too).
        self.effects = Effects()
        # 4. Who may do what, and how much memory there is.
        self.acl = ACL(self)
        load_users(self.acl, user_lines or [])
        self.eviction = Eviction(self)
        # 5. Listeners of the keyspace.
        self.watches = Watches(self.keyspace)
        self.tracking = Tracking(self)
        self.pubsub = PubSub(self)
        self.blocking = Blocking(self)
        self.monitors: list[Client] = []  # clients that ran MONITOR (server.monitor feeds them)
        keyspace = self.keyspace
        keyspace.on_touch = self._key_changed
        keyspace.notify_hook = self.pubsub.notify_keyspace
        keyspace.on_expired = self.effects.expired
        # 6. Scripting.
        self.scripting = Engine(self)
        # 7. Cluster mode (its bus starts with the loop: ``cluster.start()``).
        self.cluster: Cluster | None = Cluster(self) if self.config["cluster-enabled"] else None
        # 8. Persistence (loading data is start-up's business: ``persistence.start()``).
        self.persistence = Persistence(self)
        # 9. Replication (a configured ``replicaof`` dials once the loop runs: ``replication.start()``).
        self.replication = Replication(self)
        # 10. Settings mirrored into the parts.
        self._bind_config()

    def _key_changed(self, db: Database, key: bytes) -> None:
        """``Keyspace.on_touch`` (called only while ``keyspace.watched``): WATCH, then tracking."""
        self.watches.touch(db, key)
        keyspace = self.keyspace
        if keyspace.tracking_active and not keyspace.watch_only:
            self.tracking.invalidate(key)

    # -- configuration -------------------------------------------------------

    def _bind_config(self) -> None:
        cfg = self.config
        ks = self.keyspace

        def set_threshold(value: object) -> None:
            self.slowlog_threshold = cfg.get_int("slowlog-log-slower-than")

        def set_slowlog_len(value: object) -> None:
            self.slowlog.max_len = cfg.get_int("slowlog-max-len")
            while len(self.slowlog.entries) > self.slowlog.max_len:
                self.slowlog.entries.pop()

        def set_notify(value: object) -> None:
            ks.notify_flags = cfg.get_int("notify-keyspace-events")

        def on_policy(value: object) -> None:
            policy = cfg.get_str("maxmemory-policy")
            if "lfu" in policy:
                ks.track_access(ACCESS_LFU)
            elif "lru" in policy or ks.access_mode == ACCESS_LFU:
                ks.track_access(ACCESS_LRU)

        def on_effort(value: object) -> None:
            ks.expire_effort = cfg.get_int("active-expire-effort")

        def on_log_factor(value: object) -> None:
            ks.lfu_log_factor = cfg.get_int("lfu-log-factor")

        def on_decay(value: object) -> None:
            ks.lfu_decay_time = cfg.get_int("lfu-decay-time")

        def on_hz(value: object) -> None:
            ks.hz = cfg.get_int("hz")

        def on_query_buffer_limit(value: object) -> None:
            self.query_buffer_limit = cfg.get_int("client-query-buffer-limit")

        def on_max_bulk_len(value: object) -> None:
            self.proto_max_bulk_len = cfg.get_int("proto-max-bulk-len")

        for name, listener in (("slowlog-log-slower-than", set_threshold), ("slowlog-max-len", set_slowlog_len),
                               ("notify-keyspace-events", set_notify), ("maxmemory-policy", on_policy),
                               ("active-expire-effort", on_effort), ("lfu-log-factor", on_log_factor),
                               ("lfu-decay-time", on_decay), ("hz", on_hz),
                               ("client-query-buffer-limit", on_query_buffer_limit),
                               ("proto-max-bulk-len", on_max_bulk_len)):
            cfg.on_change(name, listener)
            listener(cfg[name])

    def requires_auth(self) -> bool:
        """Do new connections start logged out?"""
        return self.acl.requires_auth()

    def default_user_has_password(self) -> bool:
        """Protected mode asks this."""
        return self.acl.default_user_has_password()

    # -- logging -------------------------------------------------------------

    def log(self, level: str, message: str) -> None:
        """A log line in redis-server's format: ``pid:M 24 Nov 2026 06:00:00.123 * text``."""
        if LOG_LEVELS[level] < LOG_LEVELS.get(self.config.get_str("loglevel"), 2):
            return
        now = time.time()
        stamp = time.strftime("%d %b %Y %H:%M:%S", time.localtime(now)) + ".%03d" % (int(now * 1000) % 1000)
        line = f"{os.getpid()}:M {stamp} {LOG_MARKS[level]} {message}\n"
        logfile = self.config.get_str("logfile")
        if logfile:
            with open(logfile, "a", encoding="utf-8") as fh:
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
        if client.watched:
            self.watches.unwatch_all(client)
        self.pubsub.forget(client)
        self.tracking.disable(client)
        if client.kind != "normal" or self.replication.waiting:
            self.replication.client_gone(client)

    def reset_client(self, client: Client) -> None:
        """RESET: the connection's state as a new one has it (Redis 7.0 keeps CLIENT NO-EVICT)."""
        self.watches.end_transaction(client)  # MULTI and WATCH
        if client.subscriptions:
            self.pubsub.forget(client)
        self.tracking.disable(client)
        client.select(0)
        client.resp = 2
        client.name = b""
        if client.monitor:
            client.monitor = False
            if client in self.monitors:
                self.monitors.remove(client)
        client.user = "default"
        client.authenticated = not self.requires_auth()
        client.asking = client.readonly = False

    def resume_client(self, client: Client) -> None:
        """A client finished waiting: run the requests it sent meanwhile, on the next loop turn."""
        if self.loop is not None:
            self.loop.call_soon(client.resume)

    def standing_changed(self) -> None:
        """Something ``dispatch.fast_path_open`` reads has changed: every client's remembered
        answer is stale. Each writer of that state calls this (tests/server/test_fast_path_stamp.py
        checks that every assignment to the server-wide fields is followed by a call)."""
        self.fast_stamp += 1

    # -- CLIENT PAUSE ------------------------------------------------------------

    def pause(self, seconds: float, mode: str) -> None:
        """Hold clients' commands (all, or those that write) for ``seconds``.

        As in Redis, a pause already on keeps the stricter mode and the later end.
        Replies are not lost: each held client's requests run, in order, once it ends.
        """
        if self.pause_mode != "all":
            self.pause_mode = mode
            self.standing_changed()
        self.pause_end = max(self.pause_end, time.monotonic() + seconds)
        if self._pause_timer is not None:
            self._pause_timer.cancel()
        if self.loop is not None:
            self._pause_timer = self.loop.call_later(self.pause_end - time.monotonic(), self.unpause)
        self.keyspace.expiry_paused = True

    def unpause(self) -> None:
        """End a pause (CLIENT UNPAUSE, or its time ran out): held clients run their requests."""
        self.pause_mode = None
        self.standing_changed()
        self.pause_end = 0.0
        self.keyspace.expiry_paused = self.replication.is_replica  # a replica keeps expired keys for the master's DEL
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

    # -- periodic work -------------------------------------------------------

    def cron(self) -> None:
        """Redis's serverCron: stats samples, active expiry, client timeouts, memory, persistence."""
        self.stats.sample()
        self.keyspace.active_expire_cycle(budget_ms=25 * self.config.get_int("active-expire-effort"))
        timeout = self.config.get_int("timeout")
        if timeout:
            now = time.monotonic()
            for client in list(self.clients.values()):
                if (
                    client.blocked is None
                    and not client.subscriptions
                    and not client.monitor
                    and now - client.last_interaction > timeout
                ):
                    self.log("verbose", "Closing idle client")
                    client.close()
        self.eviction.refresh()
        self.persistence.cron()
        self.replication.cron()

    def uptime(self) -> int:
        return int(time.monotonic() - self.start_monotonic)
