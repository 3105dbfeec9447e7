"""String commands: a key holding one byte string (t_string.c in Redis).

A string value is ``bytes``; commands that modify one in place (APPEND,
SETRANGE, SETBIT) turn it into a ``bytearray``, which is also how OBJECT
ENCODING tells "raw" from "embstr". Numbers are parsed only by the commands
that need them (INCR ...), with Redis's error texts.
"""

from __future__ import annotations

from server.client import Client
from server.command import command
from server.commands.args import LLONG_MAX, LLONG_MIN, NOT_INTEGER, OVERFLOW, SYNTAX_ERROR, to_int
from server.keyspace import NOTIFY_GENERIC, NOTIFY_STRING, WRONGTYPE, now_ms
from server.protocol import OK, Error

MAX_STRING = 512 * 1024 * 1024


def notify(ctx: Client, event: bytes, key: bytes, kind: int = NOTIFY_STRING) -> None:
    ks = ctx.server.keyspace
    if ks.notify_flags & kind:
        ks.notify(kind, event, key, ctx.db.id)


@command("get", arity=2, flags="readonly fast", keys=(1, 1, 1), acl="string", group="string",
         summary="Returns the string stored at a key, or nil.", args="key")
def get(ctx: Client, key: bytes) -> object:
    db = ctx.db
    value = db.data.get(key)
    if value is None or db.expires:
        value = db.lookup_read(key)
    else:
        db.keyspace.hits += 1
    if value is not None and value.__class__ is not bytes and value.__class__ is not bytearray:
        raise WRONGTYPE
    return value


_INVALID_EXPIRE = b"ERR invalid expire time in '%s' command"


def parse_expiry_option(name: bytes, opt: bytes, arg: bytes, command_name: bytes) -> int:
    """EX/PX/EXAT/PXAT value → an absolute deadline in ms (Redis's getExpireMillisecondsOrReply)."""
    value = to_int(arg)
    if value is None:
        raise NOT_INTEGER
    if value <= 0:
        raise Error(_INVALID_EXPIRE % command_name)
    if opt in (b"EX", b"EXAT"):
        if value > LLONG_MAX // 1000:
            raise Error(_INVALID_EXPIRE % command_name)
        value *= 1000
    if opt in (b"EX", b"PX"):
        value += now_ms()
        if value > LLONG_MAX:
            raise Error(_INVALID_EXPIRE % command_name)
    return value


@command("set", arity=-3, flags="write denyoom", keys=(1, 1, 1), acl="string", group="string",
         summary="Stores a string at a key, with optional expiry and conditions.",
         args="key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|"
              "PXAT unix-time-milliseconds|KEEPTTL]")
def set_(ctx: Client, key: bytes, value: bytes, *opts: bytes) -> object:
    db = ctx.db
    if not opts:
        db.set(key, value)
        notify(ctx, b"set", key)
        return OK
    condition = None
    get_old = False
    keep_ttl = False
    expire_opt = None
    deadline = None
    i = 0
    n = len(opts)
    while i < n:
        opt = opts[i].upper()
        if opt in (b"NX", b"XX") and condition is None:
            condition = opt
        elif opt == b"NX" or opt == b"XX":
            raise SYNTAX_ERROR
        elif opt == b"GET" and not get_old:
            get_old = True
        elif opt == b"KEEPTTL" and expire_opt is None and not keep_ttl:
            keep_ttl = True
        elif opt in (b"EX", b"PX", b"EXAT", b"PXAT") and expire_opt is None and not keep_ttl and i + 1 < n:
            expire_opt = opt
            i += 1
            deadline_arg = opts[i]
        else:
            raise SYNTAX_ERROR
        i += 1
    if expire_opt is not None:
        deadline = parse_expiry_option(b"", expire_opt, deadline_arg, b"set")
    old = db.lookup(key)
    if get_old and old is not None and old.__class__ is not bytes and old.__class__ is not bytearray:
        raise WRONGTYPE
    if (condition == b"NX" and old is not None) or (condition == b"XX" and old is None):
        return old if get_old else None
    db.set(key, value, keep_ttl=keep_ttl)
    notify(ctx, b"set", key)
    if deadline is not None:
        db.set_expire(key, deadline)
        notify(ctx, b"expire", key, NOTIFY_GENERIC)
    return old if get_old else OK


@command("mget", arity=-2, flags="readonly fast", keys=(1, -1, 1), acl="string", group="string",
         summary="Returns the strings at several keys (nil where missing or not a string).",
         args="key [key ...]")
def mget(ctx: Client, *keys: bytes) -> list:
    out = []
    lookup = ctx.db.lookup_read
    for key in keys:
        value = lookup(key)
        if value is not None and value.__class__ is not bytes and value.__class__ is not bytearray:
            value = None
        out.append(value)
    return out


@command("mset", arity=-3, flags="write denyoom", keys=(1, -1, 2), acl="string", group="string",
         since="1.0.1", summary="Stores several strings at once.", args="key value [key value ...]")
def mset(ctx: Client, *pairs: bytes) -> object:
    if len(pairs) % 2:
        raise Error(b"ERR wrong number of arguments for 'mset' command")
    db = ctx.db
    for i in range(0, len(pairs), 2):
        db.set(pairs[i], pairs[i + 1])
        notify(ctx, b"set", pairs[i])
    return OK


def incr_by(ctx: Client, key: bytes, delta: int) -> int:
    """The shared body of INCR/DECR/INCRBY/DECRBY."""
    db = ctx.db
    old = db.lookup(key)
    if old is None:
        current = 0
    elif old.__class__ is bytes or old.__class__ is bytearray:
        current = to_int(bytes(old))  # type: ignore[arg-type]
        if current is None:
            raise NOT_INTEGER
    else:
        raise WRONGTYPE
    result = current + delta
    if result > LLONG_MAX or result < LLONG_MIN:
        raise OVERFLOW
    db.set(key, b"%d" % result, keep_ttl=True)
    notify(ctx, b"incrby", key)
    return result


@command("incr", arity=2, flags="write denyoom fast", keys=(1, 1, 1), acl="string", group="string",
         summary="Adds one to the integer stored at a key.", args="key")
def incr(ctx: Client, key: bytes) -> int:
    return incr_by(ctx, key, 1)


@command("decr", arity=2, flags="write denyoom fast", keys=(1, 1, 1), acl="string", group="string",
         summary="Subtracts one from the integer stored at a key.", args="key")
def decr(ctx: Client, key: bytes) -> int:
    return incr_by(ctx, key, -1)


@command("incrby", arity=3, flags="write denyoom fast", keys=(1, 1, 1), acl="string", group="string",
         summary="Adds an integer to the integer stored at a key.", args="key increment")
def incrby(ctx: Client, key: bytes, increment: bytes) -> int:
    delta = to_int(increment)
    if delta is None:
        raise NOT_INTEGER
    return incr_by(ctx, key, delta)


@command("decrby", arity=3, flags="write denyoom fast", keys=(1, 1, 1), acl="string", group="string",
         summary="Subtracts an integer from the integer stored at a key.", args="key decrement")
def decrby(ctx: Client, key: bytes, decrement: bytes) -> int:
    delta = to_int(decrement)
    if delta is None:
        raise NOT_INTEGER
    if delta == LLONG_MIN:
        raise Error(b"ERR decrement would overflow")
    return incr_by(ctx, key, -delta)
