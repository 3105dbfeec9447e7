"""String commands: a key holding one byte string (t_string.c in Redis).

A string value is ``bytes``; commands that modify one in place (APPEND,
SETRANGE, SETBIT) turn it into a ``bytearray``, which is also how OBJECT
ENCODING tells "raw" from "embstr". A reply never hands out a stored
bytearray itself: inside MULTI the reply is written after later commands ran,
so GET, MGET and GETEX reply with a ``bytes`` snapshot. Numbers are parsed only by the commands
that need them (INCR ...), with Redis's error texts; INCR stores its result
as ``bytes`` again, as Redis stores it as an integer.

Every command emits the keyspace events Redis emits, in Redis's order: ``set``
(and ``expire`` when an expiry comes with it), ``append``, ``setrange``,
``incrby``, ``incrbyfloat``; GETDEL emits the generic ``del`` and GETEX
``expire``, ``persist`` or ``del``.

GET, SET, INCR and MSET are the hot path of the benchmark: they read the
database's dicts directly and avoid calls and allocations they do not need.
"""

from __future__ import annotations

from server.client import Client
from server.command import K_ACCESS, K_OW, K_RW, K_UPDATE, command
from server.commands.args import (
    LLONG_MAX,
    LLONG_MIN,
    NAN_OR_INFINITY,
    NOT_FLOAT,
    NOT_INTEGER,
    OVERFLOW,
    SYNTAX_ERROR,
    ArgCursor,
    OneOf,
    clamp_range,
    parse_int,
    to_int,
)
from server.commands.keys import int_encoded
from server.keyspace import NOTIFY_GENERIC, NOTIFY_STRING, WRONGTYPE, Database, now_ms
from server.longdouble import LongDoubleError, format_human, parse, round_extended
from server.protocol import OK, Error

TOO_BIG = Error(b"ERR string exceeds maximum allowed size (proto-max-bulk-len)")
_INVALID_EXPIRE = b"ERR invalid expire time in '%s' command"



def string_at(db: Database, key: bytes) -> bytes | bytearray | None:
    """The string at ``key`` for a write command (no hit/miss counting); WRONGTYPE otherwise."""
    value = db.lookup(key)
    if value is not None and value.__class__ is not bytes and value.__class__ is not bytearray:
        raise WRONGTYPE
    return value


def check_length(ctx: Client, size: int) -> None:
    """Refuse a string longer than ``proto-max-bulk-len`` (Redis's checkStringLength)."""
    if size > ctx.server.config.get_int("proto-max-bulk-len"):
        raise TOO_BIG


def in_place(db: Database, key: bytes, value: bytes | bytearray) -> bytearray:
    """The value at ``key`` as a bytearray that can be modified in place ("raw" encoding)."""
    if value.__class__ is bytearray:
        return value
    raw = bytearray(value)
    db.unaccount(key, value)
    db.data[key] = raw
    db.stale.add(key)  # counted as a bytearray from now on
    return raw


# --------------------------------------------------------------------------- GET and SET


@command("get", arity=2, flags="readonly fast", acl="string", group="string",
         summary="Returns the string stored at a key, or nil.", args="key",
         keys="RO access @1")
def get(ctx: Client, key: bytes) -> object:
    db = ctx.db
    value = db.data.get(key)
    if value is None or db.expires or db.track:  # the fast path skips only what it can
        value = db.lookup_read(key)
    else:
        db.keyspace.hits += 1
    if value is None or value.__class__ is bytes:
        return value
    if value.__class__ is bytearray:
        return bytes(value)  # a snapshot: the stored value may change before the reply is written
    raise WRONGTYPE


def expiry_deadline(ctx: Client, arg: bytes, unit_ms: int, relative: bool) -> int:
    """An EX/PX/EXAT/PXAT argument as an absolute deadline in ms (getExpireMillisecondsOrReply)."""
    value = parse_int(arg)
    if value <= 0 or (unit_ms == 1000 and value > LLONG_MAX // 1000):
        raise Error(_INVALID_EXPIRE % ctx.last_command)
    value *= unit_ms
    if relative:
        value += now_ms()
        if value > LLONG_MAX:
            raise Error(_INVALID_EXPIRE % ctx.last_command)
    return value


# Expiry options: their unit in ms and whether the value is relative to now.
_EXPIRY_OPTIONS = {b"EX": (1000, True), b"PX": (1, True), b"EXAT": (1000, False), b"PXAT": (1, False)}


def parse_string_options(opts: tuple[bytes, ...], for_set: bool) -> tuple[bytes | None, bool, bool, bool, tuple | None]:
    """SET's and GETEX's options, accepted in any order and repeated as Redis accepts them.

    Returns (NX/XX or None, GET, KEEPTTL, PERSIST, (unit_ms, relative, argument) or None).
    An option conflicting with one already given, or missing its argument, is a syntax error.
    """
    condition = OneOf(b"NX", b"XX")
    # KEEPTTL (SET) and PERSIST (GETEX) exclude the expiry options, as one more word of their group.
    expire = OneOf(*_EXPIRY_OPTIONS, b"KEEPTTL" if for_set else b"PERSIST")
    get_old = False
    expiry = None
    args = ArgCursor(opts)
    while args:
        opt = args.next_keyword()
        if for_set and opt == b"GET":
            get_old = True
        elif not ((for_set and condition.take(opt)) or expire.take(opt)):
            raise SYNTAX_ERROR
        elif opt in _EXPIRY_OPTIONS:
            expiry = (*_EXPIRY_OPTIONS[opt], args.next_bytes())  # none left: a syntax error
    keep_ttl = expire.chosen == b"KEEPTTL"
    persist = expire.chosen == b"PERSIST"
    return condition.chosen, get_old, keep_ttl, persist, expiry


def _set_keys(argv: list[bytes]) -> list[tuple[int, int]]:
    """setGetKeys: the key is read too only when a GET option follows the value."""
    if any(arg.lower() == b"get" for arg in argv[3:]):
        return [(1, K_RW | K_ACCESS | K_UPDATE)]
    return [(1, K_OW | K_UPDATE)]


@command("set", arity=-3, flags="write denyoom", acl="string", group="string",
         summary="Stores a string at a key, with optional expiry and conditions.",
         args="key value [NX|XX]{name=condition,since=2.6.12} [GET{since=6.2.0}] [EX "
              "seconds{since=2.6.12}|PX milliseconds{since=2.6.12}|EXAT "
              "unix-time-seconds{since=6.2.0}|PXAT "
              "unix-time-milliseconds{since=6.2.0}|KEEPTTL{since=6.0.0}]{name=expiration}",
         keys="RW access update variable_flags @1 # RW and ACCESS due to the optional `GET` argument",
         getkeys=_set_keys)
def set_(ctx: Client, key: bytes, value: bytes, *opts: bytes) -> object:
    db = ctx.db
    if not opts:
        if db.expires:
            db.lookup(key)  # an expired key goes first, with its "expired" event
        db.set(key, value)
        ks = db.keyspace
        if ks.notify_flags & NOTIFY_STRING:
            ks.notify(NOTIFY_STRING, b"set", key, db.id)
        return OK
    condition, get_old, keep_ttl, _, expiry = parse_string_options(opts, for_set=True)
    deadline = expiry_deadline(ctx, expiry[2], expiry[0], expiry[1]) if expiry else None
    old = db.get_string(key) if get_old else db.lookup(key)  # GET reads like GET: hits, misses
    if (condition == b"NX" and old is not None) or (condition == b"XX" and old is None):
        return old if get_old else None
    db.set(key, value, keep_ttl=keep_ttl)
    ctx.db.notify(NOTIFY_STRING, b"set", key)
    if deadline is not None:
        db.set_expire(key, deadline)
        ctx.db.notify(NOTIFY_GENERIC, b"expire", key)
    return old if get_old else OK


def set_with_ttl(ctx: Client, key: bytes, ttl: bytes, value: bytes, unit_ms: int) -> object:
    """SETEX and PSETEX: SET with a relative expiry."""
    deadline = expiry_deadline(ctx, ttl, unit_ms, True)
    db = ctx.db
    db.lookup(key)
    db.set(key, value)
    ctx.db.notify(NOTIFY_STRING, b"set", key)
    db.set_expire(key, deadline)
    ctx.db.notify(NOTIFY_GENERIC, b"expire", key)
    return OK


@command("setex", arity=4, flags="write denyoom", acl="string", group="string",
         summary="Stores a string at a key with a time to live in seconds.",
         args="key seconds value", since="2.0.0",
         keys="OW update @1")
def setex(ctx: Client, key: bytes, seconds: bytes, value: bytes) -> object:
    return set_with_ttl(ctx, key, seconds, value, 1000)


@command("psetex", arity=4, flags="write denyoom", acl="string", group="string",
         summary="Stores a string at a key with a time to live in milliseconds.",
         args="key milliseconds value", since="2.6.0",
         keys="OW update @1")
def psetex(ctx: Client, key: bytes, milliseconds: bytes, value: bytes) -> object:
    return set_with_ttl(ctx, key, milliseconds, value, 1)


@command("setnx", arity=3, flags="write denyoom fast", acl="string", group="string",
         summary="Stores a string at a key only if the key does not exist; 1 if stored.",
         args="key value",
         keys="OW insert @1")
def setnx(ctx: Client, key: bytes, value: bytes) -> int:
    db = ctx.db
    if db.lookup(key) is not None:
        return 0
    db.set(key, value)
    ctx.db.notify(NOTIFY_STRING, b"set", key)
    return 1


@command("getset", arity=3, flags="write denyoom fast", acl="string", group="string",
         summary="Stores a string at a key and returns the string it held before.",
         args="key value",
         keys="RW access update @1",
         doc_flags="deprecated", deprecated_since="6.2.0", replaced_by="`SET` with the `!GET` argument")
def getset(ctx: Client, key: bytes, value: bytes) -> object:
    db = ctx.db
    old = db.get_string(key)
    db.set(key, value)
    ctx.db.notify(NOTIFY_STRING, b"set", key)
    return old


@command("getdel", arity=2, flags="write fast", acl="string", group="string",
         summary="Returns the string at a key and deletes the key.", args="key", since="6.2.0",
         keys="RW access delete @1")
def getdel(ctx: Client, key: bytes) -> object:
    db = ctx.db
    old = db.get_string(key)
    if old is not None:
        db.delete_with_event(key)
    return old


@command("getex", arity=-2, flags="write fast", acl="string", group="string",
         summary="Returns the string at a key and sets or removes its time to live.",
         args="key [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT "
              "unix-time-milliseconds|PERSIST]{name=expiration}",
         since="6.2.0",
         keys="RW access update @1 # RW and UPDATE because it changes the TTL")
def getex(ctx: Client, key: bytes, *opts: bytes) -> object:
    _, _, _, persist, expiry = parse_string_options(opts, for_set=False)
    db = ctx.db
    value = db.get_string(key)
    if value is None:
        return None
    if expiry is not None:
        deadline = expiry_deadline(ctx, expiry[2], expiry[0], expiry[1])
        if not expiry[1] and deadline <= now_ms():
            # An absolute time already past: the key goes at once.
            db.delete_with_event(key)
        else:
            db.set_expire(key, deadline)
            db.touch(key)
            ctx.db.notify(NOTIFY_GENERIC, b"expire", key)
    elif persist and db.persist(key):
        db.touch(key)
        ctx.db.notify(NOTIFY_GENERIC, b"persist", key)
    return bytes(value) if value.__class__ is bytearray else value


# --------------------------------------------------------------------------- several keys


@command("mget", arity=-2, flags="readonly fast", acl="string", group="string",
         summary="Returns the strings at several keys (nil where missing or not a string).",
         args="key ...", complexity="O(N) for N keys",
         keys="RO access @1 range(-1,1,0)", tips="request_policy:multi_shard")
def mget(ctx: Client, *keys: bytes) -> list:
    out = []
    lookup = ctx.db.lookup_read
    for key in keys:
        value = lookup(key)
        if value is not None and value.__class__ is not bytes:
            value = bytes(value) if value.__class__ is bytearray else None
        out.append(value)
    return out


@command("mset", arity=-3, flags="write denyoom", acl="string", group="string",
         since="1.0.1", summary="Stores several strings at once.", args="(key value){name=key_value} ...",
         complexity="O(N) for N keys",
         keys="OW update @1 range(-1,2,0)", tips="request_policy:multi_shard response_policy:all_succeeded")
def mset(ctx: Client, *pairs: bytes) -> object:
    if len(pairs) & 1:
        raise Error(b"ERR wrong number of arguments for 'mset' command")
    db = ctx.db
    ks = db.keyspace
    pairs_in = iter(pairs)
    if not db.expires and not ks.notify_flags & NOTIFY_STRING:
        # The benchmarked case, settled for the whole command: no deadline to expire first
        # (setting keys adds none), no event to send.
        db.set_strings(zip(pairs_in, pairs_in))
        return OK
    for key, value in zip(pairs_in, pairs_in):
        if db.expires:
            db.lookup(key)
        db.set(key, value)
        if ks.notify_flags & NOTIFY_STRING:
            ks.notify(NOTIFY_STRING, b"set", key, db.id)
    return OK


@command("msetnx", arity=-3, flags="write denyoom", acl="string", group="string",
         since="1.0.1", summary="Stores several strings only if none of the keys exists; 1 if stored.",
         args="(key value){name=key_value} ...", complexity="O(N) for N keys",
         keys="OW insert @1 range(-1,2,0)", tips="request_policy:multi_shard response_policy:agg_min")
def msetnx(ctx: Client, *pairs: bytes) -> int:
    if len(pairs) & 1:
        raise Error(b"ERR wrong number of arguments for 'msetnx' command")
    db = ctx.db
    for i in range(0, len(pairs), 2):
        if db.lookup(pairs[i]) is not None:
            return 0
    for i in range(0, len(pairs), 2):
        db.set(pairs[i], pairs[i + 1])
        ctx.db.notify(NOTIFY_STRING, b"set", pairs[i])
    return 1


# --------------------------------------------------------------------------- numbers


def incr_by(ctx: Client, key: bytes, delta: int) -> int:
    """The shared body of INCR/DECR/INCRBY/DECRBY: the result keeps the key's TTL."""
    db = ctx.db
    old = db.data.get(key)
    if old is not None and (db.expires or db.track):
        old = db.lookup(key)  # expiry and the access clock: the full path
    if old is None:
        result = delta
    else:
        if not isinstance(old, (bytes, bytearray)):
            raise WRONGTYPE
        current = to_int(old)
        if current is None:
            raise NOT_INTEGER
        result = current + delta
        if result > LLONG_MAX or result < LLONG_MIN:
            raise OVERFLOW
    db.set(key, b"%d" % result, keep_ttl=True)
    ks = db.keyspace
    if ks.notify_flags & NOTIFY_STRING:
        ks.notify(NOTIFY_STRING, b"incrby", key, db.id)
    return result


@command("incr", arity=2, flags="write denyoom fast", acl="string", group="string",
         summary="Adds one to the integer stored at a key.", args="key",
         keys="RW access update @1")
def incr(ctx: Client, key: bytes) -> int:
    return incr_by(ctx, key, 1)


@command("decr", arity=2, flags="write denyoom fast", acl="string", group="string",
         summary="Subtracts one from the integer stored at a key.", args="key",
         keys="RW access update @1")
def decr(ctx: Client, key: bytes) -> int:
    return incr_by(ctx, key, -1)


@command("incrby", arity=3, flags="write denyoom fast", acl="string", group="string",
         summary="Adds an integer to the integer stored at a key.", args="key increment",
         keys="RW access update @1")
def incrby(ctx: Client, key: bytes, increment: bytes) -> int:
    delta = parse_int(increment)
    return incr_by(ctx, key, delta)


@command("decrby", arity=3, flags="write denyoom fast", acl="string", group="string",
         summary="Subtracts an integer from the integer stored at a key.", args="key decrement",
         keys="RW access update @1")
def decrby(ctx: Client, key: bytes, decrement: bytes) -> int:
    delta = parse_int(decrement)
    if delta == LLONG_MIN:
        raise Error(b"ERR decrement would overflow")
    return incr_by(ctx, key, -delta)


@command("incrbyfloat", arity=3, flags="write denyoom fast", acl="string", group="string",
         summary="Adds a decimal number to the number stored at a key.", args="key increment{type=double}",
         since="2.6.0",
         keys="RW access update @1")
def incrbyfloat(ctx: Client, key: bytes, increment: bytes) -> bytes:
    db = ctx.db
    old = string_at(db, key)
    try:
        current = parse(old) if old is not None else 0
        delta = parse(increment)
    except LongDoubleError:
        raise NOT_FLOAT from None
    if isinstance(current, float) or isinstance(delta, float):
        # An infinite operand: the sum is infinite or NaN either way.
        raise NAN_OR_INFINITY
    total = round_extended(current + delta)
    if isinstance(total, float):
        raise NAN_OR_INFINITY
    text = format_human(total)
    # Redis stores the result as it prints it, a plain string: even "3" is an embstr, not an int.
    db.set(key, db.keyspace.marked_string(text, b"embstr") if int_encoded(text) else text, keep_ttl=True)
    ctx.db.notify(NOTIFY_STRING, b"incrbyfloat", key)
    return text


# --------------------------------------------------------------------------- ranges and lengths


@command("append", arity=3, flags="write denyoom fast", acl="string", group="string",
         summary="Appends to the string at a key (creating it); returns the new length.",
         args="key value", since="2.0.0",
         keys="RW insert @1")
def append(ctx: Client, key: bytes, value: bytes) -> int:
    db = ctx.db
    old = string_at(db, key)
    if old is None:
        db.set(key, value)
        length = len(value)
    else:
        check_length(ctx, len(old) + len(value))
        raw = in_place(db, key, old)
        raw += value
        db.touch(key)
        length = len(raw)
    ctx.db.notify(NOTIFY_STRING, b"append", key)
    return length


@command("strlen", arity=2, flags="readonly fast", keys="RO @1", acl="string", group="string",
         summary="Returns the length in bytes of the string at a key.", args="key", since="2.2.0")
def strlen(ctx: Client, key: bytes) -> int:
    value = ctx.db.get_string(key)
    return 0 if value is None else len(value)


@command("getrange", arity=4, flags="readonly", acl="string", group="string",
         summary="Returns a substring of the string at a key (inclusive offsets, negative from the end).",
         args="key start end", since="2.4.0", complexity="O(N)",
         keys="RO access @1")
def getrange(ctx: Client, key: bytes, start: bytes, end: bytes) -> bytes:
    first = to_int(start)
    last = to_int(end)
    if first is None or last is None:
        raise NOT_INTEGER
    value = ctx.db.get_string(key)
    if value is None:
        return b""
    size = len(value)
    if first < 0 and last < 0 and first > last:
        return b""
    first, last = clamp_range(first, last, size)
    if first > last or size == 0:
        return b""
    return bytes(value[first : last + 1])


@command("substr", arity=4, flags="readonly", acl="string", group="string",
         summary="Returns a substring of the string at a key (the old name of GETRANGE).",
         args="key start end", complexity="O(N)",
         keys="RO access @1",
         doc_flags="deprecated", deprecated_since="2.0.0", replaced_by="`GETRANGE`")
def substr(ctx: Client, key: bytes, start: bytes, end: bytes) -> bytes:
    return getrange(ctx, key, start, end)


@command("setrange", arity=4, flags="write denyoom", acl="string", group="string",
         summary="Overwrites part of the string at a key from an offset, padding with zero bytes.",
         args="key offset value", since="2.2.0",
         keys="RW update @1")
def setrange(ctx: Client, key: bytes, offset: bytes, value: bytes) -> int:
    start = parse_int(offset)
    if start < 0:
        raise Error(b"ERR offset is out of range")
    db = ctx.db
    old = string_at(db, key)
    if not value:
        return 0 if old is None else len(old)
    check_length(ctx, start + len(value))
    if old is None:
        raw = bytearray(start)
        db.set(key, raw)
    else:
        raw = in_place(db, key, old)
        if len(raw) < start:
            raw.extend(bytes(start - len(raw)))
    raw[start : start + len(value)] = value
    db.touch(key)
    ctx.db.notify(NOTIFY_STRING, b"setrange", key)
    return len(raw)


# --------------------------------------------------------------------------- LCS


def _lcs_string(value: object) -> bytes:
    """LCS reads strings only (a missing key is empty)."""
    if value is None:
        return b""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    raise Error(b"ERR The specified keys must contain string values")


@command("lcs", arity=-3, flags="readonly", acl="string", group="string",
         summary="Finds the longest common subsequence of two strings, its length or its matching ranges.",
         args="key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]", since="7.0.0",
         complexity="O(N*M)",
         keys="RO access @1 range(1,1,0)")
def lcs(ctx: Client, key1: bytes, key2: bytes, *opts: bytes) -> object:
    db = ctx.db
    a = _lcs_string(db.lookup_read(key1))
    b = _lcs_string(db.lookup_read(key2))
    want_len = want_idx = with_len = False
    min_len = 0
    args = ArgCursor(opts)
    while args:
        opt = args.next_keyword()
        if opt == b"IDX":
            want_idx = True
        elif opt == b"LEN":
            want_len = True
        elif opt == b"WITHMATCHLEN":
            with_len = True
        elif opt == b"MINMATCHLEN" and args.has(1):
            min_len = max(args.next_int(), 0)
        else:
            raise SYNTAX_ERROR
    if want_len and want_idx:
        raise Error(b"ERR If you want both the length and indexes, please just use IDX.")
    if (len(a) + 1) * (len(b) + 1) * 4 > ctx.server.config.get_int("proto-max-bulk-len"):
        raise Error(b"ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")
    rows = lcs_rows(a, b)
    total = lcs_length(rows, len(a), len(b))
    if want_len and not want_idx:
        return total
    common, matches = lcs_walk(a, b, rows, total, min_len, with_len)
    if want_idx:
        return {b"matches": matches, b"len": total}
    return common


def lcs_rows(a: bytes, b: bytes) -> list[int]:
    """The LCS table of ``a`` and ``b``, one bit vector per row (Hyyrö's bit-parallel method).

    Bit j of row i is 0 where LCS(a[:i], b[:j+1]) exceeds LCS(a[:i], b[:j]):
    so LCS(a[:i], b[:j]) is the number of zero bits among the low j bits of row i.
    Each row costs a few big-integer operations instead of len(b) Python steps.
    """
    width = len(b)
    full = (1 << width) - 1
    positions: dict[int, int] = {}
    for j, ch in enumerate(b):
        positions[ch] = positions.get(ch, 0) | (1 << j)
    row = full
    rows = [row]
    for ch in a:
        match = row & positions.get(ch, 0)
        row = ((row + match) | (row - match)) & full
        rows.append(row)
    return rows


def lcs_length(rows: list[int], i: int, j: int) -> int:
    """LCS(a[:i], b[:j]) read from the bit-vector table."""
    return j - (rows[i] & ((1 << j) - 1)).bit_count()


def lcs_walk(a: bytes, b: bytes, rows: list[int], total: int, min_len: int,
             with_len: bool) -> tuple[bytes, list]:
    """Walk the table back from the end as Redis does: the common string and the matched ranges.

    Ranges are reported from the end of the strings backwards, each as
    [[a_start, a_end], [b_start, b_end]] (and its length with WITHMATCHLEN),
    skipping those shorter than ``min_len``.
    """
    out = bytearray(total)
    idx = total
    matches: list = []
    i, j = len(a), len(b)
    a_start = a_end = b_start = b_end = -1  # a_start == -1: no range open
    while i > 0 and j > 0:
        emit = False
        if a[i - 1] == b[j - 1]:
            out[idx - 1] = a[i - 1]
            if a_start == -1:
                a_start = a_end = i - 1
                b_start = b_end = j - 1
            elif a_start == i and b_start == j:
                a_start -= 1
                b_start -= 1
            else:
                emit = True
            if a_start == 0 or b_start == 0:
                emit = True
            idx -= 1
            i -= 1
            j -= 1
        else:
            if lcs_length(rows, i - 1, j) > lcs_length(rows, i, j - 1):
                i -= 1
            else:
                j -= 1
            if a_start != -1:
                emit = True
        if emit:
            match_len = a_end - a_start + 1
            if min_len == 0 or match_len >= min_len:
                entry: list[object] = [[a_start, a_end], [b_start, b_end]]
                if with_len:
                    entry.append(match_len)
                matches.append(entry)
            a_start = -1
    return bytes(out), matches
