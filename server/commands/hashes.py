"""Hash commands (t_hash.c in Redis).

A hash value is a ``HashValue`` (a dict subclass that remembers whether Redis
would still hold it as a listpack). Every write goes through ``set_fields``,
which checks each field and value against ``hash-max-listpack-value`` and the
size against ``hash-max-listpack-entries``, so OBJECT ENCODING converts at the
same moment Redis does and never converts back. It also reports new fields to
the hash's field order once HSCAN or HRANDFIELD has built one (HDEL reports
removed ones).

Replies follow Redis 7.0: HGETALL is a map in RESP3; HRANDFIELD WITHVALUES
gives pairs in RESP3 and a flat array in RESP2; HSCAN returns a small
(listpack) hash whole with cursor 0 and pages through a big one.
HINCRBYFLOAT adds in ``long double`` as Redis does (``server.longdouble``).
"""

from __future__ import annotations

import random

from server.client import Client
from server.command import command
from server.commands.args import LLONG_MAX, LLONG_MIN, NOT_FLOAT, NOT_INTEGER, OVERFLOW, SYNTAX_ERROR, to_int
from server.commands.keys import parse_cursor, parse_scan_options
from server.datatypes.hash import HashValue
from server.glob import glob_matcher
from server.keyspace import NOTIFY_GENERIC, NOTIFY_HASH, WRONGTYPE, Database
from server.longdouble import LongDoubleError, format_human, parse, round_extended
from server.protocol import OK, Error

EMPTY: list = []
EMPTY_SCAN = [b"0", []]
HALF_LONG = LLONG_MAX // 2


def notify(ctx: Client, event: bytes, key: bytes, kind: int = NOTIFY_HASH) -> None:
    ks = ctx.server.keyspace
    if ks.notify_flags & kind:
        ks.notify(kind, event, key, ctx.db.id)


def hash_for_read(db: Database, key: bytes) -> HashValue | None:
    """The hash at ``key`` for a read (counts hits and misses); None if absent; WRONGTYPE otherwise."""
    return db.lookup_type(key, HashValue)  # type: ignore[return-value]


def hash_for_write(ctx: Client, key: bytes) -> HashValue:
    """The hash at ``key``, created empty (and stored) if absent; WRONGTYPE for another type.

    The caller calls ``db.touch`` once it has really changed the hash (WATCH must
    not fire for an HSETNX that found its field).
    """
    db = ctx.db
    value = db.lookup_type(key, HashValue, read=False)
    if value is None:
        value = HashValue()
        db.add(key, value)
    return value  # type: ignore[return-value]


def set_fields(ctx: Client, key: bytes, h: HashValue, pairs: tuple[bytes, ...]) -> int:
    """Store field/value pairs, tracking the encoding; returns how many fields are new."""
    ctx.db.touch(key)
    config = ctx.server.config.values
    max_value = config["hash-max-listpack-value"]
    added = 0
    tracked = h.order is not None  # HSCAN/HRANDFIELD keep a field order: report new fields
    for i in range(0, len(pairs), 2):
        field = pairs[i]
        value = pairs[i + 1]
        if h.listpack and (len(field) > max_value or len(value) > max_value):  # type: ignore[operator]
            h.listpack = False
        if field not in h:
            added += 1
            if tracked:
                h.field_added(field)
        h[field] = value
    if h.listpack and len(h) > config["hash-max-listpack-entries"]:  # type: ignore[operator]
        h.listpack = False
    return added


# --------------------------------------------------------------------------- writes


@command("hset", arity=-4, flags="write denyoom fast", keys=(1, 1, 1), acl="hash", group="hash",
         since="2.0.0", summary="Sets fields of a hash (creating it); returns how many fields were new.",
         args="key field value [field value ...]", complexity="O(1) per field")
def hset(ctx: Client, key: bytes, *pairs: bytes) -> int:
    if len(pairs) % 2:
        raise Error(b"ERR wrong number of arguments for 'hset' command")
    h = hash_for_write(ctx, key)
    added = set_fields(ctx, key, h, pairs)
    notify(ctx, b"hset", key)
    return added


@command("hmset", arity=-4, flags="write denyoom fast", keys=(1, 1, 1), acl="hash", group="hash",
         since="2.0.0", summary="Sets fields of a hash (the older form of HSET, replying OK).",
         args="key field value [field value ...]", complexity="O(1) per field")
def hmset(ctx: Client, key: bytes, *pairs: bytes) -> object:
    if len(pairs) % 2:
        raise Error(b"ERR wrong number of arguments for 'hmset' command")
    h = hash_for_write(ctx, key)
    set_fields(ctx, key, h, pairs)
    notify(ctx, b"hset", key)
    return OK


@command("hsetnx", arity=4, flags="write denyoom fast", keys=(1, 1, 1), acl="hash", group="hash",
         since="2.0.0", summary="Sets a field of a hash only if the field does not exist yet.",
         args="key field value")
def hsetnx(ctx: Client, key: bytes, field: bytes, value: bytes) -> int:
    h = hash_for_write(ctx, key)
    if field in h:
        return 0
    set_fields(ctx, key, h, (field, value))
    notify(ctx, b"hset", key)
    return 1


@command("hdel", arity=-3, flags="write fast", keys=(1, 1, 1), acl="hash", group="hash", since="2.0.0",
         summary="Removes fields from a hash; returns how many existed.", args="key field [field ...]",
         complexity="O(1) per field")
def hdel(ctx: Client, key: bytes, *fields: bytes) -> int:
    db = ctx.db
    h = db.lookup(key)
    if h is None:
        return 0
    if h.__class__ is not HashValue:
        raise WRONGTYPE
    deleted = 0
    for field in fields:
        if h.pop(field, None) is not None:  # type: ignore[attr-defined]
            deleted += 1
            h.field_removed(field)  # type: ignore[attr-defined]
            if not h:
                break
    if deleted:
        notify(ctx, b"hdel", key)
        if h:
            db.touch(key)
        else:
            db.delete(key)
            notify(ctx, b"del", key, NOTIFY_GENERIC)
    return deleted


@command("hincrby", arity=4, flags="write denyoom fast", keys=(1, 1, 1), acl="hash", group="hash",
         since="2.0.0", summary="Adds an integer to a hash field's integer value (a missing field counts as 0).",
         args="key field increment")
def hincrby(ctx: Client, key: bytes, field: bytes, increment: bytes) -> int:
    delta = to_int(increment)
    if delta is None:
        raise NOT_INTEGER
    h = hash_for_write(ctx, key)
    old = h.get(field)
    if old is None:
        current = 0
    else:
        current = to_int(old)  # type: ignore[assignment]
        if current is None:
            raise Error(b"ERR hash value is not an integer")
    result = current + delta
    if result > LLONG_MAX or result < LLONG_MIN:
        raise OVERFLOW
    set_fields(ctx, key, h, (field, b"%d" % result))
    notify(ctx, b"hincrby", key)
    return result


@command("hincrbyfloat", arity=4, flags="write denyoom fast", keys=(1, 1, 1), acl="hash", group="hash",
         since="2.6.0", summary="Adds a decimal number to a hash field's numeric value (a missing field counts as 0).",
         args="key field increment")
def hincrbyfloat(ctx: Client, key: bytes, field: bytes, increment: bytes) -> bytes:
    try:
        delta = parse(increment)
    except LongDoubleError:
        raise NOT_FLOAT from None
    if isinstance(delta, float):  # parse gives a float only for ±inf
        raise Error(b"ERR value is NaN or Infinity")
    h = hash_for_write(ctx, key)
    old = h.get(field)
    if old is None:
        current = 0
    else:
        try:
            current = parse(old)  # type: ignore[assignment]
        except LongDoubleError:
            raise Error(b"ERR hash value is not a float") from None
        if isinstance(current, float):
            raise Error(b"ERR increment would produce NaN or Infinity")
    total = round_extended(current + delta)
    if isinstance(total, float):
        raise Error(b"ERR increment would produce NaN or Infinity")
    text = format_human(total)
    set_fields(ctx, key, h, (field, text))
    notify(ctx, b"hincrbyfloat", key)
    return text


# --------------------------------------------------------------------------- reads


@command("hget", arity=3, flags="readonly fast", keys=(1, 1, 1), acl="hash", group="hash", since="2.0.0",
         summary="Returns the value of a hash field, or nil.", args="key field")
def hget(ctx: Client, key: bytes, field: bytes) -> bytes | None:
    h = hash_for_read(ctx.db, key)
    return None if h is None else h.get(field)


@command("hmget", arity=-3, flags="readonly fast", keys=(1, 1, 1), acl="hash", group="hash", since="2.0.0",
         summary="Returns the values of several hash fields (nil for each missing one).",
         args="key field [field ...]", complexity="O(1) per field")
def hmget(ctx: Client, key: bytes, *fields: bytes) -> list:
    h = hash_for_read(ctx.db, key)
    if h is None:
        return [None] * len(fields)
    get = h.get
    return [get(field) for field in fields]


@command("hlen", arity=2, flags="readonly fast", keys=(1, 1, 1), acl="hash", group="hash", since="2.0.0",
         summary="Returns the number of fields in a hash.", args="key")
def hlen(ctx: Client, key: bytes) -> int:
    h = hash_for_read(ctx.db, key)
    return 0 if h is None else len(h)


@command("hstrlen", arity=3, flags="readonly fast", keys=(1, 1, 1), acl="hash", group="hash", since="3.2.0",
         summary="Returns the length in bytes of a hash field's value (0 if missing).", args="key field")
def hstrlen(ctx: Client, key: bytes, field: bytes) -> int:
    h = hash_for_read(ctx.db, key)
    if h is None:
        return 0
    value = h.get(field)
    return 0 if value is None else len(value)


@command("hexists", arity=3, flags="readonly fast", keys=(1, 1, 1), acl="hash", group="hash", since="2.0.0",
         summary="Tells whether a hash has a field (1) or not (0).", args="key field")
def hexists(ctx: Client, key: bytes, field: bytes) -> int:
    h = hash_for_read(ctx.db, key)
    return 1 if h is not None and field in h else 0


@command("hkeys", arity=2, flags="readonly", keys=(1, 1, 1), acl="hash", group="hash", since="2.0.0",
         summary="Returns every field name of a hash.", args="key", complexity="O(N)")
def hkeys(ctx: Client, key: bytes) -> list:
    h = hash_for_read(ctx.db, key)
    return EMPTY if h is None else list(h)


@command("hvals", arity=2, flags="readonly", keys=(1, 1, 1), acl="hash", group="hash", since="2.0.0",
         summary="Returns every value of a hash.", args="key", complexity="O(N)")
def hvals(ctx: Client, key: bytes) -> list:
    h = hash_for_read(ctx.db, key)
    return EMPTY if h is None else list(h.values())


@command("hgetall", arity=2, flags="readonly", keys=(1, 1, 1), acl="hash", group="hash", since="2.0.0",
         summary="Returns every field and value of a hash (a map in RESP3).", args="key", complexity="O(N)")
def hgetall(ctx: Client, key: bytes) -> dict:
    h = hash_for_read(ctx.db, key)
    return {} if h is None else dict(h)


# --------------------------------------------------------------------------- random fields and scans


def field_reply(ctx: Client, pairs: list[tuple[bytes, bytes]], withvalues: bool) -> list:
    """HRANDFIELD's array: fields, or with values flat pairs (RESP2) or [field, value] pairs (RESP3)."""
    if not withvalues:
        return [field for field, _ in pairs]
    if ctx.resp == 3:
        return [[field, value] for field, value in pairs]
    out: list = []
    for field, value in pairs:
        out.append(field)
        out.append(value)
    return out


@command("hrandfield", arity=-2, flags="readonly", keys=(1, 1, 1), acl="hash", group="hash", since="6.2.0",
         summary="Returns random fields of a hash; a negative count allows repeats.",
         args="key [count [WITHVALUES]]", complexity="O(N) for N fields returned")
def hrandfield(ctx: Client, key: bytes, *args: bytes) -> object:
    if not args:
        h = hash_for_read(ctx.db, key)
        if h is None or not h:
            return None
        return h.random_field()
    count = to_int(args[0])
    if count is None:
        raise NOT_INTEGER
    if count == LLONG_MIN:
        raise Error(b"ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    withvalues = False
    if len(args) > 2 or (len(args) == 2 and args[1].lower() != b"withvalues"):
        raise SYNTAX_ERROR
    if len(args) == 2:
        withvalues = True
        if count < -HALF_LONG or count > HALF_LONG:
            raise Error(b"ERR value is out of range")
    h = hash_for_read(ctx.db, key)
    if h is None or count == 0:
        return EMPTY
    size = len(h)
    if count < 0 or count == 1:
        # Repeats allowed: each pick is independent.
        pick = h.random_field
        picks = []
        for _ in range(abs(count)):
            field = pick()
            picks.append((field, h[field]))
        return field_reply(ctx, picks, withvalues)
    if count >= size:
        return field_reply(ctx, list(h.items()), withvalues)
    if count * 3 > size:
        chosen = random.sample(list(h), count)
    else:
        # A small share of a big hash: draw until enough distinct fields (Redis's case 4).
        distinct: dict[bytes, None] = {}
        pick = h.random_field
        while len(distinct) < count:
            distinct[pick()] = None
        chosen = list(distinct)
    return field_reply(ctx, [(field, h[field]) for field in chosen], withvalues)


@command("hscan", arity=-3, flags="readonly", keys=(1, 1, 1), acl="hash", group="hash", since="2.8.0",
         summary="Iterates the fields and values of a hash a page at a time, by cursor.",
         args="key cursor [MATCH pattern] [COUNT count]", complexity="O(1) per call, O(N) for a full iteration")
def hscan(ctx: Client, key: bytes, cursor_arg: bytes, *options: bytes) -> list:
    cursor = parse_cursor(cursor_arg)
    h = hash_for_read(ctx.db, key)
    if h is None:
        return EMPTY_SCAN
    count, pattern, _ = parse_scan_options(options, allow_type=False)
    if h.listpack:
        # Redis returns a listpack-encoded hash whole, whatever the cursor.
        next_cursor, fields = 0, list(h)
    else:
        next_cursor, fields = h.scan(cursor, count)
    match = glob_matcher(pattern)
    out: list = []
    for field in fields:
        if match is None or match(field):
            out.append(field)
            out.append(h[field])
    return [b"%d" % next_cursor, out]
