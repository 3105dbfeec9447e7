"""Hash commands (t_hash.c in Redis).

A hash value is a ``HashValue`` (a dict subclass that remembers whether Redis
would still hold it as a listpack). Every write goes through ``set_fields``,
which checks the fields and values it stores against ``hash-max-listpack-value``
and the size against ``hash-max-listpack-entries``, so OBJECT ENCODING converts
in the same command as Redis and never converts back. It also reports new
fields to the hash's field order once HSCAN or HRANDFIELD has built one (HDEL
reports removed ones).

Replies follow Redis 7.0: HGETALL is a map in RESP3; HRANDFIELD WITHVALUES
gives pairs in RESP3 and a flat array in RESP2; HSCAN returns a small
(listpack) hash whole with cursor 0 and pages through a big one.
HINCRBYFLOAT adds in ``long double`` as Redis does (``server.longdouble``).
"""

from __future__ import annotations

import random
from fractions import Fraction

from server.client import Client
from server.command import command
from server.commands.args import (
    LLONG_MAX,
    LLONG_MIN,
    NAN_OR_INFINITY,
    NOT_FLOAT,
    OVERFLOW,
    SYNTAX_ERROR,
    check_pair_count,
    parse_int,
    parse_random_count,
    parse_scan_cursor,
    parse_scan_options,
    to_int,
)
from server.datatypes.hash import HashValue
from server.glob import glob_matcher
from server.keyspace import NOTIFY_HASH
from server.longdouble import LongDoubleError, format_human, parse, round_extended
from server.protocol import OK, Error, pair_reply

EMPTY: list = []
EMPTY_SCAN = [b"0", []]



def set_fields(ctx: Client, key: bytes, h: HashValue | None, pairs: tuple[bytes, ...], event: bytes) -> int:
    """Store field/value pairs in ``h`` (a new hash at ``key`` if None), touch, notify ``event``.

    Returns how many fields are new. Redis converts a listpack before storing a
    field or value over ``hash-max-listpack-value`` and after passing
    ``hash-max-listpack-entries``; both are for good, so one check after the
    update gives the encoding Redis ends the command with.
    """
    db = ctx.db
    if h is None:
        h = HashValue()
        db.add(key, h)
    db.touch(key)
    if h.order is not None:  # HSCAN/HRANDFIELD keep a field order: report the new fields to it
        for field in dict.fromkeys(pairs[::2]):
            if field not in h:
                h.field_added(field)
    before = len(h)
    if len(pairs) == 2:  # the usual single pair: cheaper than building the zip
        h[pairs[0]] = pairs[1]
    else:
        it = iter(pairs)
        h.update(zip(it, it))
    if h.listpack:
        config = ctx.server.config
        if (len(h) > config.get_int("hash-max-listpack-entries")
                or max(map(len, pairs)) > config.get_int("hash-max-listpack-value")):
            h.listpack = False
    ks = db.keyspace
    if ks.notify_flags & NOTIFY_HASH:
        ks.notify(NOTIFY_HASH, event, key, db.id)
    return len(h) - before


# --------------------------------------------------------------------------- writes


@command("hset", arity=-4, flags="write denyoom fast", acl="hash", group="hash",
         since="2.0.0", summary="Sets fields of a hash (creating it); returns how many fields were new.",
         args="key (field value){name=field_value} ...", complexity="O(1) per field",
         keys="RW update @1")
def hset(ctx: Client, key: bytes, *pairs: bytes) -> int:
    if len(pairs) % 2:
        raise Error(b"ERR wrong number of arguments for 'hset' command")
    db = ctx.db
    h = db.lookup_type(key, HashValue, read=False)
    if len(pairs) == 2 and h is not None and not h.listpack and h.order is None:
        # The usual one field of a hash past the listpack limits: ``set_fields`` without what
        # does not apply (a new key, a listpack's limits, a field order to keep).
        field = pairs[0]
        added = 0 if field in h else 1
        h[field] = pairs[1]
        db.touch(key)
        ks = db.keyspace
        if ks.notify_flags & NOTIFY_HASH:
            ks.notify(NOTIFY_HASH, b"hset", key, db.id)
        return added
    return set_fields(ctx, key, h, pairs, b"hset")


@command("hmset", arity=-4, flags="write denyoom fast", acl="hash", group="hash",
         since="2.0.0", summary="Sets fields of a hash (the older form of HSET, replying OK).",
         args="key (field value){name=field_value} ...", complexity="O(1) per field",
         keys="RW update @1",
         doc_flags="deprecated", deprecated_since="4.0.0", replaced_by="`HSET` with multiple field-value pairs")
def hmset(ctx: Client, key: bytes, *pairs: bytes) -> object:
    if len(pairs) % 2:
        raise Error(b"ERR wrong number of arguments for 'hmset' command")
    h = ctx.db.lookup_type(key, HashValue, read=False)
    set_fields(ctx, key, h, pairs, b"hset")
    return OK


@command("hsetnx", arity=4, flags="write denyoom fast", acl="hash", group="hash",
         since="2.0.0", summary="Sets a field of a hash only if the field does not exist yet.",
         args="key field value",
         keys="RW insert @1")
def hsetnx(ctx: Client, key: bytes, field: bytes, value: bytes) -> int:
    h = ctx.db.lookup_type(key, HashValue, read=False)
    if h is not None and field in h:
        return 0
    set_fields(ctx, key, h, (field, value), b"hset")
    return 1


@command("hdel", arity=-3, flags="write fast", acl="hash", group="hash", since="2.0.0",
         summary="Removes fields from a hash; returns how many existed.", args="key field ...",
         complexity="O(1) per field",
         keys="RW delete @1")
def hdel(ctx: Client, key: bytes, *fields: bytes) -> int:
    db = ctx.db
    h = db.lookup_type(key, HashValue, read=False)
    if h is None:
        return 0
    deleted = 0
    for field in fields:
        if h.pop(field, None) is not None:
            deleted += 1
            h.field_removed(field)
            if not h:
                break
    if deleted:
        ctx.db.notify(NOTIFY_HASH, b"hdel", key)
        if h:
            db.touch(key)
        else:
            db.delete_with_event(key)
    return deleted


@command("hincrby", arity=4, flags="write denyoom fast", acl="hash", group="hash",
         since="2.0.0", summary="Adds an integer to a hash field's integer value (a missing field counts as 0).",
         args="key field increment",
         keys="RW access update @1")
def hincrby(ctx: Client, key: bytes, field: bytes, increment: bytes) -> int:
    delta = parse_int(increment)
    h = ctx.db.lookup_type(key, HashValue, read=False)
    old = None if h is None else h.get(field)
    current = 0 if old is None else to_int(old)
    if current is None:
        raise Error(b"ERR hash value is not an integer")
    result = current + delta
    if result > LLONG_MAX or result < LLONG_MIN:
        raise OVERFLOW
    set_fields(ctx, key, h, (field, b"%d" % result), b"hincrby")
    return result


@command("hincrbyfloat", arity=4, flags="write denyoom fast", acl="hash", group="hash",
         since="2.6.0", summary="Adds a decimal number to a hash field's numeric value (a missing field counts as 0).",
         args="key field increment{type=double}",
         keys="RW access update @1")
def hincrbyfloat(ctx: Client, key: bytes, field: bytes, increment: bytes) -> bytes:
    try:
        delta = parse(increment)
    except LongDoubleError:
        raise NOT_FLOAT from None
    if isinstance(delta, float):  # parse gives a float only for ±inf
        raise Error(b"ERR value is NaN or Infinity")
    h = ctx.db.lookup_type(key, HashValue, read=False)
    old = None if h is None else h.get(field)
    current = Fraction(0)
    if old is not None:
        try:
            parsed = parse(old)
        except LongDoubleError:
            raise Error(b"ERR hash value is not a float") from None
        if isinstance(parsed, float):
            raise NAN_OR_INFINITY
        current = parsed
    total = round_extended(current + delta)
    if isinstance(total, float):
        raise NAN_OR_INFINITY
    text = format_human(total)
    set_fields(ctx, key, h, (field, text), b"hincrbyfloat")
    return text


# --------------------------------------------------------------------------- reads


@command("hget", arity=3, flags="readonly fast", acl="hash", group="hash", since="2.0.0",
         summary="Returns the value of a hash field, or nil.", args="key field",
         keys="RO access @1")
def hget(ctx: Client, key: bytes, field: bytes) -> bytes | None:
    h = ctx.db.lookup_type(key, HashValue)
    return None if h is None else h.get(field)


@command("hmget", arity=-3, flags="readonly fast", acl="hash", group="hash", since="2.0.0",
         summary="Returns the values of several hash fields (nil for each missing one).",
         args="key field ...", complexity="O(1) per field",
         keys="RO access @1")
def hmget(ctx: Client, key: bytes, *fields: bytes) -> list:
    h = ctx.db.lookup_type(key, HashValue)
    if h is None:
        return [None] * len(fields)
    get = h.get
    return [get(field) for field in fields]


@command("hlen", arity=2, flags="readonly fast", acl="hash", group="hash", since="2.0.0",
         summary="Returns the number of fields in a hash.", args="key",
         keys="RO @1")
def hlen(ctx: Client, key: bytes) -> int:
    h = ctx.db.lookup_type(key, HashValue)
    return 0 if h is None else len(h)


@command("hstrlen", arity=3, flags="readonly fast", acl="hash", group="hash", since="3.2.0",
         summary="Returns the length in bytes of a hash field's value (0 if missing).", args="key field",
         keys="RO @1")
def hstrlen(ctx: Client, key: bytes, field: bytes) -> int:
    h = ctx.db.lookup_type(key, HashValue)
    if h is None:
        return 0
    value = h.get(field)
    return 0 if value is None else len(value)


@command("hexists", arity=3, flags="readonly fast", acl="hash", group="hash", since="2.0.0",
         summary="Tells whether a hash has a field (1) or not (0).", args="key field",
         keys="RO @1")
def hexists(ctx: Client, key: bytes, field: bytes) -> int:
    h = ctx.db.lookup_type(key, HashValue)
    return 1 if h is not None and field in h else 0


@command("hkeys", arity=2, flags="readonly", acl="hash", group="hash", since="2.0.0",
         summary="Returns every field name of a hash.", args="key", complexity="O(N)",
         keys="RO access @1", tips="nondeterministic_output_order")
def hkeys(ctx: Client, key: bytes) -> list:
    h = ctx.db.lookup_type(key, HashValue)
    return EMPTY if h is None else list(h)


@command("hvals", arity=2, flags="readonly", acl="hash", group="hash", since="2.0.0",
         summary="Returns every value of a hash.", args="key", complexity="O(N)",
         keys="RO access @1", tips="nondeterministic_output_order")
def hvals(ctx: Client, key: bytes) -> list:
    h = ctx.db.lookup_type(key, HashValue)
    return EMPTY if h is None else list(h.values())


@command("hgetall", arity=2, flags="readonly", acl="hash", group="hash", since="2.0.0",
         summary="Returns every field and value of a hash (a map in RESP3).", args="key", complexity="O(N)",
         keys="RO access @1", tips="nondeterministic_output_order")
def hgetall(ctx: Client, key: bytes) -> dict:
    h = ctx.db.lookup_type(key, HashValue)
    return {} if h is None else dict(h)


# --------------------------------------------------------------------------- random fields and scans


def field_reply(ctx: Client, pairs: list[tuple[bytes, bytes]], withvalues: bool) -> list:
    """HRANDFIELD's array: fields, or with values flat pairs (RESP2) or [field, value] pairs (RESP3)."""
    if not withvalues:
        return [field for field, _ in pairs]
    return pair_reply(pairs, ctx.resp == 3)


@command("hrandfield", arity=-2, flags="readonly", acl="hash", group="hash", since="6.2.0",
         summary="Returns random fields of a hash; a negative count allows repeats.",
         args="key [count [WITHVALUES]]{name=options}", complexity="O(N) for N fields returned",
         keys="RO access @1", tips="nondeterministic_output")
def hrandfield(ctx: Client, key: bytes, *args: bytes) -> object:
    if not args:
        h = ctx.db.lookup_type(key, HashValue)
        if h is None or not h:
            return None
        return h.random_field()
    count = parse_random_count(args[0])
    if len(args) > 2 or (len(args) == 2 and args[1].lower() != b"withvalues"):
        raise SYNTAX_ERROR
    withvalues = len(args) == 2
    if withvalues:
        check_pair_count(count)
    h = ctx.db.lookup_type(key, HashValue)
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


@command("hscan", arity=-3, flags="readonly", acl="hash", group="hash", since="2.8.0",
         summary="Iterates the fields and values of a hash a page at a time, by cursor.",
         args="key cursor [MATCH pattern] [COUNT count]", complexity="O(1) per call, O(N) for a full iteration",
         keys="RO access @1", tips="nondeterministic_output")
def hscan(ctx: Client, key: bytes, cursor_arg: bytes, *options: bytes) -> list:
    cursor = parse_scan_cursor(cursor_arg)
    h = ctx.db.lookup_type(key, HashValue)
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
