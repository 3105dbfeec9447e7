"""The effects pipeline: what a command did, as the commands that reproduce it, for every consumer.

A write command's effect is usually its own ``argv``, but not always: replaying
``SPOP s`` would pop another member, ``EXPIRE k 10`` would count from the replay
time, and a served ``BLPOP`` depends on which key had data. ``effects_of`` is the
one place that decides what a command writes to the AOF (and, later, sends to
replicas): the command's own choice (``client.propagate_as``), a rewrite derived
from the reply (SPOP → SREM, BLPOP → LPOP ...), or its ``argv`` with relative
expiries made absolute (EXPIRE → PEXPIREAT, SET EX → SET PXAT ...).

Everything that changes data without a client's command to show for it goes
through the same door: ``Effects.emit`` for an expired key (DEL), an evicted key
(DEL), a blocked client served later (``Effects.served``).

An *execution unit* (EXEC today, a script next) gathers the effects of the
commands it runs: ``with server.effects.unit(client): ...``. When the outermost
unit ends, its effects go out at once, wrapped in MULTI/EXEC when there are
several, as Redis 7.0's propagatePendingCommands does; the command that ran the
unit then has no effect of its own.

Consumers (the AOF now; replicas and client tracking later) implement
``EffectConsumer`` and ``register`` themselves; with none registered, dispatch
does not even compute the effects (``Effects.active`` is False).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from server.client import Client
    from server.command import Command
    from server.keyspace import Database

# One effect: the database it applies to and the command that reproduces it.
Op = tuple[int, list[bytes]]
Rewriter = Callable[[list[bytes], Any], list[list[bytes]]]


class EffectConsumer(Protocol):
    """Something that receives effects: the AOF now, replicas and client tracking later."""

    def apply_effects(self, ops: list[Op]) -> None:
        """``ops`` in the order they happened: one command's effects, or a whole unit's
        (already wrapped in MULTI/EXEC when there are several). A consumer that writes a
        stream of commands inserts a SELECT where the database changes (``with_selects``)."""


def with_selects(ops: list[Op], selected: int) -> tuple[list[list[bytes]], int]:
    """The commands of ``ops`` for a stream whose selected database is ``selected``,
    with a SELECT wherever the database changes; and the database selected after them."""
    out: list[list[bytes]] = []
    for dbid, argv in ops:
        if dbid != selected:
            out.append([b"SELECT", b"%d" % dbid])
            selected = dbid
        out.append(argv)
    return out, selected


class Effects:
    """The server's effects pipeline (``server.effects``)."""

    __slots__ = ("consumers", "active", "replicas_only", "muted", "plain", "_pending", "_depth", "_units")

    def __init__(self) -> None:
        self.consumers: list[EffectConsumer] = []
        self.active = False  # any consumer: dispatch skips computing effects otherwise
        # The one consumer is replication, which cannot fail (``defers_plain``): dispatch may
        # then keep a read's plain writes for the end of the read (``plain``, ``settle``).
        self.replicas_only = False
        self.muted = False  # a script's redis.set_repl(REPL_NONE): its commands log nothing
        self._pending: list[Op] = []  # effects of the unit being run
        # Dispatch's batch of plain writes (their effect is their argv), delivered by ``settle``
        # at the batch's end or before any other effect, whichever comes first.
        self.plain: list[Op] = []
        self._depth = 0  # nesting of units (a script inside EXEC is still one unit)
        self._units: list[tuple[Client, int]] = []  # (client, keyspace dirty count) per open unit

    # -- consumers -----------------------------------------------------------------

    def register(self, consumer: EffectConsumer) -> None:
        if consumer not in self.consumers:
            self.consumers.append(consumer)
        self.active = True
        self._sized()

    def unregister(self, consumer: EffectConsumer) -> None:
        if consumer in self.consumers:
            self.consumers.remove(consumer)
        self.active = bool(self.consumers)
        self._sized()

    def _sized(self) -> None:
        consumers = self.consumers
        self.replicas_only = len(consumers) == 1 and getattr(consumers[0], "defers_plain", False)

    # -- producing -----------------------------------------------------------------

    def emit(self, dbid: int, commands: list[list[bytes]]) -> None:
        """Effects in database ``dbid``: delivered now, or at the end of the open unit."""
        if not self.active or not commands:
            return
        ops = [(dbid, argv) for argv in commands]
        if self._depth:
            self._pending.extend(ops)
        else:
            self._deliver(ops)

    def command(self, client: Client, name: str, argv: list[bytes], reply: object) -> None:
        """A command that changed the keyspace (dispatch calls this only while ``active``)."""
        ops = effects_of(client, name, argv, reply)
        if not self.muted:
            self.emit(client.db.id, ops)

    def served(self, client: Client, argv: list[bytes], reply: object) -> None:
        """A blocked command was served later (``argv`` is the command it blocked in)."""
        if not self.active:
            client.propagate_as = None
            return
        self.emit(client.db.id, effects_of(client, argv[0].decode("latin-1").lower(), argv, reply))

    def expired(self, db: Database, key: bytes) -> None:
        """A key expired (lazily or actively): replaying must not bring it back."""
        if self.active:
            self.emit(db.id, [[b"DEL", key]])

    def evicted(self, db: Database, key: bytes) -> None:
        """``maxmemory`` evicted a key."""
        if self.active:
            self.emit(db.id, [[b"DEL", key]])

    @contextmanager
    def unit(self, client: Client) -> Iterator[None]:
        """Run an execution unit (EXEC, a script): its effects go out together at its end,
        in MULTI/EXEC when there are several, and the command that ran it logs nothing itself."""
        self.begin_unit(client)
        try:
            yield
        finally:
            self.end_unit()

    def begin_unit(self, client: Client) -> None:
        """``unit`` without a context manager (scripts, whose per-call cost counts): pair with end_unit."""
        self._depth += 1
        self._units.append((client, client.server.keyspace.dirty))

    def end_unit(self) -> None:
        self._depth -= 1
        unit_client, dirty = self._units.pop()
        if unit_client.server.keyspace.dirty != dirty and self.active:
            # Dispatch will hand the command that ran the unit to ``command``: it has
            # no effect of its own, the unit's commands carried them.
            unit_client.propagate_as = []
        if not self._depth and self._pending:
            ops, self._pending = self._pending, []
            if len(ops) > 1:
                ops = [(ops[0][0], [b"MULTI"]), *ops, (ops[-1][0], [b"EXEC"])]
            self._deliver(ops)

    def settle(self, raw: bytes | None) -> None:
        """Deliver dispatch's batch of plain writes. ``raw``: the bytes the client sent for exactly
        those commands (``dispatch.run_requests``): a consumer with ``apply_raw`` (replication)
        may take them as they are instead of encoding each command again."""
        ops, self.plain = self.plain, []
        if not ops:
            return
        if raw is not None and len(self.consumers) == 1:
            dbid = ops[0][0]
            apply_raw = getattr(self.consumers[0], "apply_raw", None)
            if apply_raw is not None and all(op[0] == dbid for op in ops) and apply_raw(dbid, raw):
                return
        for consumer in self.consumers:
            consumer.apply_effects(ops)

    def _deliver(self, ops: list[Op]) -> None:
        if self.plain:  # the plain writes before these effects go first
            self.settle(None)
        for consumer in self.consumers:
            consumer.apply_effects(ops)


# --------------------------------------------------------------------------- what to log


def effects_of(client: Client, name: str, argv: list[bytes], reply: object) -> list[list[bytes]]:
    """The commands that reproduce what ``argv`` (command ``name``, which answered ``reply``)
    did to the data, so that replaying gives the same data at any later time."""
    chosen = client.propagate_as
    if chosen is not None:  # the command said so itself
        client.propagate_as = None
        return chosen
    rewrite = REWRITERS.get(name)
    if rewrite is not None:
        return rewrite(argv, reply)
    return rewrite_for_log(client, name, argv)


# Commands whose effect their arguments do not determine: derived from the reply. An empty
# list logs nothing (the keyspace changed only by keys expiring on the way, logged as DELs).

def _spop(argv: list[bytes], reply: Any) -> list[list[bytes]]:
    if reply is None:
        return []
    members: list[bytes] = [bytes(reply)] if isinstance(reply, (bytes, bytearray)) else list(reply)  # or a RespSet
    return [[b"SREM", argv[1], *members]] if members else []


def _pop_side(name: bytes) -> Rewriter:
    def rewrite(argv: list[bytes], reply: object) -> list[list[bytes]]:
        if not isinstance(reply, list) or len(reply) < 2:
            return []
        return [[name, reply[0]]]

    return rewrite


def _brpoplpush(argv: list[bytes], reply: object) -> list[list[bytes]]:
    return [] if reply is None else [[b"RPOPLPUSH", argv[1], argv[2]]]


def _blmove(argv: list[bytes], reply: object) -> list[list[bytes]]:
    return [] if reply is None else [[b"LMOVE", *argv[1:5]]]


def _bzpop(argv: list[bytes], reply: object) -> list[list[bytes]]:
    if not isinstance(reply, list) or len(reply) < 2:
        return []
    return [[b"ZREM", reply[0], reply[1]]]


def _blmpop(argv: list[bytes], reply: object) -> list[list[bytes]]:
    if not isinstance(reply, list) or len(reply) < 2:
        return []
    side = b"RPOP" if any(a.upper() == b"RIGHT" for a in argv[2:]) else b"LPOP"
    return [[side, reply[0], b"%d" % len(reply[1])]]


def _bzmpop(argv: list[bytes], reply: object) -> list[list[bytes]]:
    if not isinstance(reply, list) or len(reply) < 2:
        return []
    members = [pair[0] for pair in reply[1]]
    return [[b"ZREM", reply[0], *members]] if members else []


REWRITERS: dict[str, Rewriter] = {
    "spop": _spop,
    "blpop": _pop_side(b"LPOP"),
    "brpop": _pop_side(b"RPOP"),
    "brpoplpush": _brpoplpush,
    "blmove": _blmove,
    "bzpopmin": _bzpop,
    "bzpopmax": _bzpop,
    "blmpop": _blmpop,
    "bzmpop": _bzmpop,
}

_EXPIRE_COMMANDS = {"expire", "pexpire", "expireat", "pexpireat"}
_SET_TTL_OPTIONS = {b"EX", b"PX", b"EXAT", b"PXAT"}
# Commands ``rewrite_for_log`` may change (SET only with options after the value).
_REWRITTEN = _EXPIRE_COMMANDS | {"setex", "psetex", "set", "getex", "restore", "incrbyfloat"}


def plain_args(cmd: Command) -> int:
    """Up to how many arguments (``len(argv)``) the effect of ``cmd`` is always its own ``argv``
    (unless the command sets ``client.propagate_as``): 0 when it never is (a read, a command
    rewritten from its reply or with relative times made absolute). Dispatch's fast path
    hands such a write straight to ``emit``, skipping ``effects_of``."""
    name = cmd.name
    if cmd.is_readonly or not cmd.is_write or cmd.parent is not None or name in REWRITERS:
        return 0
    if name == "set":
        return 3  # SET key value: no expiry option to make absolute
    if name in _REWRITTEN:
        return 0
    return cmd.max_args


def rewrite_for_log(client: Client, name: str, argv: list[bytes]) -> list[list[bytes]]:
    """``argv`` with relative expiries made absolute (PEXPIREAT, SET ... PXAT), as Redis logs them."""
    db = client.db
    if name in _EXPIRE_COMMANDS:
        key = argv[1]
        if key not in db.data:
            return [[b"DEL", key]]  # a deadline in the past deleted the key
        deadline = db.expires.get(key)
        return [[b"PEXPIREAT", key, b"%d" % deadline]] if deadline is not None else [argv]
    if name in ("setex", "psetex"):
        key = argv[1]
        deadline = db.expires.get(key)
        if deadline is None:
            return [[b"SET", key, argv[3]]]
        return [[b"SET", key, argv[3], b"PXAT", b"%d" % deadline]]
    if name == "set" and len(argv) > 3:
        options = argv[3:]
        if any(opt.upper() in _SET_TTL_OPTIONS for opt in options):
            kept: list[bytes] = []
            skip = False
            for opt in options:
                if skip:
                    skip = False
                    continue
                if opt.upper() in _SET_TTL_OPTIONS:
                    skip = True
                    continue
                kept.append(opt)
            key = argv[1]
            deadline = db.expires.get(key)
            tail = [b"PXAT", b"%d" % deadline] if deadline is not None else []
            return [[argv[0], key, argv[2], *kept, *tail]]
        return [argv]
    if name == "getex":
        key = argv[1]
        if key not in db.data:
            return [[b"DEL", key]]
        deadline = db.expires.get(key)
        if deadline is not None:
            return [[b"PEXPIREAT", key, b"%d" % deadline]]
        return [[b"PERSIST", key]]
    if name == "restore":
        if any(a.upper() == b"ABSTTL" for a in argv[4:]) or argv[2] == b"0":
            return [argv]
        key = argv[1]
        if key not in db.data:
            return [[b"DEL", key]]
        deadline = db.expires.get(key)
        if deadline is None:
            return [argv]
        return [[argv[0], key, b"%d" % deadline, argv[3], *argv[4:], b"ABSTTL"]]
    if name == "incrbyfloat":
        key = argv[1]
        value = db.data.get(key)
        if isinstance(value, (bytes, bytearray)):
            return [[b"SET", key, bytes(value), b"KEEPTTL"]]
    return [argv]
