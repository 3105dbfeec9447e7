"""Transactions: MULTI, EXEC, DISCARD, WATCH and UNWATCH (multi.c in Redis).

After MULTI, dispatch queues every command (answering ``QUEUED``) instead of
running it; a command rejected while queueing (unknown, wrong arity, denied)
marks the transaction, and EXEC then refuses it with ``EXECABORT``. EXEC runs
the queue in one go: nothing else runs in between, because the server has one
thread. A command failing at run time does not undo the others.

WATCH is optimistic locking. ``Watches`` maps each watched (db, key) to its
clients; the keyspace calls ``touch`` (its ``on_touch`` hook) whenever a key is
written, deleted, expired, flushed or swapped, and every client watching it
gets ``watch_dirty``: its next EXEC answers a null array. As in Redis 7.0, a
key that was already expired when WATCHed does not count as changed when that
stale copy is finally removed, and a watched key whose TTL runs out before
EXEC fails the transaction even if nobody removed it yet.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.client import Blocked, Client
from server.command import TABLE, command
from server.commands.connection import RESET_HOOKS
from server.dispatch import call
from server.keyspace import now_ms
from server.main import STARTUP_HOOKS
from server.protocol import NULL_ARRAY, OK, Error, Raw, Replies, encode

if TYPE_CHECKING:
    from server.command import Command
    from server.instance import Server
    from server.keyspace import Database

EXECABORT = Error(b"EXECABORT Transaction discarded because of previous errors.")


class Watches:
    """Who watches which key: (db, key) → {client: key was already expired when watched}."""

    def __init__(self, server: Server):
        self.keyspace = server.keyspace
        self.keys: dict[tuple[int, bytes], dict[Client, bool]] = {}

    def watch(self, client: Client, key: bytes) -> None:
        db = client.db
        dbkey = (db.id, key)
        if dbkey in client.watched:
            return
        client.watched.add(dbkey)
        deadline = db.expires.get(key)
        self.keys.setdefault(dbkey, {})[client] = deadline is not None and deadline < now_ms()
        self.keyspace.watched = True

    def touch(self, db: Database, key: bytes) -> None:
        """``Keyspace.on_touch``: ``key`` in ``db`` changed; its watchers' transactions fail."""
        watchers = self.keys.get((db.id, key))
        if not watchers:
            return
        for client, was_expired in list(watchers.items()):
            if was_expired and key not in db.data:
                # The stale copy seen at WATCH time is gone: logically nothing changed.
                watchers[client] = False
                continue
            client.watch_dirty = True
            self.unwatch_all(client)  # it will fail anyway: stop tracking its keys

    def unwatch_all(self, client: Client) -> None:
        keys = self.keys
        for dbkey in client.watched:
            watchers = keys.get(dbkey)
            if watchers is not None:
                watchers.pop(client, None)
                if not watchers:
                    del keys[dbkey]
        client.watched.clear()
        self.keyspace.watched = bool(keys) or self.keyspace.tracking_active

    def expired_since_watch(self, client: Client) -> bool:
        """Has a watched key's TTL run out since WATCH (even if nobody removed it yet)?"""
        now = now_ms()
        dbs = self.keyspace.dbs
        for dbid, key in client.watched:
            if self.keys[(dbid, key)].get(client):
                continue  # already expired when watched
            deadline = dbs[dbid].expires.get(key)
            if deadline is not None and deadline < now:
                return True
        return False


def _watches(ctx: Client) -> Watches:
    return ctx.server.watches  # type: ignore[attr-defined]


def discard_transaction(ctx: Client) -> None:
    """Leave MULTI: drop the queue and the error mark, stop watching (Redis's discardTransaction)."""
    ctx.in_multi = False
    ctx.multi_queue = []
    ctx.multi_error = False
    ctx.watch_dirty = False
    if ctx.watched:
        _watches(ctx).unwatch_all(ctx)


@command("multi", arity=1, flags="noscript loading stale fast allow_busy", acl="transaction",
         group="transactions", since="1.2.0",
         summary="Starts a transaction: the following commands are queued until EXEC.")
def multi(ctx: Client) -> object:
    if ctx.in_multi:
        raise Error(b"ERR MULTI calls can not be nested")
    ctx.in_multi = True
    ctx.multi_queue = []
    ctx.multi_error = False
    return OK


@command("discard", arity=1, flags="noscript loading stale fast allow_busy", acl="transaction",
         group="transactions", since="2.0.0",
         summary="Abandons the transaction: drops the queued commands and every WATCH.")
def discard(ctx: Client) -> object:
    if not ctx.in_multi:
        raise Error(b"ERR DISCARD without MULTI")
    discard_transaction(ctx)
    return OK


@command("exec", arity=1, flags="noscript loading stale skip_slowlog", acl="transaction",
         group="transactions", since="1.2.0",
         summary="Runs the queued commands as one unit, unless a WATCHed key changed.")
def exec_(ctx: Client) -> object:
    if not ctx.in_multi:
        raise Error(b"ERR EXEC without MULTI")
    server = ctx.server
    if server.maxmemory_check is not None and any(cmd.denyoom for cmd, _ in ctx.multi_queue):
        oom = server.maxmemory_check(ctx, None)  # memory filled up since the writes were queued
        if oom is not None:
            discard_transaction(ctx)
            return Error(b"EXECABORT Transaction discarded because of: " + oom.message)  # type: ignore[attr-defined]
    if ctx.multi_error:
        discard_transaction(ctx)
        return EXECABORT
    if ctx.watched and not ctx.watch_dirty and _watches(ctx).expired_since_watch(ctx):
        ctx.watch_dirty = True
    if ctx.watch_dirty:
        discard_transaction(ctx)
        return NULL_ARRAY
    queue = ctx.multi_queue
    if ctx.watched:  # unwatch first: our own writes must not mark us dirty
        _watches(ctx).unwatch_all(ctx)
    propagate = server.propagate
    if propagate is not None:
        server.propagate = _unit_propagation(propagate)
    ctx.executing_multi = True
    # Redis writes the array header first and each reply as its command finishes:
    # a reply is encoded in the protocol of that moment (HELLO may switch it), and a
    # push this client gets from its own command (a keyspace event it subscribed to,
    # in RESP3) lands between two replies. Such pushes are taken back out of the
    # client's output queue and put where Redis puts them.
    replies: list[object] = [Raw(b"*%d\r\n" % len(queue))]
    outbuf = ctx.outbuf
    try:
        for cmd, argv in queue:
            mark = len(outbuf)
            reply = _run_queued(ctx, cmd, argv)
            if len(outbuf) > mark:
                replies.extend(Raw(bytes(pushed)) for pushed in outbuf[mark:])
                del outbuf[mark:]
            encoded: list[bytes] = []
            encode(reply, encoded, ctx.resp == 3)
            replies.append(Raw(b"".join(encoded)))
    finally:
        # As in Redis, the client stays "in MULTI" (CLIENT LIST, ACL LOG) until the end.
        ctx.executing_multi = False
        discard_transaction(ctx)
        if propagate is not None:
            server.propagate = propagate
    return Replies(replies)


_ACL_CHANGED = (b"NOPERM ACLs rules changed between the moment the transaction was accumulated and the "
                b"EXEC call. This command is no longer allowed for the following reason: ")


def _run_queued(ctx: Client, cmd: Command, argv: list[bytes]) -> object:
    """One queued command, with the permission check Redis repeats at EXEC time."""
    server = ctx.server
    if server.acl_check is not None:
        denied = server.acl_check(ctx, cmd, argv)
        if denied is not None:  # the rules changed since queueing: Redis words the reason its own way
            text = denied.message  # type: ignore[attr-defined]
            if b"one of the keys" in text:
                reason = b"no permission to touch the specified keys"
            elif b"one of the channels" in text:
                reason = b"no permission to access one of the channels used as arguments"
            else:
                reason = b"no permission to execute the command or subcommand"
            return Error(_ACL_CHANGED + reason)
    reply = call(ctx, cmd, argv)
    if reply.__class__ is Blocked:  # a blocking command that forgot executing_multi
        reply = reply.on_timeout(ctx)  # type: ignore[attr-defined]
    return reply


def _unit_propagation(propagate):
    """Wrap ``server.propagate`` for one EXEC: a MULTI goes out before the first write.

    The matching EXEC is the EXEC command itself, which dispatch propagates after
    it returns because the keyspace changed; a read-only transaction sends neither.
    """
    started = False
    multi_cmd = TABLE[b"multi"]

    def inside_exec(client: Client, cmd: Command, argv: list[bytes]) -> None:
        nonlocal started
        if not started:
            started = True
            propagate(client, multi_cmd, [b"MULTI"])
        propagate(client, cmd, argv)

    return inside_exec


@command("watch", arity=-2, flags="noscript loading stale fast allow_busy", keys=(1, -1, 1),
         acl="transaction", group="transactions", since="2.2.0",
         summary="Makes the next EXEC fail if any of these keys changes before it.",
         args="key [key ...]")
def watch(ctx: Client, *keys: bytes) -> object:
    if ctx.in_multi:
        raise Error(b"ERR WATCH inside MULTI is not allowed")
    watches = _watches(ctx)
    for key in keys:
        watches.watch(ctx, key)
    return OK


@command("unwatch", arity=1, flags="noscript loading stale fast allow_busy", acl="transaction",
         group="transactions", since="2.2.0", summary="Forgets every WATCHed key of this connection.")
def unwatch(ctx: Client) -> object:
    if ctx.watched:
        _watches(ctx).unwatch_all(ctx)
    ctx.watch_dirty = False
    return OK


def _setup(server: Server) -> None:
    """Give a new server its WATCH registry and the hooks that keep it right."""
    watches = Watches(server)
    server.watches = watches  # type: ignore[attr-defined]
    server.keyspace.on_touch = watches.touch

    def forget(client: Client) -> None:
        if client.watched:
            watches.unwatch_all(client)

    server.disconnect_hooks.append(forget)


STARTUP_HOOKS.append(_setup)
RESET_HOOKS.append(discard_transaction)
