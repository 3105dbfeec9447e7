"""Set commands: unordered collections of unique byte strings (t_set.c in Redis).

A set value is a ``SetValue`` (``server.datatypes.set``). Commands that add
members tell it the configured ``set-max-intset-entries`` so OBJECT ENCODING
follows Redis. A set emptied by a command is deleted, with a ``del`` event
after the command's own event, as Redis does.

Replies that hold a whole set (SMEMBERS, SINTER, SPOP with a count ...) are
``RespSet``: an array in RESP2, a set in RESP3. An intset replies in ascending
numeric order, a hashtable in no particular order.
"""

from __future__ import annotations

import random
from typing import Protocol

from server.client import Client
from server.command import command, numkeys_keys
from server.commands.args import (
    NOT_POSITIVE,
    NUMKEYS_ERROR,
    SYNTAX_ERROR,
    TOO_MANY_KEYS,
    ArgCursor,
    parse_random_count,
    parse_scan_cursor,
    parse_scan_options,
    to_int,
)
from server.datatypes.set import SetValue
from server.glob import glob_matcher
from server.keyspace import NOTIFY_GENERIC, NOTIFY_SET, WRONGTYPE
from server.protocol import Error, RespSet

EMPTY_SET = RespSet()
LIMIT_NEGATIVE = Error(b"ERR LIMIT can't be negative")


def max_intset(ctx: Client) -> int:
    """The configured ``set-max-intset-entries``."""
    return ctx.server.config.get_int("set-max-intset-entries")


def read_set(ctx: Client, key: bytes) -> SetValue | None:
    """The set at ``key`` for a read (counts a hit or miss), None if absent, WRONGTYPE otherwise."""
    return ctx.db.lookup_type(key, SetValue)


def write_set(ctx: Client, key: bytes) -> SetValue | None:
    """The set at ``key`` for a write (no hit/miss counted), None if absent, WRONGTYPE otherwise."""
    return ctx.db.lookup_type(key, SetValue, read=False)


class Members(Protocol):
    """A set or a sorted set, as SREM and ZREM remove from it."""

    def remove(self, member: bytes) -> bool: ...
    def __len__(self) -> int: ...


def remove_members(ctx: Client, key: bytes, value: Members, members: tuple[bytes, ...],
                   event_class: int, event: bytes) -> int:
    """SREM and ZREM: remove ``members``, notify once, delete the emptied key; how many were there."""
    removed = 0
    for member in members:
        if value.remove(member):
            removed += 1
            if not value:
                break
    if removed:
        db = ctx.db
        db.touch(key)
        db.notify(event_class, event, key)
        if not value:
            db.delete_with_event(key)
    return removed


# --------------------------------------------------------------------------- single set


@command("sadd", arity=-3, flags="write denyoom fast", acl="set", group="set",
         summary="Adds members to a set, creating it if needed; returns how many were new.",
         args="key member ...", complexity="O(1) per member",
         keys="RW insert @1")
def sadd(ctx: Client, key: bytes, *members: bytes) -> int:
    db = ctx.db
    value = db.lookup_type(key, SetValue, read=False)
    if value is None:
        value = SetValue(members, max_intset(ctx))
        db.add(key, value)
        added = len(value)
    else:
        added = 0
        pos = value.pos
        listed = value.members
        for member in members:
            if member not in pos:
                pos[member] = len(listed)  # SetValue.add, inlined on this hot path
                listed.append(member)
                if value.intset:
                    value.note_added(member, max_intset(ctx))
                added += 1
        if not added:
            return 0
        db.touch(key)
    ks = db.keyspace
    if ks.notify_flags & NOTIFY_SET:  # (``Database.notify``, inlined)
        ks.notify(NOTIFY_SET, b"sadd", key, db.id)
    return added


@command("srem", arity=-3, flags="write fast", keys="RW delete @1", acl="set", group="set",
         summary="Removes members from a set; returns how many were there.",
         args="key member ...", complexity="O(1) per member")
def srem(ctx: Client, key: bytes, *members: bytes) -> int:
    value = write_set(ctx, key)
    if value is None:
        return 0
    return remove_members(ctx, key, value, members, NOTIFY_SET, b"srem")


@command("smembers", arity=2, flags="readonly", acl="set", group="set",
         summary="Returns every member of a set.", args="key", complexity="O(N)",
         keys="RO access @1", tips="nondeterministic_output_order")
def smembers(ctx: Client, key: bytes) -> RespSet:
    value = read_set(ctx, key)
    if value is None:
        return EMPTY_SET
    return RespSet(value.ordered())


@command("sismember", arity=3, flags="readonly fast", keys="RO @1", acl="set", group="set",
         summary="Tells whether a member belongs to a set (1) or not (0).", args="key member")
def sismember(ctx: Client, key: bytes, member: bytes) -> int:
    value = read_set(ctx, key)
    return 1 if value is not None and member in value.pos else 0


@command("smismember", arity=-3, flags="readonly fast", acl="set", group="set",
         since="6.2.0", summary="Tells, for each given member, whether it belongs to a set.",
         args="key member ...", complexity="O(N) for N members asked",
         keys="RO access @1")
def smismember(ctx: Client, key: bytes, *members: bytes) -> list[int]:
    value = read_set(ctx, key)
    if value is None:
        return [0] * len(members)
    pos = value.pos
    return [1 if m in pos else 0 for m in members]


@command("scard", arity=2, flags="readonly fast", keys="RO @1", acl="set", group="set",
         summary="Returns how many members a set has.", args="key")
def scard(ctx: Client, key: bytes) -> int:
    value = read_set(ctx, key)
    return 0 if value is None else len(value.members)


@command("spop", arity=-2, flags="write fast", acl="set", group="set",
         summary="Removes and returns one or more random members of a set.",
         args="key [count{since=3.2.0}]", complexity="O(1) without count, O(N) with",
         keys="RW access delete @1", tips="nondeterministic_output")
def spop(ctx: Client, key: bytes, *rest: bytes) -> object:
    if rest:
        if len(rest) > 1:
            raise SYNTAX_ERROR
        count = to_int(rest[0])
        if count is None or count < 0:
            raise NOT_POSITIVE
        return _spop_count(ctx, key, count)
    db = ctx.db
    value = db.lookup_type(key, SetValue, read=False)
    if value is None:
        return None
    member = value.pop_random()
    db.touch(key)
    ks = db.keyspace
    if ks.notify_flags & NOTIFY_SET:
        ks.notify(NOTIFY_SET, b"spop", key, db.id)
    if not value.members:
        ctx.db.delete_with_event(key)
    return member


def _spop_count(ctx: Client, key: bytes, count: int) -> RespSet:
    value = write_set(ctx, key)
    if value is None or count == 0:
        return EMPTY_SET
    db = ctx.db
    if count >= len(value):
        members = value.ordered()
        db.delete(key)
        ctx.db.notify(NOTIFY_SET, b"spop", key)
        ctx.db.notify(NOTIFY_GENERIC, b"del", key)
        return RespSet(members)
    popped = value.sample(count)
    for member in popped:
        value.remove(member)
    db.touch(key)
    ctx.db.notify(NOTIFY_SET, b"spop", key)
    return RespSet(popped)


@command("srandmember", arity=-2, flags="readonly", acl="set", group="set",
         summary="Returns random members of a set without removing them; a negative count allows repeats.",
         args="key [count{since=2.6.0}]", complexity="O(1) without count, O(N) with",
         keys="RO access @1", tips="nondeterministic_output")
def srandmember(ctx: Client, key: bytes, *rest: bytes) -> object:
    if not rest:
        value = read_set(ctx, key)
        return None if value is None else value.random_member()
    if len(rest) > 1:
        raise SYNTAX_ERROR
    count = parse_random_count(rest[0])
    value = read_set(ctx, key)
    if value is None or count == 0:
        return []
    size = len(value)
    if count < 0:
        members = value.members
        return [members[i] for i in random.choices(range(size), k=-count)]
    if count >= size:
        return value.ordered()
    return value.sample(count)


@command("smove", arity=4, flags="write fast", acl="set", group="set",
         summary="Moves a member from one set to another.", args="source destination{ks=1} member",
         keys=("RW access delete @1", "RW insert @2"))
def smove(ctx: Client, source: bytes, destination: bytes, member: bytes) -> int:
    src = ctx.db.lookup(source)
    if src is None:
        return 0  # Redis answers 0 before looking at the destination's type
    if src.__class__ is not SetValue:
        raise WRONGTYPE
    dst = write_set(ctx, destination)
    if src is dst:
        return 1 if member in src.pos else 0
    if not src.remove(member):
        return 0
    db = ctx.db
    db.touch(source)
    ctx.db.notify(NOTIFY_SET, b"srem", source)
    if not src.members:
        ctx.db.delete_with_event(source)
    if dst is None:
        db.add(destination, SetValue((member,), max_intset(ctx)))
    else:
        if not dst.add(member):
            return 1
        dst.note_added(member, max_intset(ctx))
        db.touch(destination)
    ctx.db.notify(NOTIFY_SET, b"sadd", destination)
    return 1


# --------------------------------------------------------------------------- set algebra


def _sets_for(ctx: Client, keys: tuple[bytes, ...] | list[bytes]) -> list[SetValue | None]:
    """The sets at ``keys`` (None for missing ones); WRONGTYPE if any holds something else.

    Sources count as reads (keyspace hits and misses) even for the STORE forms, as in Redis.
    """
    lookup = ctx.db.lookup_read
    out: list[SetValue | None] = []
    for key in keys:
        value = lookup(key)
        if value is not None and value.__class__ is not SetValue:
            raise WRONGTYPE
        out.append(value)
    return out


def _intersection(sets: list[SetValue | None], limit: int = 0) -> list[bytes]:
    """Members common to every set, in the smallest set's order; stops at ``limit`` if > 0."""
    present = [s for s in sets if s is not None and s.members]
    if not sets or len(present) < len(sets):
        return []
    ordered = sorted(present, key=len)
    smallest = ordered[0]
    others = [s.pos for s in ordered[1:]]
    out: list[bytes] = []
    for member in smallest.ordered():
        for pos in others:
            if member not in pos:
                break
        else:
            out.append(member)
            if len(out) == limit:
                break
    return out


def _union(sets: list[SetValue | None]) -> list[bytes]:
    merged: dict[bytes, None] = {}
    for s in sets:
        if s is not None:
            merged.update(dict.fromkeys(s.members))
    return list(merged)


def _difference(sets: list[SetValue | None]) -> list[bytes]:
    first = sets[0]
    if first is None:
        return []
    others = [s.pos for s in sets[1:] if s is not None and s.members]
    out = []
    for member in first.members:
        for pos in others:
            if member in pos:
                break
        else:
            out.append(member)
    return out


def _as_reply(ctx: Client, members: list[bytes]) -> RespSet:
    """A computed set replied the way Redis replies its temporary set (intsets ascending)."""
    if not members:
        return EMPTY_SET
    return RespSet(SetValue(members, max_intset(ctx)).ordered())


def _store(ctx: Client, destination: bytes, members: list[bytes], event: bytes) -> int:
    """Replace ``destination`` with the computed set, or delete it when the result is empty."""
    db = ctx.db
    if not members:
        if db.lookup(destination) is not None:
            db.delete_with_event(destination)
        return 0
    db.set(destination, SetValue(members, max_intset(ctx)))
    ctx.db.notify(NOTIFY_SET, event, destination)
    return len(members)


@command("sinter", arity=-2, flags="readonly", acl="set", group="set",
         summary="Returns the members common to all the given sets.", args="key ...",
         complexity="O(N*M) worst case: N the smallest set, M the number of sets",
         keys="RO access @1 range(-1,1,0)", tips="nondeterministic_output_order")
def sinter(ctx: Client, *keys: bytes) -> RespSet:
    sets = _sets_for(ctx, keys)
    return RespSet(_intersection(sets))


@command("sintercard", arity=-3, flags="readonly", acl="set", group="set", since="7.0.0",
         summary="Counts the members common to all the given sets, optionally stopping at a limit.",
         args="numkeys key ... [LIMIT limit]", complexity="O(N*M) worst case",
         getkeys=numkeys_keys(0, 1, 2),
         keys="RO access @1 keynum(0,1,1)")
def sintercard(ctx: Client, numkeys: bytes, *rest: bytes) -> int:
    keys, limit = parse_card_args(numkeys, rest)
    return len(_intersection(_sets_for(ctx, keys), limit))


def parse_numkeys(numkeys: bytes, available: int) -> int:
    """SINTERCARD/ZINTERCARD/ZUNION's key count, with their error texts."""
    count = to_int(numkeys)
    if count is None or count <= 0:
        raise NUMKEYS_ERROR
    if count > available:
        raise TOO_MANY_KEYS
    return count


def parse_card_args(numkeys: bytes, rest: tuple[bytes, ...]) -> tuple[tuple[bytes, ...], int]:
    """``numkeys key [key ...] [LIMIT limit]`` → (keys, limit); 0 means no limit."""
    count = parse_numkeys(numkeys, len(rest))
    keys = rest[:count]
    limit = 0
    options = ArgCursor(rest, count)
    while options:
        if options.next_keyword() == b"LIMIT" and options.has(1):
            limit = options.next_int(LIMIT_NEGATIVE)
            if limit < 0:
                raise LIMIT_NEGATIVE
        else:
            raise SYNTAX_ERROR
    return keys, limit


@command("sinterstore", arity=-3, flags="write denyoom", acl="set", group="set",
         summary="Stores the intersection of sets at a key; returns its size.",
         args="destination key{ks=1} ...", complexity="O(N*M) worst case",
         keys=("RW update @1", "RO access @2 range(-1,1,0)"))
def sinterstore(ctx: Client, destination: bytes, *keys: bytes) -> int:
    return _store(ctx, destination, _intersection(_sets_for(ctx, keys)), b"sinterstore")


@command("sunion", arity=-2, flags="readonly", acl="set", group="set",
         summary="Returns the members found in any of the given sets.", args="key ...",
         complexity="O(N) for N members in all",
         keys="RO access @1 range(-1,1,0)", tips="nondeterministic_output_order")
def sunion(ctx: Client, *keys: bytes) -> RespSet:
    return _as_reply(ctx, _union(_sets_for(ctx, keys)))


@command("sunionstore", arity=-3, flags="write denyoom", acl="set", group="set",
         summary="Stores the union of sets at a key; returns its size.",
         args="destination key{ks=1} ...", complexity="O(N) for N members in all",
         keys=("OW update @1", "RO access @2 range(-1,1,0)"))
def sunionstore(ctx: Client, destination: bytes, *keys: bytes) -> int:
    return _store(ctx, destination, _union(_sets_for(ctx, keys)), b"sunionstore")


@command("sdiff", arity=-2, flags="readonly", acl="set", group="set",
         summary="Returns the members of the first set that are in none of the others.",
         args="key ...", complexity="O(N) for N members in all",
         keys="RO access @1 range(-1,1,0)", tips="nondeterministic_output_order")
def sdiff(ctx: Client, *keys: bytes) -> RespSet:
    return _as_reply(ctx, _difference(_sets_for(ctx, keys)))


@command("sdiffstore", arity=-3, flags="write denyoom", acl="set", group="set",
         summary="Stores the difference of sets at a key; returns its size.",
         args="destination key{ks=1} ...", complexity="O(N) for N members in all",
         keys=("OW update @1", "RO access @2 range(-1,1,0)"))
def sdiffstore(ctx: Client, destination: bytes, *keys: bytes) -> int:
    return _store(ctx, destination, _difference(_sets_for(ctx, keys)), b"sdiffstore")


# --------------------------------------------------------------------------- SSCAN

@command("sscan", arity=-3, flags="readonly", acl="set", group="set", since="2.8.0",
         summary="Iterates over the members of a set a page at a time.",
         args="key cursor [MATCH pattern] [COUNT count]",
         complexity="O(1) per call, O(N) for a complete iteration",
         keys="RO access @1", tips="nondeterministic_output")
def sscan(ctx: Client, key: bytes, cursor: bytes, *opts: bytes) -> list:
    position = parse_scan_cursor(cursor)
    value = read_set(ctx, key)
    if value is None:
        return [b"0", []]  # Redis answers a missing key before it reads the options
    count, pattern, _ = parse_scan_options(opts, allow_type=False)
    match = glob_matcher(pattern)
    if value.intset:
        # Redis returns a small encoding whole, in one call.
        next_cursor, members = 0, value.ordered()
    else:
        next_cursor, members = value.scan(position, count)
    if match is not None:
        members = [m for m in members if match(m)]
    return [b"%d" % next_cursor, members]
