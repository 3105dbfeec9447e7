"""Sorted-set commands: members ordered by a floating-point score (t_zset.c in Redis).

A sorted set is a ``ZSetValue`` (``server.datatypes.zset``). This module holds
the commands and the parsing they share:

- scores: ZADD and ZINCRBY read a score strictly (``parse_score``: no spaces,
  no overflow, no NaN); range bounds are read as C's ``strtod`` reads them
  (``parse_score_range``: ``(`` marks an exclusive bound, ``inf``/``-inf``);
  member ranges use ``[``/``(`` prefixes and ``-``/``+`` (``parse_lex_range``);
- replies: scores are Python floats, which the protocol layer writes as
  ``%.17g`` bulk strings in RESP2 and as doubles in RESP3. Where Redis nests
  (member, score) pairs only in RESP3 (ZRANGE WITHSCORES ...), ``pairs`` builds
  the right shape for the client;
- one range engine (``zrange_generic``) serves ZRANGE, ZRANGESTORE and the six
  older ZRANGE*/ZREVRANGE* forms, as in Redis;
- one set-algebra engine (``combine``) serves ZUNION, ZINTER, ZDIFF, their
  STORE forms and ZINTERCARD; plain sets are accepted as inputs with score 1;
- the blocking pops (BZPOPMIN, BZPOPMAX, BZMPOP) return a ``Blocked`` when
  every key is empty, and are retried by ``server.blocking`` when one fills.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Sequence
from typing import Any

from server.client import Blocked, Client
from server.command import command, numkeys_keys
from server.commands.args import (
    NOT_FLOAT,
    NOT_INTEGER,
    NOT_POSITIVE,
    SYNTAX_ERROR,
    ArgCursor,
    c_string,
    check_pair_count,
    parse_int,
    parse_mpop,
    parse_random_count,
    parse_scan_cursor,
    parse_scan_options,
    parse_timeout,
    rank_range,
    to_int,
)
from server.commands.sets import LIMIT_NEGATIVE, remove_members
from server.datatypes.set import SetValue
from server.datatypes.zset import LexRange, ScoreRange, ZSetValue
from server.glob import glob_matcher
from server.keyspace import NOTIFY_ZSET, WRONGTYPE
from server.protocol import BULK_HEADERS, NULL_ARRAY, Error, Raw, format_double, pair_reply

WEIGHT_NOT_FLOAT = Error(b"ERR weight value is not a float")
NAN_SCORE = Error(b"ERR resulting score is not a number (NaN)")
BAD_SCORE_RANGE = Error(b"ERR min or max is not a float")
BAD_LEX_RANGE = Error(b"ERR min or max not valid string range item")
_INF = math.inf


def limits(ctx: Client) -> tuple[int, int]:
    """``zset-max-listpack-entries`` and ``zset-max-listpack-value``."""
    config = ctx.server.config
    return config.get_int("zset-max-listpack-entries"), config.get_int("zset-max-listpack-value")


def read_zset(ctx: Client, key: bytes) -> ZSetValue | None:
    """The sorted set at ``key`` for a read (counts a hit or miss); None if absent."""
    return ctx.db.lookup_type(key, ZSetValue)


def write_zset(ctx: Client, key: bytes) -> ZSetValue | None:
    """The sorted set at ``key`` for a write (no hit/miss counted); None if absent."""
    return ctx.db.lookup_type(key, ZSetValue, read=False)


def deleted_if_empty(ctx: Client, key: bytes, value: ZSetValue) -> None:
    """Delete a sorted set a command emptied, with Redis's ``del`` event."""
    if not value.scores:
        ctx.db.delete_with_event(key)


def pairs(ctx: Client, entries, withscores: bool) -> list:
    """(score, member) entries as a reply: members only, flat pairs (RESP2) or nested pairs (RESP3)."""
    if not withscores:
        return [member for _, member in entries]
    return pair_reply(((member, score) for score, member in entries), ctx.resp == 3)


# --------------------------------------------------------------------------- parsing numbers

# What C's strtod accepts as a whole string (after optional leading whitespace).
_DECIMAL = re.compile(rb"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
_HEX = re.compile(rb"[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?\Z")
_SPECIAL = re.compile(rb"[+-]?(?:inf|infinity|nan(?:\([0-9a-zA-Z_]*\))?)\Z", re.IGNORECASE)
_SPACE = b" \t\n\v\f\r"


def strtod(text: bytes) -> tuple[float, bool] | None:
    """``text`` as strtod reads it when it must consume everything: (value, out of range), or None.

    "Out of range" is C's ERANGE: a finite number too big (read as ±inf) or so
    small it became zero.
    """
    if _DECIMAL.match(text):
        value = float(text)
        mantissa = text.split(b"e")[0].split(b"E")[0]
    elif _HEX.match(text):
        body = text.lstrip(b"+-")
        try:
            value = float.fromhex(body.decode())
        except OverflowError:
            value = _INF
        if text[:1] == b"-":
            value = -value
        mantissa = body[2:].lower().split(b"p")[0]
    elif _SPECIAL.match(text):
        return float(text.split(b"(")[0]), False
    else:
        return None
    if math.isinf(value):
        return value, True
    if value == 0 and mantissa.strip(b"0.+-"):
        return value, True
    return value, False


def parse_score(text: bytes, error: Error = NOT_FLOAT) -> float:
    """A score for ZADD/ZINCRBY/WEIGHTS as Redis's getDoubleFromObject reads it."""
    if text.isdigit() and len(text) < 300:
        return float(text)  # the common case, and never out of range
    if not text or text[0] in _SPACE:
        raise error
    parsed = strtod(text)
    if parsed is None or parsed[1] or math.isnan(parsed[0]):
        raise error
    return parsed[0]


def _range_bound(text: bytes) -> tuple[float, bool]:
    """One bound of a score range: (value, exclusive). strtod's leniency is Redis's, and like
    strtod it reads a C string: what follows a NUL byte is never seen."""
    text = c_string(text)
    exclusive = text[:1] == b"("
    if exclusive:
        text = text[1:]
    if not text:
        return 0.0, exclusive  # strtod converts nothing and stops at the end: Redis reads 0
    body = text.lstrip(_SPACE)
    parsed = strtod(body) if body else None
    if parsed is None or math.isnan(parsed[0]):
        raise BAD_SCORE_RANGE
    return parsed[0], exclusive


def parse_score_range(lo: bytes, hi: bytes) -> ScoreRange:
    min_value, minex = _range_bound(lo)
    max_value, maxex = _range_bound(hi)
    return ScoreRange(min_value, max_value, minex, maxex)


def _lex_bound(text: bytes) -> tuple[int, bytes, bool]:
    """One bound of a member range: (kind, value, exclusive); kind -1 is ``-``, 1 is ``+``."""
    first = text[:1]
    if first == b"[":
        return 0, text[1:], False
    if first == b"(":
        return 0, text[1:], True
    if text == b"-":
        return -1, b"", True
    if text == b"+":
        return 1, b"", True
    raise BAD_LEX_RANGE


def parse_lex_range(lo: bytes, hi: bytes) -> LexRange:
    lo_kind, lo_value, minex = _lex_bound(lo)
    hi_kind, hi_value, maxex = _lex_bound(hi)
    return LexRange(lo_kind, lo_value, minex, hi_kind, hi_value, maxex)


def _rank_bounds(start: int, end: int, length: int) -> tuple[int, int]:
    """Redis's rank range (negatives from the end, clamped) as positions [start, stop)."""
    bounds = rank_range(start, end, length)
    return (0, 0) if bounds is None else (bounds[0], bounds[1] + 1)


# --------------------------------------------------------------------------- ZADD and friends

# Every capitalisation of ZADD's flags, so the hot path parses without allocating.
def _spellings(word: str) -> list[bytes]:
    out = [b""]
    for ch in word:
        out = [p + c.encode() for p in out for c in {ch.lower(), ch.upper()}]
    return out


_ZADD_FLAGS = {
    spelling: word.encode()
    for word in ("NX", "XX", "CH", "GT", "LT", "INCR")
    for spelling in _spellings(word)
}


@command("zadd", arity=-4, flags="write denyoom fast", acl="sortedset", group="sorted-set",
         summary="Adds members with scores to a sorted set, or updates their scores.",
         args="key [NX|XX]{name=condition,since=3.0.2} [GT|LT]{name=comparison,since=6.2.0} "
              "[CH{name=change,since=3.0.2}] [INCR{name=increment,since=3.0.2}] (score "
              "member){name=score_member} ...",
         complexity="O(log(N)) per member",
         keys="RW update @1", since="1.2.0")
def zadd(ctx: Client, key: bytes, *args: bytes) -> object:
    if len(args) == 2 and (args[0].isdigit() or args[0] not in _ZADD_FLAGS):
        # The common "ZADD key score member" on an existing sorted set, kept lean. A score
        # of digits cannot be a flag (testing that spares hashing it).
        text = args[0]
        score = float(text) if text.isdigit() and len(text) < 300 else parse_score(text)  # (its common case)
        member = args[1]
        db = ctx.db
        zs = db.lookup_type(key, ZSetValue, read=False)
        if zs is None:
            return zadd_generic(ctx, key, [score], (member,))
        old = zs.scores.get(member)
        if old is None:
            if zs.listpack:
                zs.make_room(member, *limits(ctx))
            zs.set_score(member, score)
            added = 1
        elif old == score:
            return 0
        else:
            zs.rescore(member, old, score)
            added = 0
        db.touch(key)
        ks = ctx.server.keyspace
        if ks.notify_flags & NOTIFY_ZSET:
            ks.notify(NOTIFY_ZSET, b"zadd", key, db.id)
        return added
    nx = xx = gt = lt = ch = incr = False
    get = _ZADD_FLAGS.get
    options = ArgCursor(args)
    while options:
        flag = get(options.peek())
        if flag is None:
            break  # the first score
        options.skip()
        if flag == b"NX":
            nx = True
        elif flag == b"XX":
            xx = True
        elif flag == b"CH":
            ch = True
        elif flag == b"GT":
            gt = True
        elif flag == b"LT":
            lt = True
        else:
            incr = True
    elements = options.rest()
    if not elements or len(elements) % 2:
        raise SYNTAX_ERROR
    if nx and xx:
        raise Error(b"ERR XX and NX options at the same time are not compatible")
    if (gt and nx) or (lt and nx) or (gt and lt):
        raise Error(b"ERR GT, LT, and/or NX options at the same time are not compatible")
    if incr and len(elements) > 2:
        raise Error(b"ERR INCR option supports a single increment-element pair")
    scores = [parse_score(score) for score in elements[::2]]
    return zadd_generic(ctx, key, scores, elements[1::2], nx, xx, gt, lt, ch, incr)


def zadd_generic(ctx: Client, key: bytes, scores: list[float], members: Sequence[bytes],
                 nx: bool = False, xx: bool = False, gt: bool = False, lt: bool = False,
                 ch: bool = False, incr: bool = False) -> object:
    """The body of ZADD and ZINCRBY, once the arguments are parsed."""
    db = ctx.db
    zs = db.lookup(key)
    max_entries, max_value = limits(ctx)
    if zs is None:
        if xx:
            return None if incr else 0
        if len(members) > 1 and not (nx or gt or lt or ch or incr) and 0.0 not in scores:
            # A new set built in one go: later pairs win, as Redis's one-by-one updates do.
            zs = ZSetValue(zip(members, scores, strict=True), max_entries, max_value)
            db.add(key, zs)
            ctx.db.notify(NOTIFY_ZSET, b"zadd", key)
            db.signal_ready(key)
            return len(zs)
        zs = ZSetValue()
        # Redis picks the encoding from the first member's length, then converts as it grows.
        zs.listpack = max_entries != 0 and len(members[0]) <= max_value
        db.add(key, zs)
        created = True
    elif zs.__class__ is not ZSetValue:
        raise WRONGTYPE
    else:
        created = False
        if (len(members) > 16 and not (zs.listpack or nx or xx or gt or lt or incr)
                and len(set(members)) == len(members)):
            added, updated = zs.add_many(members, scores)
            _finish_zadd(ctx, key, zs, created, added, updated, incr)
            return added + updated if ch else added
    added = updated = processed = 0
    current = zs.scores
    result = 0.0
    for score, member in zip(scores, members, strict=True):
        old = current.get(member)
        if old is not None:
            if nx:
                continue
            if incr:
                score += old
                if score != score:
                    _finish_zadd(ctx, key, zs, created, added, updated, incr)
                    raise NAN_SCORE
            if (lt and score >= old) or (gt and score <= old):
                continue
            processed += 1
            result = score
            if score != old:
                zs.set_score(member, score)
                updated += 1
        else:
            if xx:
                continue
            zs.make_room(member, max_entries, max_value)
            zs.set_score(member, score)
            added += 1
            processed += 1
            result = score
    _finish_zadd(ctx, key, zs, created, added, updated, incr)
    if incr:
        return result if processed else None
    return added + updated if ch else added


def _finish_zadd(ctx: Client, key: bytes, zs: ZSetValue, created: bool, added: int, updated: int,
                 incr: bool) -> None:
    if added or updated:
        if not created:
            ctx.db.touch(key)
        ctx.db.notify(NOTIFY_ZSET, b"zincr" if incr else b"zadd", key)
        ctx.db.signal_ready(key)
    elif created and not zs.scores:
        ctx.db.delete(key)


@command("zincrby", arity=4, flags="write denyoom fast", acl="sortedset", group="sorted-set",
         summary="Adds an increment to a member's score (a missing member starts at 0).",
         args="key increment member", complexity="O(log(N))",
         keys="RW access update @1", since="1.2.0")
def zincrby(ctx: Client, key: bytes, increment: bytes, member: bytes) -> object:
    return zadd_generic(ctx, key, [parse_score(increment)], (member,), incr=True)


@command("zrem", arity=-3, flags="write fast", acl="sortedset", group="sorted-set",
         summary="Removes members from a sorted set; returns how many were there.",
         args="key member ...", complexity="O(M*log(N))",
         keys="RW delete @1", since="1.2.0")
def zrem(ctx: Client, key: bytes, *members: bytes) -> int:
    zs = write_zset(ctx, key)
    if zs is None:
        return 0
    return remove_members(ctx, key, zs, members, NOTIFY_ZSET, b"zrem")


# --------------------------------------------------------------------------- single lookups


@command("zcard", arity=2, flags="readonly fast", acl="sortedset", group="sorted-set",
         summary="Returns how many members a sorted set has.", args="key",
         keys="RO @1", since="1.2.0")
def zcard(ctx: Client, key: bytes) -> int:
    zs = read_zset(ctx, key)
    return 0 if zs is None else len(zs.scores)


@command("zscore", arity=3, flags="readonly fast", acl="sortedset", group="sorted-set",
         summary="Returns a member's score, or nil.", args="key member",
         keys="RO access @1", since="1.2.0")
def zscore(ctx: Client, key: bytes, member: bytes) -> float | None:
    zs = read_zset(ctx, key)
    return None if zs is None else zs.scores.get(member)


@command("zmscore", arity=-3, flags="readonly fast", acl="sortedset", group="sorted-set",
         since="6.2.0", summary="Returns the scores of several members (nil for absent ones).",
         args="key member ...", complexity="O(N) for N members asked",
         keys="RO access @1")
def zmscore(ctx: Client, key: bytes, *members: bytes) -> list:
    zs = read_zset(ctx, key)
    if zs is None:
        return [None] * len(members)
    get = zs.scores.get
    return [get(m) for m in members]


@command("zrank", arity=3, flags="readonly fast", acl="sortedset", group="sorted-set",
         since="2.0.0", summary="Returns a member's 0-based position by ascending score, or nil.",
         args="key member", complexity="O(log(N))",
         keys="RO access @1")
def zrank(ctx: Client, key: bytes, member: bytes) -> int | None:
    zs = read_zset(ctx, key)
    return None if zs is None else zs.rank(member)


@command("zrevrank", arity=3, flags="readonly fast", acl="sortedset", group="sorted-set",
         since="2.0.0", summary="Returns a member's 0-based position by descending score, or nil.",
         args="key member", complexity="O(log(N))",
         keys="RO access @1")
def zrevrank(ctx: Client, key: bytes, member: bytes) -> int | None:
    zs = read_zset(ctx, key)
    if zs is None:
        return None
    rank = zs.rank(member)
    return None if rank is None else len(zs.scores) - 1 - rank


@command("zcount", arity=4, flags="readonly fast", acl="sortedset", group="sorted-set",
         since="2.0.0", summary="Counts the members whose score lies between two bounds.",
         args="key min{type=double} max{type=double}", complexity="O(log(N))",
         keys="RO access @1")
def zcount(ctx: Client, key: bytes, lo: bytes, hi: bytes) -> int:
    spec = parse_score_range(lo, hi)
    zs = read_zset(ctx, key)
    if zs is None or spec.is_empty():
        return 0
    start, stop = zs.score_positions(spec)
    return stop - start


@command("zlexcount", arity=4, flags="readonly fast", acl="sortedset", group="sorted-set",
         since="2.8.9", summary="Counts the members between two member bounds (all scores equal).",
         args="key min max", complexity="O(log(N))",
         keys="RO access @1")
def zlexcount(ctx: Client, key: bytes, lo: bytes, hi: bytes) -> int:
    spec = parse_lex_range(lo, hi)
    zs = read_zset(ctx, key)
    if zs is None:
        return 0
    start, stop = zs.lex_positions(spec)
    return stop - start


# --------------------------------------------------------------------------- ranges

RANK, SCORE, LEX = 0, 1, 2


def zrange_generic(ctx: Client, key: bytes, lo: bytes, hi: bytes, opts: tuple[bytes, ...],
                   kind: int | None = None, reverse: bool | None = None,
                   store: bytes | None = None) -> object:
    """ZRANGE and its older forms: parse options, then take the range (or store it).

    ``kind``/``reverse`` are fixed by the older commands (ZRANGEBYSCORE ...) and
    left None by ZRANGE and ZRANGESTORE, which take them from the options.
    """
    withscores = False
    offset, limit = 0, -1
    args = ArgCursor(opts)
    while args:
        opt = args.next_keyword()
        if opt == b"WITHSCORES" and store is None:
            withscores = True
        elif opt == b"LIMIT" and args.has(2):
            offset = args.next_int()
            limit = args.next_int()
        elif opt == b"REV" and reverse is None:
            reverse = True
        elif opt == b"BYLEX" and kind is None:
            kind = LEX
        elif opt == b"BYSCORE" and kind is None:
            kind = SCORE
        else:
            raise SYNTAX_ERROR
    if reverse is None:
        reverse = False
    if kind is None:
        kind = RANK
    if limit != -1 and kind == RANK:
        raise Error(b"ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
    if withscores and kind == LEX:
        raise Error(b"ERR syntax error, WITHSCORES not supported in combination with BYLEX")
    if reverse and kind != RANK:
        lo, hi = hi, lo  # given as max, min
    if kind == RANK:
        start_arg, end_arg = to_int(lo), to_int(hi)
        if start_arg is None or end_arg is None:
            raise NOT_INTEGER
        spec: object = (start_arg, end_arg)
    elif kind == SCORE:
        spec = parse_score_range(lo, hi)
    else:
        spec = parse_lex_range(lo, hi)
    zs = read_zset(ctx, key)
    if zs is None:
        entries: list = []
    else:
        entries = _select(zs, kind, spec, reverse, offset, limit)
    if store is not None:
        return _store_entries(ctx, store, entries, b"zrangestore")
    return pairs(ctx, entries, withscores)


def _select(zs: ZSetValue, kind: int, spec, reverse: bool, offset: int, limit: int) -> list:
    """The (score, member) entries a range names, in reply order."""
    n = len(zs.scores)
    if kind == RANK:
        start, stop = _rank_bounds(spec[0], spec[1], n)
        if start >= stop:
            return []
        if reverse:
            return list(zs.slice(n - stop, n - start, reverse=True))
        return list(zs.slice(start, stop))
    if kind == SCORE:
        if spec.is_empty():
            return []
        start, stop = zs.score_positions(spec)
    else:
        start, stop = zs.lex_positions(spec, reverse)
    if offset < 0 or start >= stop:
        return []
    if reverse:
        high = stop - offset
        low = start if limit < 0 else max(start, high - limit)
        if high <= low:
            return []
        return list(zs.slice(low, high, reverse=True))
    low = start + offset
    high = stop if limit < 0 else min(stop, low + limit)
    if high <= low:
        return []
    return list(zs.slice(low, high))


def _store_entries(ctx: Client, destination: bytes, entries: list, event: bytes) -> int:
    """Replace ``destination`` with the given entries, or delete it when there are none."""
    db = ctx.db
    if not entries:
        if db.lookup(destination) is not None:
            db.delete_with_event(destination)
        return 0
    max_entries, max_value = limits(ctx)
    db.set(destination, ZSetValue(((m, s) for s, m in entries), max_entries, max_value))
    ctx.db.notify(NOTIFY_ZSET, event, destination)
    db.signal_ready(destination)
    return len(entries)


@command("zrange", arity=-4, flags="readonly", acl="sortedset", group="sorted-set",
         summary="Returns members by rank, score or member range, in either direction.",
         args="key start{type=string} stop{type=string} [BYSCORE|BYLEX]{name=sortby,since=6.2.0} "
              "[REV{since=6.2.0}] [offset count]{name=offset_count,token=LIMIT,since=6.2.0} [WITHSCORES]",
         complexity="O(log(N)+M)",
         keys="RO access @1", since="1.2.0")
def zrange(ctx: Client, key: bytes, start: bytes, stop: bytes, *opts: bytes) -> object:
    return zrange_generic(ctx, key, start, stop, opts)


@command("zrangestore", arity=-5, flags="write denyoom", acl="sortedset", group="sorted-set",
         since="6.2.0", summary="Stores a range of a sorted set (as ZRANGE selects it) at another key.",
         args="dst{type=key} src{type=key,ks=1} min max [BYSCORE|BYLEX]{name=sortby} [REV] [offset "
              "count]{name=offset_count,token=LIMIT}", complexity="O(log(N)+M)",
         keys=("OW update @1", "RO access @2"))
def zrangestore(ctx: Client, dst: bytes, src: bytes, lo: bytes, hi: bytes, *opts: bytes) -> object:
    return zrange_generic(ctx, src, lo, hi, opts, store=dst)


@command("zrevrange", arity=-4, flags="readonly", acl="sortedset", group="sorted-set",
         summary="Returns members by rank, highest score first.", args="key start stop [WITHSCORES]",
         complexity="O(log(N)+M)",
         keys="RO access @1",
         doc_flags="deprecated", deprecated_since="6.2.0", replaced_by="`ZRANGE` with the `REV` argument", since="1.2.0")
def zrevrange(ctx: Client, key: bytes, start: bytes, stop: bytes, *opts: bytes) -> object:
    return zrange_generic(ctx, key, start, stop, opts, RANK, True)


@command("zrangebyscore", arity=-4, flags="readonly", acl="sortedset", group="sorted-set",
         since="1.0.5", summary="Returns the members whose score lies between two bounds, lowest first.",
         args="key min{type=double} max{type=double} [WITHSCORES{since=2.0.0}] [offset "
              "count]{name=offset_count,token=LIMIT}", complexity="O(log(N)+M)",
         keys="RO access @1",
         doc_flags="deprecated", deprecated_since="6.2.0", replaced_by="`ZRANGE` with the `BYSCORE` argument")
def zrangebyscore(ctx: Client, key: bytes, lo: bytes, hi: bytes, *opts: bytes) -> object:
    return zrange_generic(ctx, key, lo, hi, opts, SCORE, False)


@command("zrevrangebyscore", arity=-4, flags="readonly", acl="sortedset", group="sorted-set",
         since="2.2.0", summary="Returns the members whose score lies between two bounds, highest first.",
         args="key max{type=double} min{type=double} [WITHSCORES] [offset "
              "count]{name=offset_count,token=LIMIT}", complexity="O(log(N)+M)",
         keys="RO access @1",
         doc_flags="deprecated", deprecated_since="6.2.0", replaced_by="`ZRANGE` with the `REV` and `BYSCORE` arguments")
def zrevrangebyscore(ctx: Client, key: bytes, hi: bytes, lo: bytes, *opts: bytes) -> object:
    return zrange_generic(ctx, key, hi, lo, opts, SCORE, True)


@command("zrangebylex", arity=-4, flags="readonly", acl="sortedset", group="sorted-set",
         since="2.8.9", summary="Returns the members between two member bounds (all scores equal).",
         args="key min max [offset count]{name=offset_count,token=LIMIT}", complexity="O(log(N)+M)",
         keys="RO access @1",
         doc_flags="deprecated", deprecated_since="6.2.0", replaced_by="`ZRANGE` with the `BYLEX` argument")
def zrangebylex(ctx: Client, key: bytes, lo: bytes, hi: bytes, *opts: bytes) -> object:
    return zrange_generic(ctx, key, lo, hi, opts, LEX, False)


@command("zrevrangebylex", arity=-4, flags="readonly", acl="sortedset", group="sorted-set",
         since="2.8.9", summary="Returns the members between two member bounds, in reverse order.",
         args="key max min [offset count]{name=offset_count,token=LIMIT}", complexity="O(log(N)+M)",
         keys="RO access @1",
         doc_flags="deprecated", deprecated_since="6.2.0", replaced_by="`ZRANGE` with the `REV` and `BYLEX` arguments")
def zrevrangebylex(ctx: Client, key: bytes, hi: bytes, lo: bytes, *opts: bytes) -> object:
    return zrange_generic(ctx, key, hi, lo, opts, LEX, True)


def _remove_range(ctx: Client, key: bytes, positions: Callable[[ZSetValue], tuple[int, int]],
                  event: bytes) -> int:
    zs = write_zset(ctx, key)
    if zs is None:
        return 0
    start, stop = positions(zs)
    removed = zs.remove_positions(start, stop)
    if removed:
        ctx.db.touch(key)
        ctx.db.notify(NOTIFY_ZSET, event, key)
        deleted_if_empty(ctx, key, zs)
    return removed


@command("zremrangebyrank", arity=4, flags="write", acl="sortedset", group="sorted-set",
         since="2.0.0", summary="Removes the members within a range of ranks.", args="key start stop",
         complexity="O(log(N)+M)",
         keys="RW delete @1")
def zremrangebyrank(ctx: Client, key: bytes, start: bytes, stop: bytes) -> int:
    first, last = to_int(start), to_int(stop)
    if first is None or last is None:
        raise NOT_INTEGER
    return _remove_range(ctx, key, lambda zs: _rank_bounds(first, last, len(zs)), b"zremrangebyrank")


@command("zremrangebyscore", arity=4, flags="write", acl="sortedset", group="sorted-set",
         since="1.2.0", summary="Removes the members whose score lies between two bounds.",
         args="key min{type=double} max{type=double}", complexity="O(log(N)+M)",
         keys="RW delete @1")
def zremrangebyscore(ctx: Client, key: bytes, lo: bytes, hi: bytes) -> int:
    spec = parse_score_range(lo, hi)
    if spec.is_empty():
        write_zset(ctx, key)
        return 0
    return _remove_range(ctx, key, lambda zs: zs.score_positions(spec), b"zremrangebyscore")


@command("zremrangebylex", arity=4, flags="write", acl="sortedset", group="sorted-set",
         since="2.8.9", summary="Removes the members between two member bounds (all scores equal).",
         args="key min max", complexity="O(log(N)+M)",
         keys="RW delete @1")
def zremrangebylex(ctx: Client, key: bytes, lo: bytes, hi: bytes) -> int:
    spec = parse_lex_range(lo, hi)
    return _remove_range(ctx, key, lambda zs: zs.lex_positions(spec), b"zremrangebylex")


# --------------------------------------------------------------------------- popping


def _pop(ctx: Client, key: bytes, zs: ZSetValue, count: int, highest: bool) -> list:
    """Pop ``count`` entries from a non-empty sorted set, with Redis's events."""
    taken = zs.pop(count, highest)
    ctx.db.touch(key)
    ctx.db.notify(NOTIFY_ZSET, b"zpopmax" if highest else b"zpopmin", key)
    deleted_if_empty(ctx, key, zs)
    return taken


def zpopper(highest: bool) -> Callable[..., object]:
    """The body of ZPOPMIN/ZPOPMAX (``highest``): each command is this body itself, bound to its
    end of the set, so a request makes no second call."""
    event = b"zpopmax" if highest else b"zpopmin"

    def zpop(ctx: Client, key: bytes, *rest: bytes) -> object:
        if not rest:
            # The common form, one member: kept lean.
            db = ctx.db
            zs = db.lookup_type(key, ZSetValue, read=False)
            if zs is None:
                return []
            score, member = zs.pop_one(highest)
            db.touch(key)
            ks = db.keyspace
            if ks.notify_flags & NOTIFY_ZSET:
                ks.notify(NOTIFY_ZSET, event, key, db.id)
            if not zs.scores:
                db.delete_with_event(key)
            # [member, score], written as RESP here: one join instead of encoding three values.
            text = format_double(score)
            size = len(member)
            header = BULK_HEADERS[size] if size < 1024 else b"$%d\r\n" % size
            if ctx.resp == 3:
                return Raw(b"".join((b"*2\r\n", header, member, b"\r\n,", text, b"\r\n")))
            return Raw(b"".join((b"*2\r\n", header, member, b"\r\n", BULK_HEADERS[len(text)], text, b"\r\n")))
        if len(rest) > 1:
            raise SYNTAX_ERROR
        count = 1
        if rest:
            value = to_int(rest[0])
            if value is None or value < 0:
                raise NOT_POSITIVE
            count = value
        zs = ctx.db.lookup_type(key, ZSetValue, read=False)  # WRONGTYPE before a zero count, as Redis
        if zs is None:
            return []
        if count == 0:
            return []
        taken = _pop(ctx, key, zs, count, highest)
        return pair_reply(((member, score) for score, member in taken), bool(rest) and ctx.resp == 3)

    return zpop


zpopmin = command(
    "zpopmin", arity=-2, flags="write fast", acl="sortedset", group="sorted-set",
    since="5.0.0", summary="Removes and returns the members with the lowest scores.",
    args="key [count]", complexity="O(log(N)*M)",
    keys="RW access delete @1",
)(zpopper(False))


zpopmax = command(
    "zpopmax", arity=-2, flags="write fast", acl="sortedset", group="sorted-set",
    since="5.0.0", summary="Removes and returns the members with the highest scores.",
    args="key [count]", complexity="O(log(N)*M)",
    keys="RW access delete @1",
)(zpopper(True))


def _first_nonempty(ctx: Client, keys) -> tuple[bytes, ZSetValue] | None:
    """The first key holding a sorted set (WRONGTYPE if an earlier key holds something else)."""
    lookup = ctx.db.lookup
    for key in keys:
        value = lookup(key)
        if value is None:
            continue
        if value.__class__ is not ZSetValue:
            raise WRONGTYPE
        return key, value
    return None


def _mpop_reply(key: bytes, taken: list) -> list:
    return [key, [[member, score] for score, member in taken]]


@command("zmpop", arity=-4, flags="write", acl="sortedset", group="sorted-set", since="7.0.0",
         summary="Pops the lowest or highest members from the first non-empty sorted set of several.",
         args="numkeys key ... (MIN|MAX){name=where} [COUNT count]", complexity="O(K)+O(M*log(N))",
         getkeys=numkeys_keys(0, 1, 2),
         keys="RW access delete @1 keynum(0,1,1)")
def zmpop(ctx: Client, *args: bytes) -> object:
    keys, highest, count = parse_mpop(args, b"MAX", b"MIN")
    found = _first_nonempty(ctx, keys)
    if found is None:
        return NULL_ARRAY
    key, zs = found
    return _mpop_reply(key, _pop(ctx, key, zs, count, highest))


def _blocking_pop(ctx: Client, keys: Sequence[bytes], timeout: float, highest: bool,
                  count: int | None) -> object:
    """BZPOPMIN/BZPOPMAX (``count`` None) and BZMPOP: pop now, or wait for a key to fill."""

    def attempt(client: Client) -> object:
        found = _first_nonempty(client, keys)
        if found is None:
            return None
        key, zs = found
        if count is None:
            score, member = _pop(client, key, zs, 1, highest)[0]
            return [key, member, score]
        return _mpop_reply(key, _pop(client, key, zs, count, highest))

    reply = attempt(ctx)
    if reply is not None:
        return reply
    if ctx.executing_multi:
        return NULL_ARRAY

    def retry(client: Client) -> object:
        lookup = client.db.lookup
        # Serve from the key that became ready, as Redis does, before the others.
        serving = client.server.blocking.serving_key
        order = (serving, *keys) if serving is not None and serving in keys else keys
        for key in order:
            value = lookup(key)
            if value is not None and value.__class__ is ZSetValue:
                zs: ZSetValue = value
                if count is None:
                    score, member = _pop(client, key, zs, 1, highest)[0]
                    return [key, member, score]
                return _mpop_reply(key, _pop(client, key, zs, count, highest))
        return blocked

    blocked = Blocked(list(dict.fromkeys(keys)), timeout, retry, lambda client: NULL_ARRAY)
    return blocked


@command("bzpopmin", arity=-3, flags="write noscript blocking fast", acl="sortedset",
         group="sorted-set", since="5.0.0",
         summary="Pops the lowest-scored member of the first non-empty sorted set, waiting if all are empty.",
         args="key ... timeout{type=double}", complexity="O(log(N))",
         keys="RW access delete @1 range(-2,1,0)")
def bzpopmin(ctx: Client, *args: bytes) -> object:
    timeout = parse_timeout(args[-1])
    return _blocking_pop(ctx, args[:-1], timeout, False, None)


@command("bzpopmax", arity=-3, flags="write noscript blocking fast", acl="sortedset",
         group="sorted-set", since="5.0.0",
         summary="Pops the highest-scored member of the first non-empty sorted set, waiting if all are empty.",
         args="key ... timeout{type=double}", complexity="O(log(N))",
         keys="RW access delete @1 range(-2,1,0)")
def bzpopmax(ctx: Client, *args: bytes) -> object:
    timeout = parse_timeout(args[-1])
    return _blocking_pop(ctx, args[:-1], timeout, True, None)


@command("bzmpop", arity=-5, flags="write blocking", acl="sortedset", group="sorted-set", since="7.0.0",
         summary="ZMPOP that waits for one of the sorted sets to fill when all are empty.",
         args="timeout{type=double} numkeys key ... (MIN|MAX){name=where} [COUNT count]", complexity="O(K)+O(M*log(N))",
         getkeys=numkeys_keys(0, 2, 3),
         keys="RW access delete @2 keynum(0,1,1)")
def bzmpop(ctx: Client, timeout_arg: bytes, *args: bytes) -> object:
    keys, highest, count = parse_mpop(args, b"MAX", b"MIN")
    timeout = parse_timeout(timeout_arg)  # after the other arguments, as in Redis
    return _blocking_pop(ctx, keys, timeout, highest, count)


# --------------------------------------------------------------------------- random members

@command("zrandmember", arity=-2, flags="readonly", acl="sortedset", group="sorted-set",
         since="6.2.0", summary="Returns random members of a sorted set; a negative count allows repeats.",
         args="key [count [WITHSCORES]]{name=options}", complexity="O(N) for N members returned",
         keys="RO access @1", tips="nondeterministic_output")
def zrandmember(ctx: Client, key: bytes, *rest: bytes) -> object:
    if not rest:
        zs = read_zset(ctx, key)
        return None if zs is None else zs.random_entry()[1]
    count = parse_random_count(rest[0])
    if len(rest) > 2 or (len(rest) == 2 and rest[1].upper() != b"WITHSCORES"):
        raise SYNTAX_ERROR
    withscores = len(rest) == 2
    if withscores:
        check_pair_count(count)
    zs = read_zset(ctx, key)
    if zs is None or count == 0:
        return []
    size = len(zs.scores)
    if count < 0 or count == 1:
        entries = [zs.at(i) for i in random.choices(range(size), k=abs(count))]
    elif count >= size:
        entries = list(zs.slice(0, size, reverse=True))  # Redis returns the whole set, highest first
    else:
        entries = [zs.at(i) for i in random.sample(range(size), count)]
    return pairs(ctx, entries, withscores)


# --------------------------------------------------------------------------- set algebra

UNION, INTER, DIFF = 0, 1, 2


def _aggregate(op: bytes) -> Callable[[float, float], float]:
    if op == b"SUM":
        return _sum
    if op == b"MIN":
        return lambda a, b: b if b < a else a
    if op == b"MAX":
        return lambda a, b: b if b > a else a
    raise SYNTAX_ERROR


def _sum(a: float, b: float) -> float:
    total = a + b
    return 0.0 if total != total else total


def _entries_of(value: Any) -> dict[bytes, float]:
    """member → score for a sorted set, or member → 1 for a plain set."""
    if value.__class__ is ZSetValue:
        return value.scores
    return dict.fromkeys(value.members, 1.0)


def combine(ctx: Client, op: int, numkeys: bytes, rest: tuple[bytes, ...], name: bytes,
            store: bytes | None = None, card_only: bool = False) -> object:
    """ZUNION/ZINTER/ZDIFF, their STORE forms and ZINTERCARD, as Redis's shared implementation."""
    setnum = parse_int(numkeys)
    if setnum < 1:
        raise Error(b"ERR at least 1 input key is needed for '%s' command" % name)
    if setnum > len(rest):
        raise SYNTAX_ERROR
    lookup = ctx.db.lookup_read  # sources count as reads even for the STORE forms, as in Redis
    sources: list[dict[bytes, float] | None] = []
    for key in rest[:setnum]:
        value = lookup(key)
        if value is None:
            sources.append(None)
        elif value.__class__ is ZSetValue or value.__class__ is SetValue:
            sources.append(_entries_of(value))
        else:
            raise WRONGTYPE
    weights = [1.0] * setnum
    aggregate: Callable[[float, float], float] = _sum
    withscores = False
    limit = 0
    options = ArgCursor(rest, setnum)
    while options:
        opt = options.next_keyword()
        if op != DIFF and not card_only and options.has(setnum) and opt == b"WEIGHTS":
            weights = [parse_score(w, WEIGHT_NOT_FLOAT) for w in options.next_many(setnum)]
        elif op != DIFF and not card_only and options.has(1) and opt == b"AGGREGATE":
            aggregate = _aggregate(options.next_keyword())
        elif store is None and not card_only and opt == b"WITHSCORES":
            withscores = True
        elif card_only and options.has(1) and opt == b"LIMIT":
            limit = options.next_int(LIMIT_NEGATIVE)
            if limit < 0:
                raise LIMIT_NEGATIVE
        else:
            raise SYNTAX_ERROR
    inputs = [(src if src is not None else {}, w) for src, w in zip(sources, weights, strict=True)]
    if op == INTER:
        common = _inter(inputs, aggregate, card_only, limit)
        if isinstance(common, int):  # ZINTERCARD: the count alone
            return common
        result = common
    elif op == UNION:
        result = _union(inputs, aggregate)
    else:
        result = _diff(inputs)
    entries = sorted((score, member) for member, score in result.items())
    if store is not None:
        return _store_entries(ctx, store, entries, name)
    return pairs(ctx, entries, withscores)


def _weighted(score: float, weight: float) -> float:
    value = score * weight
    return 0.0 if value != value else value


def _inter(inputs: list, aggregate: Callable, card_only: bool, limit: int) -> dict[bytes, float] | int:
    ordered = sorted(inputs, key=lambda pair: len(pair[0]))
    first, first_weight = ordered[0]
    rest = ordered[1:]
    result: dict[bytes, float] = {}
    count = 0
    for member, score in first.items():
        total = _weighted(score, first_weight)
        for source, weight in rest:
            other = source.get(member)
            if other is None:
                break
            total = aggregate(total, other * weight)
        else:
            if card_only:
                count += 1
                if limit and count >= limit:
                    break
            else:
                result[member] = total
    return count if card_only else result


def _union(inputs: list, aggregate: Callable) -> dict[bytes, float]:
    result: dict[bytes, float] = {}
    for source, weight in sorted(inputs, key=lambda pair: len(pair[0])):
        for member, score in source.items():
            value = _weighted(score, weight)
            old = result.get(member)
            result[member] = value if old is None else aggregate(old, value)
    return result


def _diff(inputs: list) -> dict[bytes, float]:
    first = inputs[0][0]
    others = [source for source, _ in inputs[1:] if source]
    return {m: s for m, s in first.items() if not any(m in other for other in others)}


@command("zunion", arity=-3, flags="readonly", acl="sortedset", group="sorted-set", since="6.2.0",
         summary="Returns the union of sorted sets (and sets), scores combined.",
         args="numkeys key ... [WEIGHTS weight{type=integer} ...] "
              "[SUM|MIN|MAX]{name=aggregate,token=AGGREGATE} [WITHSCORES]",
         complexity="O(N)+O(M*log(M))", getkeys=numkeys_keys(0, 1, 2),
         keys="RO access @1 keynum(0,1,1)")
def zunion(ctx: Client, numkeys: bytes, *rest: bytes) -> object:
    return combine(ctx, UNION, numkeys, rest, b"zunion")


@command("zinter", arity=-3, flags="readonly", acl="sortedset", group="sorted-set", since="6.2.0",
         summary="Returns the intersection of sorted sets (and sets), scores combined.",
         args="numkeys key ... [WEIGHTS weight{type=integer} ...] "
              "[SUM|MIN|MAX]{name=aggregate,token=AGGREGATE} [WITHSCORES]",
         complexity="O(N*K)+O(M*log(M))", getkeys=numkeys_keys(0, 1, 2),
         keys="RO access @1 keynum(0,1,1)")
def zinter(ctx: Client, numkeys: bytes, *rest: bytes) -> object:
    return combine(ctx, INTER, numkeys, rest, b"zinter")


@command("zdiff", arity=-3, flags="readonly", acl="sortedset", group="sorted-set", since="6.2.0",
         summary="Returns the members of the first sorted set found in none of the others.",
         args="numkeys key ... [WITHSCORES]", complexity="O(L + (N-K)log(N))",
         getkeys=numkeys_keys(0, 1, 2),
         keys="RO access @1 keynum(0,1,1)")
def zdiff(ctx: Client, numkeys: bytes, *rest: bytes) -> object:
    return combine(ctx, DIFF, numkeys, rest, b"zdiff")


@command("zunionstore", arity=-4, flags="write denyoom", acl="sortedset", group="sorted-set",
         since="2.0.0", summary="Stores the union of sorted sets (and sets) at a key; returns its size.",
         args="destination numkeys key{ks=1} ... [WEIGHTS weight{type=integer} ...] "
              "[SUM|MIN|MAX]{name=aggregate,token=AGGREGATE}",
         complexity="O(N)+O(M*log(M))", getkeys=numkeys_keys(1, 2, 3),
         keys=("OW update @1", "RO access @2 keynum(0,1,1)"))
def zunionstore(ctx: Client, destination: bytes, numkeys: bytes, *rest: bytes) -> object:
    return combine(ctx, UNION, numkeys, rest, b"zunionstore", store=destination)


@command("zinterstore", arity=-4, flags="write denyoom", acl="sortedset", group="sorted-set",
         since="2.0.0", summary="Stores the intersection of sorted sets (and sets) at a key; returns its size.",
         args="destination numkeys key{ks=1} ... [WEIGHTS weight{type=integer} ...] "
              "[SUM|MIN|MAX]{name=aggregate,token=AGGREGATE}",
         complexity="O(N*K)+O(M*log(M))", getkeys=numkeys_keys(1, 2, 3),
         keys=("OW update @1", "RO access @2 keynum(0,1,1)"))
def zinterstore(ctx: Client, destination: bytes, numkeys: bytes, *rest: bytes) -> object:
    return combine(ctx, INTER, numkeys, rest, b"zinterstore", store=destination)


@command("zdiffstore", arity=-4, flags="write denyoom", acl="sortedset", group="sorted-set",
         since="6.2.0", summary="Stores the difference of sorted sets (and sets) at a key; returns its size.",
         args="destination numkeys key{ks=1} ...", complexity="O(L + (N-K)log(N))", getkeys=numkeys_keys(1, 2, 3),
         keys=("OW update @1", "RO access @2 keynum(0,1,1)"))
def zdiffstore(ctx: Client, destination: bytes, numkeys: bytes, *rest: bytes) -> object:
    return combine(ctx, DIFF, numkeys, rest, b"zdiffstore", store=destination)


@command("zintercard", arity=-3, flags="readonly", acl="sortedset", group="sorted-set", since="7.0.0",
         summary="Counts the members common to all the given sorted sets, optionally stopping at a limit.",
         args="numkeys key ... [LIMIT limit]", complexity="O(N*K) worst case",
         getkeys=numkeys_keys(0, 1, 2),
         keys="RO access @1 keynum(0,1,1)")
def zintercard(ctx: Client, numkeys: bytes, *rest: bytes) -> object:
    return combine(ctx, INTER, numkeys, rest, b"zintercard", card_only=True)


# --------------------------------------------------------------------------- ZSCAN


@command("zscan", arity=-3, flags="readonly", acl="sortedset", group="sorted-set",
         since="2.8.0", summary="Iterates over the members and scores of a sorted set a page at a time.",
         args="key cursor [MATCH pattern] [COUNT count]",
         complexity="O(1) per call, O(N) for a complete iteration",
         keys="RO access @1", tips="nondeterministic_output")
def zscan(ctx: Client, key: bytes, cursor: bytes, *opts: bytes) -> list:
    position = parse_scan_cursor(cursor)
    zs = read_zset(ctx, key)
    if zs is None:
        return [b"0", []]  # Redis answers a missing key before it reads the options
    count, pattern, _ = parse_scan_options(opts, allow_type=False)
    match = glob_matcher(pattern)
    if zs.listpack:
        # Redis returns a small encoding whole, in one call.
        next_cursor, entries = 0, list(zs.slice(0, len(zs.scores)))
    else:
        next_cursor, entries = zs.scan(position, count)
    out: list[bytes] = []
    for score, member in entries:
        if match is None or match(member):
            out.append(member)
            out.append(format_double(score))
    return [b"%d" % next_cursor, out]
