"""Logging non-deterministic commands by their effect, for the AOF.

Replaying ``SPOP s`` would pop a different random member, and replaying
``BLPOP a b 0`` depends on which key had data at the time. Redis logs such
commands as what they did (``SREM s member``, ``LPOP a``). A command can say
so itself by setting ``ctx.propagate_as`` (see docs/server-internals.md); for
the commands of this table persistence derives it from the reply instead, by
wrapping the command's function once at start-up. A blocking command that
waits gets its ``retry`` wrapped the same way, so the effect of a client
served later is known when ``server.after_unblocked`` logs it.
"""

from __future__ import annotations

from collections.abc import Callable

from server.client import Blocked, Client

Rewriter = Callable[[list[bytes], object], list[list[bytes]]]


def _spop(argv: list[bytes], reply: object) -> list[list[bytes]]:
    if reply is None:
        return []
    members = [reply] if isinstance(reply, (bytes, bytearray)) else list(reply)  # type: ignore[call-overload]
    return [[b"SREM", argv[1], *members]] if members else []


def _pop_side(name: bytes) -> Callable[[list[bytes], object], list[list[bytes]]]:
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


REWRITERS: dict[bytes, Rewriter] = {
    b"spop": _spop,
    b"blpop": _pop_side(b"LPOP"),
    b"brpop": _pop_side(b"RPOP"),
    b"brpoplpush": _brpoplpush,
    b"blmove": _blmove,
    b"bzpopmin": _bzpop,
    b"bzpopmax": _bzpop,
    b"blmpop": _blmpop,
    b"bzmpop": _bzmpop,
}


def _wrap(func: Callable, rewrite: Rewriter) -> Callable:
    def logged_by_effect(ctx: Client, *args: bytes) -> object:
        # With no AOF to feed there is nothing to derive, and nothing may be left in
        # ``propagate_as`` either: an AOF switched on later would log it for the next write.
        feeding = ctx.server.propagate is not None
        if feeding:
            ctx.propagate_as = None  # type: ignore[attr-defined]
            dirty = ctx.server.keyspace.dirty
        reply = func(ctx, *args)
        if reply.__class__ is Blocked:
            retry = reply.retry  # type: ignore[attr-defined]
            argv = [b"", *args]

            def retry_logged(client: Client) -> object:
                result = retry(client)
                if result.__class__ is not Blocked and client.server.propagate is not None:
                    client.propagate_as = rewrite(argv, result) or None  # type: ignore[attr-defined]
                return result

            reply.retry = retry_logged  # type: ignore[attr-defined]
        elif feeding and getattr(ctx, "propagate_as", None) is None and ctx.server.keyspace.dirty != dirty:
            # Set only when dispatch will propagate (the keyspace changed), so no value is
            # left over for the next command. An empty list logs nothing: the change was
            # only keys expiring on the way, which persistence logs as DELs itself.
            ctx.propagate_as = rewrite([b"", *args], reply)  # type: ignore[attr-defined]
        return reply

    logged_by_effect.__wrapped__ = func  # type: ignore[attr-defined]
    logged_by_effect.__doc__ = func.__doc__
    return logged_by_effect


def install(table: dict) -> None:
    """Wrap the functions of the commands above (once, whatever the number of servers)."""
    for name, rewrite in REWRITERS.items():
        cmd = table.get(name)
        if cmd is None or hasattr(cmd.func, "__wrapped__"):
            continue
        cmd.func = _wrap(cmd.func, rewrite)
