"""Generic key commands: they work on a key whatever its type (db.c, expire.c in Redis)."""

from __future__ import annotations

from server.client import Client
from server.command import command
from server.keyspace import NOTIFY_GENERIC, type_name


def encoding_of(value: object) -> bytes:
    """OBJECT ENCODING's answer: Redis's names for how the value is stored."""
    cls = value.__class__
    if cls is bytearray:
        return b"raw"
    if cls is bytes:
        if len(value) <= 20 and _is_int_encodable(value):  # type: ignore[arg-type]
            return b"int"
        return b"embstr" if len(value) <= 44 else b"raw"  # type: ignore[arg-type]
    encoding = getattr(value, "encoding", None)
    return encoding() if callable(encoding) else b"unknown"


def _is_int_encodable(value: bytes) -> bool:
    from server.commands.args import to_int

    return to_int(value) is not None


@command("del", arity=-2, flags="write", keys=(1, -1, 1), acl="keyspace", group="generic",
         summary="Removes keys; returns how many existed.", args="key [key ...]")
def del_(ctx: Client, *keys: bytes) -> int:
    db = ctx.db
    ks = db.keyspace
    removed = 0
    for key in keys:
        if db.lookup(key) is not None and db.delete(key):
            removed += 1
            if ks.notify_flags & NOTIFY_GENERIC:
                ks.notify(NOTIFY_GENERIC, b"del", key, db.id)
    return removed


@command("exists", arity=-2, flags="readonly fast", keys=(1, -1, 1), acl="keyspace", group="generic",
         summary="Counts how many of the given keys exist (a key named twice counts twice).",
         args="key [key ...]")
def exists(ctx: Client, *keys: bytes) -> int:
    lookup = ctx.db.lookup
    return sum(1 for key in keys if lookup(key) is not None)


@command("type", arity=2, flags="readonly fast", keys=(1, 1, 1), acl="keyspace", group="generic",
         summary="Returns the type of the value at a key, or none.", args="key")
def type_(ctx: Client, key: bytes) -> object:
    from server.protocol import Status

    value = ctx.db.lookup(key)
    return Status(b"none" if value is None else type_name(value))
