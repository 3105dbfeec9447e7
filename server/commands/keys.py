"""Generic key commands: they work on a key whatever its type (db.c, expire.c and object.c in Redis).

DEL UNLINK EXISTS TYPE KEYS SCAN RANDOMKEY RENAME RENAMENX TOUCH MOVE COPY,
the expiry commands (EXPIRE PEXPIRE EXPIREAT PEXPIREAT with NX XX GT LT, TTL
PTTL EXPIRETIME PEXPIRETIME PERSIST) and OBJECT.

Replies, errors and keyspace events follow Redis 7.0, including the quiet
details: an EXPIRE whose time is already past deletes the key and sends
``del``, RENAME onto the same key is a no-op once the key is known to exist,
TTL rounds to the nearest second.

Which lookups count as an access: Redis updates a key's LRU/LFU clock on
every lookup except those flagged NOTOUCH (EXISTS, TYPE, TTL and friends,
OBJECT, SCAN's TYPE filter), which use ``Database.peek`` here. The access
clock itself costs memory per key, so it is recorded only once needed
(``Keyspace.track_access``): from the first OBJECT IDLETIME, or while
``maxmemory-policy`` is an LRU or LFU policy. A key not accessed since tracking
began reports an idle time counted from then, and LFU's initial counter (5).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, cast

from server.client import Client
from server.command import command, container
from server.commands.args import (
    DB_OUT_OF_RANGE,
    INT_MAX,
    LLONG_MAX,
    NO_SUCH_KEY,
    SYNTAX_ERROR,
    ArgCursor,
    parse_c_int,
    parse_int,
    parse_scan_cursor,
    parse_scan_options,
    to_int,
)
from server.glob import glob_matcher
from server.keyspace import (
    ACCESS_LFU,
    ACCESS_LRU,
    NOTIFY_GENERIC,
    Database,
    Keyspace,
    now_ms,
    type_name,
)
from server.protocol import OK, Error, Status

if TYPE_CHECKING:
    pass

SAME_OBJECT = Error(b"ERR source and destination objects are the same")
SHARED_INTEGERS = 10000  # Redis shares the string objects "0" .. "9999" (REFCOUNT says INT_MAX)



# --------------------------------------------------------------------------- values


def int_encoded(value: bytes) -> bool:
    """Whether Redis stores these bytes as an int (tryObjectEncoding: a canonical 64-bit integer)."""
    return len(value) <= 20 and to_int(value) is not None


def encoding_of(keyspace: Keyspace, value: Any) -> bytes:
    """OBJECT ENCODING's answer: Redis's names for how the value is stored."""
    cls = value.__class__
    if cls is bytearray:
        return b"raw"
    if cls is bytes:
        marking = keyspace.string_marking(value)
        if marking is not None:
            return marking
        if int_encoded(value):
            return b"int"
        return b"embstr" if len(value) <= 44 else b"raw"
    encoding = getattr(value, "encoding", None)
    return encoding() if callable(encoding) else b"unknown"


class _Copyable(Protocol):
    """Every collection value class (``server.datatypes``) copies itself."""

    def copy(self) -> object: ...


def shared_integer(value: object) -> bool:
    """A string Redis stores as one of its shared integer objects ("0" .. "9999")."""
    if value.__class__ is not bytes:
        return False
    number = to_int(value) if len(value) <= 4 else None
    return number is not None and 0 <= number < SHARED_INTEGERS


def copy_value(keyspace: Keyspace, value: object) -> object:
    """An independent copy of a value for COPY: immutable bytes are shared, the rest duplicated
    (a small integer, or a marked string, becomes a value of its own, as Redis's duplicate
    is: ``Keyspace.marked_string``)."""
    if isinstance(value, bytes):
        marking = keyspace.string_marking(value)
        if marking is not None:
            return keyspace.marked_string(value, marking)
        return keyspace.marked_string(value, b"int") if shared_integer(value) else value
    if isinstance(value, bytearray):
        return bytearray(value)
    return cast(_Copyable, value).copy()


def place(db: Database, key: bytes, value: object, deadline: int | None) -> None:
    """Store ``value`` at a free ``key`` with its deadline, and wake clients blocked on it."""
    db.add(key, value)
    if deadline is not None:
        db.set_expire(key, deadline)
    db.signal_ready(key)


def db_index(ctx: Client, arg: bytes) -> Database:
    """The database a DB argument names (Redis reads it as a C int, then selects it)."""
    index = parse_c_int(arg)
    dbs = ctx.server.keyspace.dbs
    if not 0 <= index < len(dbs):
        raise DB_OUT_OF_RANGE
    return dbs[index]


# --------------------------------------------------------------------------- existence


def delete_keys(ctx: Client, keys: tuple[bytes, ...]) -> int:
    """DEL and UNLINK: an expired key goes first (with its ``expired`` event) and does not count."""
    db = ctx.db
    removed = 0
    for key in keys:
        if db.expires:
            db.expire_if_needed(key)
        if db.delete_with_event(key):
            removed += 1
    return removed


@command("del", arity=-2, flags="write", acl="keyspace", group="generic",
         summary="Removes keys; returns how many existed.", args="key ...",
         complexity="O(N) for N keys; O(M) for a collection of M elements",
         keys="RM delete @1 range(-1,1,0)", tips="request_policy:multi_shard response_policy:agg_sum")
def del_(ctx: Client, *keys: bytes) -> int:
    return delete_keys(ctx, keys)


@command("unlink", arity=-2, flags="write fast", acl="keyspace", group="generic",
         since="4.0.0", summary="Removes keys like DEL (memory is freed at once here); returns how many existed.",
         args="key ...", complexity="O(1) for each key",
         keys="RM delete @1 range(-1,1,0)", tips="request_policy:multi_shard response_policy:agg_sum")
def unlink(ctx: Client, *keys: bytes) -> int:
    return delete_keys(ctx, keys)


@command("exists", arity=-2, flags="readonly fast", acl="keyspace", group="generic",
         summary="Counts how many of the given keys exist (a key named twice counts twice).",
         args="key ...", since="1.0.0", complexity="O(N) for N keys",
         keys="RO @1 range(-1,1,0)", tips="request_policy:multi_shard response_policy:agg_sum")
def exists(ctx: Client, *keys: bytes) -> int:
    lookup = ctx.db.lookup_read
    return sum(1 for key in keys if lookup(key, False) is not None)


@command("type", arity=2, flags="readonly fast", acl="keyspace", group="generic",
         summary="Returns the type of the value at a key, or none.", args="key",
         keys="RO @1")
def type_(ctx: Client, key: bytes) -> Status:
    value = ctx.db.lookup_read(key, False)
    name = b"none" if value is None else type_name(value)
    reply = TYPE_REPLIES.get(name)
    if reply is None:
        reply = TYPE_REPLIES[name] = Status(name)
    return reply


TYPE_REPLIES: dict[bytes, Status] = {}  # one Status per type name, built on first use


@command("touch", arity=-2, flags="readonly fast", acl="keyspace", group="generic",
         since="3.2.1", summary="Counts the given keys that exist, marking each as just accessed.",
         args="key ...", complexity="O(N) for N keys",
         keys="RO @1 range(-1,1,0)", tips="request_policy:multi_shard response_policy:agg_sum")
def touch(ctx: Client, *keys: bytes) -> int:
    lookup = ctx.db.lookup_read
    return sum(1 for key in keys if lookup(key) is not None)


# --------------------------------------------------------------------------- finding keys


@command("keys", arity=2, flags="readonly", acl="keyspace dangerous", group="generic",
         summary="Lists every key matching a glob pattern (walks the whole database).", args="pattern",
         complexity="O(N) for N keys in the database",
         tips="request_policy:all_shards nondeterministic_output_order")
def keys(ctx: Client, pattern: bytes) -> list[bytes]:
    db = ctx.db
    match = glob_matcher(pattern)
    found = list(db.data) if match is None else [key for key in db.data if match(key)]
    expires = db.expires
    if expires and found:
        # Expired keys are left in place (KEYS only reads) but not listed.
        now = now_ms()
        found = [key for key in found if expires.get(key, now) >= now]
    return found


@command("scan", arity=-2, flags="readonly", acl="keyspace", group="generic", since="2.8.0",
         summary="Iterates the keys of the database a page at a time, by cursor, with optional filters.",
         args="cursor [MATCH pattern] [COUNT count] [TYPE type{since=6.0.0}]",
         complexity="O(1) per call, O(N) for a full iteration",
         tips="nondeterministic_output request_policy:special")
def scan(ctx: Client, cursor_arg: bytes, *options: bytes) -> list:
    cursor = parse_scan_cursor(cursor_arg)
    count, pattern, typename = parse_scan_options(options, allow_type=True)
    db = ctx.db
    cursor, found = db.scan(cursor, count)
    match = glob_matcher(pattern)
    if match is not None:
        found = [key for key in found if match(key)]
    if typename is not None:
        wanted = typename.lower()
        lookup = db.lookup_read
        kept = []
        for key in found:
            value = lookup(key, False)
            # An expired key reads as type "none": TYPE none keeps it to the expiry filter below.
            if (b"none" if value is None else type_name(value)) == wanted:
                kept.append(key)
        found = kept
    if db.expires:
        found = [key for key in found if not db.expire_if_needed(key)]
    return [b"%d" % cursor, found]


@command("randomkey", arity=1, flags="readonly", acl="keyspace", group="generic",
         summary="Returns a random key of the database, or nil when it is empty.",
         tips="request_policy:all_shards nondeterministic_output")
def randomkey(ctx: Client) -> bytes | None:
    return ctx.db.random_key()


# --------------------------------------------------------------------------- renaming and moving


def rename_key(ctx: Client, src: bytes, dst: bytes, nx: bool) -> object:
    db = ctx.db
    value = db.lookup(src)
    if value is None:
        raise NO_SUCH_KEY
    if src == dst:
        return 0 if nx else OK
    deadline = db.deadline(src)
    dirty = db.keyspace.dirty
    if db.lookup(dst) is not None:
        if nx:
            return 0
        db.delete(dst)
    access = db.access.get(src) if db.track else None
    place(db, dst, value, deadline)
    if access is not None:
        db.access[dst] = access  # the same object keeps its LRU/LFU clock, as in Redis
    db.delete(src)
    db.keyspace.dirty = dirty + 1  # one change, as Redis counts it (not one per step)
    db.notify(NOTIFY_GENERIC, b"rename_from", src)
    db.notify(NOTIFY_GENERIC, b"rename_to", dst)
    return 1 if nx else OK


@command("rename", arity=3, flags="write", acl="keyspace", group="generic",
         summary="Gives a key a new name, replacing any key already there.", args="key newkey{ks=1}",
         keys=("RW access delete @1", "OW update @2"))
def rename(ctx: Client, src: bytes, dst: bytes) -> object:
    return rename_key(ctx, src, dst, nx=False)


@command("renamenx", arity=3, flags="write fast", acl="keyspace", group="generic",
         summary="Gives a key a new name only if that name is free; 1 if renamed.", args="key newkey{ks=1}",
         keys=("RW access delete @1", "OW insert @2"))
def renamenx(ctx: Client, src: bytes, dst: bytes) -> object:
    return rename_key(ctx, src, dst, nx=True)


@command("move", arity=3, flags="write fast", acl="keyspace", group="generic",
         summary="Moves a key to another database unless it exists there; 1 if moved.", args="key db",
         keys="RW access update @1")
def move(ctx: Client, key: bytes, db_arg: bytes) -> int:
    if ctx.server.cluster is not None:
        raise Error(b"ERR MOVE is not allowed in cluster mode")
    src = ctx.db
    dst = db_index(ctx, db_arg)
    if dst is src:
        raise SAME_OBJECT
    value = src.lookup(key)
    if value is None:
        return 0
    deadline = src.deadline(key)
    if dst.lookup(key) is not None:
        return 0
    access = src.access.get(key) if src.track else None
    dirty = src.keyspace.dirty
    place(dst, key, value, deadline)
    if access is not None:
        dst.access[key] = access
    src.delete(key)
    src.keyspace.dirty = dirty + 1
    src.notify(NOTIFY_GENERIC, b"move_from", key)
    dst.notify(NOTIFY_GENERIC, b"move_to", key)
    return 1


@command("copy", arity=-3, flags="write denyoom", acl="keyspace", group="generic",
         since="6.2.0", summary="Copies a key's value, and its time to live, to another key (optionally in "
                               "another database); 1 if copied.",
         args="source destination{ks=1} [DB destination-db] [REPLACE]",
         complexity="O(N) for a collection of N elements, O(1) for a string",
         keys=("RO access @1", "OW update @2"))
def copy(ctx: Client, src: bytes, dst: bytes, *options: bytes) -> int:
    source_db = target = ctx.db
    replace = False
    args = ArgCursor(options)
    while args:
        option = args.next_keyword()
        if option == b"REPLACE":
            replace = True
        elif option == b"DB" and args.has(1):
            target = db_index(ctx, args.next_bytes())
        else:
            raise SYNTAX_ERROR
    if ctx.server.cluster is not None and (source_db.id != 0 or target.id != 0):
        raise Error(b"ERR Copying to another database is not allowed in cluster mode")
    if target is source_db and src == dst:
        raise SAME_OBJECT
    value = source_db.lookup_read(src)
    if value is None:
        return 0
    deadline = source_db.deadline(src)
    dirty = target.keyspace.dirty
    if target.lookup(dst) is not None:
        if not replace:
            return 0
        target.delete(dst)
    place(target, dst, copy_value(target.keyspace, value), deadline)
    target.keyspace.dirty = dirty + 1
    target.notify(NOTIFY_GENERIC, b"copy_to", dst)
    return 1


# --------------------------------------------------------------------------- expiry


def parse_expire_flags(options: tuple[bytes, ...]) -> tuple[bool, bool, bool, bool]:
    """NX XX GT LT, with Redis's errors for unknown and incompatible ones."""
    nx = xx = gt = lt = False
    for option in options:
        name = option.lower()
        if name == b"nx":
            nx = True
        elif name == b"xx":
            xx = True
        elif name == b"gt":
            gt = True
        elif name == b"lt":
            lt = True
        else:
            raise Error(b"ERR Unsupported option " + option.split(b"\x00", 1)[0])  # (C string: ends at a NUL)
    if nx and (xx or gt or lt):
        raise Error(b"ERR NX and XX, GT or LT options at the same time are not compatible")
    if gt and lt:
        raise Error(b"ERR GT and LT options at the same time are not compatible")
    return nx, xx, gt, lt


def expire_generic(ctx: Client, name: bytes, key: bytes, when_arg: bytes, options: tuple[bytes, ...],
                   unit_ms: int, relative: bool) -> int:
    """EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT (Redis's expireGenericCommand)."""
    nx, xx, gt, lt = parse_expire_flags(options)
    when = parse_int(when_arg)
    invalid = Error(b"ERR invalid expire time in '%s' command" % name)
    if unit_ms == 1000:
        if when > LLONG_MAX // 1000 or when < -(LLONG_MAX // 1000):
            raise invalid
        when *= 1000
    base = now_ms() if relative else 0
    if when > LLONG_MAX - base:
        raise invalid
    when += base
    db = ctx.db
    if db.lookup(key) is None:
        return 0
    if nx or xx or gt or lt:
        current = db.deadline(key)
        if nx and current is not None:
            return 0
        if xx and current is None:
            return 0
        if gt and (current is None or when <= current):
            return 0
        if lt and current is not None and when >= current:
            return 0
    if when <= now_ms():
        db.delete_with_event(key)
        return 1
    db.set_expire(key, when)
    db.touch(key)
    db.notify(NOTIFY_GENERIC, b"expire", key)
    return 1


@command("expire", arity=-3, flags="write fast", acl="keyspace", group="generic",
         summary="Sets a key's time to live in seconds (a time in the past deletes it).",
         args="key seconds [NX|XX|GT|LT]{name=condition,since=7.0.0}",
         keys="RW update @1")
def expire(ctx: Client, key: bytes, seconds: bytes, *options: bytes) -> int:
    return expire_generic(ctx, b"expire", key, seconds, options, 1000, True)


@command("pexpire", arity=-3, flags="write fast", acl="keyspace", group="generic",
         since="2.6.0", summary="Sets a key's time to live in milliseconds (a time in the past deletes it).",
         args="key milliseconds [NX|XX|GT|LT]{name=condition,since=7.0.0}",
         keys="RW update @1")
def pexpire(ctx: Client, key: bytes, milliseconds: bytes, *options: bytes) -> int:
    return expire_generic(ctx, b"pexpire", key, milliseconds, options, 1, True)


@command("expireat", arity=-3, flags="write fast", acl="keyspace", group="generic",
         since="1.2.0", summary="Makes a key expire at a Unix time in seconds (a time in the past deletes it).",
         args="key unix-time-seconds [NX|XX|GT|LT]{name=condition,since=7.0.0}",
         keys="RW update @1")
def expireat(ctx: Client, key: bytes, when: bytes, *options: bytes) -> int:
    return expire_generic(ctx, b"expireat", key, when, options, 1000, False)


@command("pexpireat", arity=-3, flags="write fast", acl="keyspace", group="generic",
         since="2.6.0", summary="Makes a key expire at a Unix time in milliseconds (a time in the past deletes it).",
         args="key unix-time-milliseconds [NX|XX|GT|LT]{name=condition,since=7.0.0}",
         keys="RW update @1")
def pexpireat(ctx: Client, key: bytes, when: bytes, *options: bytes) -> int:
    return expire_generic(ctx, b"pexpireat", key, when, options, 1, False)


def ttl_generic(ctx: Client, key: bytes, in_ms: bool, absolute: bool) -> int:
    """TTL, PTTL, EXPIRETIME, PEXPIRETIME: -2 for no key, -1 for no expiry (ttlGenericCommand)."""
    db = ctx.db
    if db.lookup_read(key, False) is None:
        return -2
    deadline = db.deadline(key)
    if deadline is None:
        return -1
    value = deadline if absolute else max(deadline - now_ms(), 0)
    return value if in_ms else (value + 500) // 1000


@command("ttl", arity=2, flags="readonly fast", acl="keyspace", group="generic",
         summary="Seconds left before a key expires (-1: no expiry, -2: no key).", args="key",
         keys="RO access @1", tips="nondeterministic_output")
def ttl(ctx: Client, key: bytes) -> int:
    return ttl_generic(ctx, key, False, False)


@command("pttl", arity=2, flags="readonly fast", acl="keyspace", group="generic",
         since="2.6.0", summary="Milliseconds left before a key expires (-1: no expiry, -2: no key).", args="key",
         keys="RO access @1", tips="nondeterministic_output")
def pttl(ctx: Client, key: bytes) -> int:
    return ttl_generic(ctx, key, True, False)


@command("expiretime", arity=2, flags="readonly fast", acl="keyspace", group="generic",
         since="7.0.0", summary="The Unix time in seconds when a key expires (-1: no expiry, -2: no key).",
         args="key",
         keys="RO access @1")
def expiretime(ctx: Client, key: bytes) -> int:
    return ttl_generic(ctx, key, False, True)


@command("pexpiretime", arity=2, flags="readonly fast", acl="keyspace", group="generic",
         since="7.0.0", summary="The Unix time in milliseconds when a key expires (-1: no expiry, -2: no key).",
         args="key",
         keys="RO access @1")
def pexpiretime(ctx: Client, key: bytes) -> int:
    return ttl_generic(ctx, key, True, True)


@command("persist", arity=2, flags="write fast", acl="keyspace", group="generic",
         since="2.2.0", summary="Removes a key's time to live; 1 if it had one.", args="key",
         keys="RW update @1")
def persist(ctx: Client, key: bytes) -> int:
    db = ctx.db
    if db.lookup(key) is None or not db.persist(key):
        return 0
    db.touch(key)
    db.notify(NOTIFY_GENERIC, b"persist", key)
    return 1


# --------------------------------------------------------------------------- OBJECT

LFU_SELECTED = Error(
    b"ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching "
    b"between policies at runtime LRU and LFU data will take some time to adjust."
)
LFU_NOT_SELECTED = Error(
    b"ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when "
    b"switching between policies at runtime LRU and LFU data will take some time to adjust."
)
OBJECT_HELP = [Status(line) for line in (
    b"OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    b"ENCODING <key>",
    b"    Return the kind of internal representation used in order to store the value",
    b"    associated with a <key>.",
    b"FREQ <key>",
    b"    Return the access frequency index of the <key>. The returned integer is",
    b"    proportional to the logarithm of the recent access frequency of the key.",
    b"IDLETIME <key>",
    b"    Return the idle time of the <key>, that is the approximated number of",
    b"    seconds elapsed since the last access to the key.",
    b"REFCOUNT <key>",
    b"    Return the number of references of the value associated with the specified",
    b"    <key>.",
    b"HELP",
    b"    Prints this help.",
)]

container("object", summary="Inspects how a key's value is stored and how recently it was used.",
          group="generic", since="2.2.3")


def object_lookup(ctx: Client, key: bytes) -> object | None:
    """OBJECT's lookup: no access recorded, no keymiss event, but hits and misses counted."""
    db = ctx.db
    value = db.peek(key)
    if value is None:
        db.keyspace.misses += 1
    else:
        db.keyspace.hits += 1
    return value


def lfu_policy(ctx: Client) -> bool:
    return "lfu" in ctx.server.config.get_str("maxmemory-policy")


@command("object|encoding", arity=3, flags="readonly", acl="keyspace", group="generic",
         since="2.2.3", summary="Names the internal representation of a key's value.", args="key",
         keys="RO @2", tips="nondeterministic_output")
def object_encoding(ctx: Client, _sub: bytes, key: bytes) -> bytes | None:
    value = object_lookup(ctx, key)
    return None if value is None else encoding_of(ctx.db.keyspace, value)


@command("object|refcount", arity=3, flags="readonly", acl="keyspace", group="generic",
         since="2.2.3", summary="How many references the value has (shared small integers report INT_MAX).",
         args="key",
         keys="RO @2", tips="nondeterministic_output")
def object_refcount(ctx: Client, _sub: bytes, key: bytes) -> int | None:
    value = object_lookup(ctx, key)
    if value is None:
        return None
    if shared_integer(value) and shared_integers(ctx) and ctx.db.keyspace.string_marking(value) is None:
        return INT_MAX
    return 1


def shared_integers(ctx: Client) -> bool:
    """Redis shares small integer values unless maxmemory is set with an LRU/LFU policy."""
    config = ctx.server.config
    policy = config.get_str("maxmemory-policy")
    return not config.get_int("maxmemory") or not ("lru" in policy or "lfu" in policy)


@command("object|idletime", arity=3, flags="readonly", acl="keyspace", group="generic",
         since="2.2.3", summary="Seconds since the key was last read or written.", args="key",
         keys="RO @2", tips="nondeterministic_output")
def object_idletime(ctx: Client, _sub: bytes, key: bytes) -> int | None:
    value = object_lookup(ctx, key)
    if value is None:
        return None
    if lfu_policy(ctx):
        raise LFU_SELECTED
    ks = ctx.server.keyspace
    if ks.access_mode != ACCESS_LRU:
        ks.track_access(ACCESS_LRU)
    return ctx.db.idle_ms(key) // 1000


@command("object|freq", arity=3, flags="readonly", acl="keyspace", group="generic",
         since="4.0.0", summary="The key's logarithmic access counter (under an LFU maxmemory-policy).",
         args="key",
         keys="RO @2", tips="nondeterministic_output")
def object_freq(ctx: Client, _sub: bytes, key: bytes) -> int | None:
    value = object_lookup(ctx, key)
    if value is None:
        return None
    if not lfu_policy(ctx):
        raise LFU_NOT_SELECTED
    ks = ctx.server.keyspace
    if ks.access_mode != ACCESS_LFU:
        ks.track_access(ACCESS_LFU)
    return ctx.db.access_frequency(key)


@command("object|help", arity=2, flags="loading stale", acl="keyspace", group="generic", since="6.2.0",
         summary="Lists OBJECT's subcommands.")
def object_help(ctx: Client, _sub: bytes) -> list[Status]:
    return OBJECT_HELP
