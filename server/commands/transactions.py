"""Transactions: MULTI, EXEC, DISCARD, WATCH and UNWATCH (multi.c in Redis).

After MULTI, dispatch queues every command (answering ``QUEUED``) instead of
running it; a command rejected while queueing (unknown, wrong arity, denied)
marks the transaction, and EXEC then refuses it with ``EXECABORT``. EXEC runs
the queue in one go: nothing else runs in between, because the server has one
thread. A command failing at run time does not undo the others.

WATCH is optimistic locking: the registry is ``server.watches`` (``server/watches.py``).

EXEC runs its queue as one execution unit of the effects pipeline
(``server.effects.unit``): the writes reach the AOF together, in MULTI/EXEC when
there are several.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.client import Blocked, Client
from server.command import command
from server.dispatch import call
from server.protocol import NULL_ARRAY, OK, Error, Raw, Replies, encode

if TYPE_CHECKING:
    from server.command import Command
    from server.watches import Watches

EXECABORT = Error(b"EXECABORT Transaction discarded because of previous errors.")


def _watches(ctx: Client) -> Watches:
    return ctx.server.watches


def discard_transaction(ctx: Client) -> None:
    """Leave MULTI: drop the queue and the error mark, stop watching."""
    ctx.server.watches.end_transaction(ctx)


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
    if server.eviction.limited and any(cmd.denyoom for cmd, _ in ctx.multi_queue):
        oom = server.eviction.check(ctx, None)  # memory filled up since the writes were queued
        if oom is not None:
            discard_transaction(ctx)
            return Error(b"EXECABORT Transaction discarded because of: " + oom.message)
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
    ctx.executing_multi = True
    # Redis writes the array header first and each reply as its command finishes:
    # a reply is encoded in the protocol of that moment (HELLO may switch it), and a
    # push this client gets from its own command (a keyspace event it subscribed to,
    # in RESP3) lands between two replies. Such pushes are taken back out of the
    # client's output queue and put where Redis puts them.
    replies: list[object] = [Raw(b"*%d\r\n" % len(queue))]
    output = server.output
    try:
        with server.effects.unit(ctx):
            for cmd, argv in queue:
                mark = output.mark(ctx)
                reply = _run_queued(ctx, cmd, argv)
                replies.extend(Raw(pushed) for pushed in output.take_since(ctx, mark))
                encoded: list[bytes] = []
                encode(reply, encoded, ctx.resp == 3)
                replies.append(Raw(b"".join(encoded)))
    finally:
        # As in Redis, the client stays "in MULTI" (CLIENT LIST, ACL LOG) until the end.
        ctx.executing_multi = False
        discard_transaction(ctx)
    return Replies(replies)


_ACL_CHANGED = (b"NOPERM ACLs rules changed between the moment the transaction was accumulated and the "
                b"EXEC call. This command is no longer allowed for the following reason: ")


def _run_queued(ctx: Client, cmd: Command, argv: list[bytes]) -> object:
    """One queued command, with the permission check Redis repeats at EXEC time."""
    acl = ctx.server.acl
    if acl.restricted:
        denied = acl.check(ctx, cmd, argv)
        if denied is not None:  # the rules changed since queueing: Redis words the reason its own way
            text = denied.message
            if b"one of the keys" in text:
                reason = b"no permission to touch the specified keys"
            elif b"one of the channels" in text:
                reason = b"no permission to access one of the channels used as arguments"
            else:
                reason = b"no permission to execute the command or subcommand"
            return Error(_ACL_CHANGED + reason)
    reply = call(ctx, cmd, argv)
    if reply.__class__ is Blocked:  # a blocking command that forgot executing_multi
        reply = reply.on_timeout(ctx)
    return reply


@command("watch", arity=-2, flags="noscript loading stale fast allow_busy",
         acl="transaction", group="transactions", since="2.2.0",
         summary="Makes the next EXEC fail if any of these keys changes before it.",
         args="key ...",
         keys="RO @1 range(-1,1,0)")
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
