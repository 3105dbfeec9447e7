"""Stream commands (t_stream.c and the stream half of blocked.c in Redis 7.0).

A stream value is a ``StreamValue`` (``server/datatypes/stream.py``); IDs are
ints (``ms << 64 | seq``) inside the server and ``b"<ms>-<seq>"`` on the wire.
Every command keeps Redis 7.0.15's order of checks, so the same bad request
fails with the same error text whether or not the key exists.

Replication-style effects for the AOF (``ctx.propagate_as``), as Redis
propagates them: XADD logs the ID it generated and an approximate trim as the
exact trim it did (``MAXLEN = <length>``); XREADGROUP, XCLAIM and XAUTOCLAIM log
one ``XCLAIM ... FORCE JUSTID LASTID`` per pending entry they created or moved,
plus ``XGROUP SETID``/``CREATECONSUMER`` where NOACK leaves no XCLAIM to carry
the change.

XREAD and XREADGROUP with BLOCK wait in ``server.blocking``: a served client
gets only the key that became ready, at most COUNT (default 1000) entries; an
XREADGROUP client is answered with an error when its group is destroyed or its
key deleted or overwritten (the keyspace signals a removed stream as ready).
"""

from __future__ import annotations

import re
from itertools import islice
from time import time_ns
from typing import Any, cast

from server.client import Blocked, Client
from server.command import command, container
from server.commands.args import (
    COUNT_NOT_POSITIVE,
    NO_SUCH_KEY,
    SYNTAX_ERROR,
    ArgCursor,
    c_string,
    parse_int,
    parse_timeout_ms,
    to_int,
)
from server.commands.connection import subcommand_syntax_error
from server.datatypes.stream import (
    COUNTERS_BOUND,
    INVALID_ENTRIES_READ,
    LISTPACK_MAX_SIZE,
    MAX_ID,
    SEQ_MASK,
    U64_MAX,
    Consumer,
    Group,
    Nack,
    StreamValue,
    format_id,
)
from server.keyspace import NOTIFY_STREAM, WRONGTYPE, clock, now_ms
from server.protocol import NULL_ARRAY, OK, Error, Raw, Status

INVALID_ID = Error(b"ERR Invalid stream ID specified as stream command argument")
BAD_START = Error(b"ERR invalid start ID for the interval")
BAD_END = Error(b"ERR invalid end ID for the interval")
TOO_LARGE = Error(b"ERR Elements are too large to be stored")
XREAD_BLOCKED_DEFAULT_COUNT = 1000
STRICT = True

Entry = tuple[int, bytes]  # an ID and its fields and values as a RESP array


# --------------------------------------------------------------------------- IDs


def _strtoull(text: bytes) -> int | None:
    """Redis's string2ull: strict string2ll first, then C's strtoull (spaces, sign, zeros)."""
    value = to_int(text)
    if value is not None:
        return None if value < 0 else value
    i = 0
    n = len(text)
    while i < n and text[i] in b" \t\n\v\f\r":
        i += 1
    negative = False
    if i < n and text[i] in b"+-":
        negative = text[i] == 45
        i += 1
    digits = text[i:]
    if not digits or not digits.isdigit() or not text:
        return None
    value = int(digits)
    if value > U64_MAX:
        return None
    return (-value) & U64_MAX if negative else value


def parse_id(arg: bytes, missing_seq: int = 0, strict: bool = False, seq_star: bool = False) -> tuple[int, bool]:
    """streamGenericParseIDOrReply: (ID, seq_given). ``seq_star`` accepts XADD's ``<ms>-*``."""
    if len(arg) > 127:
        raise INVALID_ID
    ms_part, dash, seq_part = arg.partition(b"-")
    if dash and ms_part.isdigit() and seq_part.isdigit():  # the usual "<ms>-<seq>": no C quirk applies
        fast_ms, fast_seq = int(ms_part), int(seq_part)
        if fast_ms <= U64_MAX and fast_seq <= U64_MAX:
            return fast_ms << 64 | fast_seq, True
    nul = arg.find(b"\0")
    buf = arg if nul < 0 else arg[:nul]
    if strict and buf in (b"-", b"+"):
        raise INVALID_ID
    if buf == b"-":
        return 0, True
    if buf == b"+":
        return MAX_ID, True
    ms_part, dash, seq_part = buf.partition(b"-")
    ms = _strtoull(ms_part)
    if ms is None:
        raise INVALID_ID
    if not dash:
        return ms << 64 | missing_seq, True
    if seq_star and seq_part == b"*":
        return ms << 64, False
    seq = _strtoull(seq_part)
    if seq is None:
        raise INVALID_ID
    return ms << 64 | seq, True


def strict_id(arg: bytes) -> int:
    return parse_id(arg, 0, True)[0]


# Plain "<ms>-<seq>" IDs, one a line: below 10**19 no 64-bit overflow can happen.
_ID_LINES = re.compile(rb"\d{1,19}-\d{1,19}(?:\n\d{1,19}-\d{1,19})*")
_ID_PARTS = re.compile(rb"(\d+)-(\d+)")


def strict_ids(args: tuple[bytes, ...]) -> list[int]:
    """``strict_id`` of each argument (XACK's IDs): when all are plain ``<ms>-<seq>``, in one pass.

    The joined arguments are a list of plain IDs with as many lines as arguments, so none
    holds a line break and each is one plain ID.
    """
    joined = b"\n".join(args)
    if _ID_LINES.fullmatch(joined):
        found = _ID_PARTS.findall(joined)
        if len(found) == len(args):
            return [int(ms) << 64 | int(seq) for ms, seq in found]
    return [strict_id(arg) for arg in args]


def interval_id(arg: bytes, missing_seq: int) -> tuple[int, bool]:
    """streamParseIntervalIDOrReply: an ID, exclusive when written ``(<id>``."""
    if len(arg) > 1 and arg[:1] == b"(":
        return parse_id(arg[1:], missing_seq, True)[0], True
    return parse_id(arg, missing_seq)[0], False


def range_start(arg: bytes) -> int:
    start, exclusive = interval_id(arg, 0)
    if exclusive:
        if start == MAX_ID:
            raise BAD_START
        start += 1
    return start


def range_end(arg: bytes) -> int:
    end, exclusive = interval_id(arg, SEQ_MASK)
    if exclusive:
        if end == 0:
            raise BAD_END
        end -= 1
    return end


# --------------------------------------------------------------------------- helpers


def lookup(ctx: Client, key: bytes, read: bool = True) -> StreamValue | None:
    return cast("StreamValue | None", ctx.db.lookup_type(key, StreamValue, read=read))


def set_effects(ctx: Client, commands: list[list[bytes]]) -> None:
    """What the AOF logs instead of the command's own argv (only when something logs it)."""
    if ctx.server.effects.active:
        ctx.propagate_as = commands


def entry_reply(entries: list[Entry]) -> Raw:
    """An array of ``[id, [field, value ...]]`` written straight to RESP (the rows are stored encoded)."""
    parts = [b"*%d\r\n" % len(entries)]
    append = parts.append
    for sid, row in entries:
        text = b"%d-%d" % (sid >> 64, sid & SEQ_MASK)
        append(b"*2\r\n$%d\r\n%b\r\n%b" % (len(text), text, row))
    return Raw(b"".join(parts))


def claim_effect(key: bytes, group_name: bytes, sid: int, nack: Nack, last_id: int) -> list[bytes]:
    """streamPropagateXCLAIM: the idempotent XCLAIM that recreates ``nack`` on a replay (``last_id``:
    the group's last ID at that point)."""
    owner = nack.consumer.name if nack.consumer is not None else b""
    return [b"XCLAIM", key, group_name, owner, b"0", format_id(sid), b"TIME", b"%d" % nack.delivery_time,
            b"RETRYCOUNT", b"%d" % nack.delivery_count, b"FORCE", b"JUSTID", b"LASTID", format_id(last_id)]


def setid_effect(key: bytes, group_name: bytes, group: Group) -> list[bytes]:
    return [b"XGROUP", b"SETID", key, group_name, format_id(group.last_id), b"ENTRIESREAD",
            b"%d" % group.entries_read]


def lookup_consumer(group: Group, name: bytes, now: int, refresh: bool = True) -> Consumer | None:
    consumer = group.consumers.get(name)
    if consumer is not None and refresh:
        consumer.seen_time = now
    return consumer


def create_consumer(ctx: Client, group: Group, name: bytes, key: bytes, now: int) -> Consumer:
    """streamCreateConsumer: counts as a change and sends ``xgroup-createconsumer``."""
    consumer = group.consumers[name] = Consumer(name, now)
    ctx.db.keyspace.dirty += 1
    ctx.db.notify(NOTIFY_STREAM, b"xgroup-createconsumer", key)
    return consumer


def consumer_for(ctx: Client, group: Group, name: bytes, key: bytes, now: int) -> tuple[Consumer, bool]:
    consumer = lookup_consumer(group, name, now)
    if consumer is not None:
        return consumer, False
    return create_consumer(ctx, group, name, key, now), True


# --------------------------------------------------------------------------- XADD / XTRIM


class IdText:
    """The text of the last millisecond an XADD formatted: generated IDs come many to the millisecond."""

    __slots__ = ("ms", "prefix")

    def __init__(self) -> None:
        self.ms = -1
        self.prefix = b""


ID_TEXT = IdText()
DIGITS = [b"%d" % i for i in range(1024)]


class TrimArgs:
    __slots__ = ("maxlen", "minid", "approx", "limit", "arg_index", "id_index", "sid", "seq_given", "nomkstream")

    def __init__(self) -> None:
        self.maxlen: int | None = None
        self.minid: int | None = None
        self.approx = False
        self.limit = 0
        self.arg_index = 0  # position of the MAXLEN/MINID threshold in argv
        self.id_index = 0
        self.sid: int | None = None  # XADD's explicit ID
        self.seq_given = True
        self.nomkstream = False

    @property
    def strategy(self) -> bool:
        return self.maxlen is not None or self.minid is not None


BOTH_STRATEGIES = Error(b"ERR syntax error, MAXLEN and MINID options at the same time are not compatible")


def parse_add_or_trim(ctx: Client, argv: tuple[bytes, ...], xadd: bool) -> TrimArgs:
    """streamParseAddOrTrimArgsOrReply over ``argv`` (argv[0] is the key)."""
    args = TrimArgs()
    limit_given = False
    options = ArgCursor(argv, 1)
    while options:
        opt = options.peek()
        if xadd and opt == b"*":
            break
        options.skip()
        low = opt.lower()
        if low in (b"maxlen", b"minid") and options.has(1):
            if args.strategy:
                raise BOTH_STRATEGIES
            args.approx = False
            if options.has(2) and options.peek() == b"~":
                args.approx = True
                options.skip()
            elif options.has(2) and options.peek() == b"=":
                options.skip()
            args.arg_index = options.pos  # where the threshold stands (rewritten for the AOF)
            if low == b"maxlen":
                maxlen = options.next_int()
                if maxlen < 0:
                    raise Error(b"ERR The MAXLEN argument must be >= 0.")
                args.maxlen = maxlen
            else:
                args.minid = strict_id(options.next_bytes())
        elif low == b"limit" and options.has(1):
            limit = options.next_int()
            if limit < 0:
                raise Error(b"ERR The LIMIT argument must be >= 0.")
            args.limit = limit
            limit_given = True
        elif xadd and low == b"nomkstream":
            args.nomkstream = True
        elif xadd:
            options.pos -= 1  # the ID: it stays at id_index
            args.sid, args.seq_given = parse_id(opt, 0, True, seq_star=True)
            break
        else:
            raise SYNTAX_ERROR
    args.id_index = options.pos
    if args.limit and not args.strategy:
        raise Error(b"ERR syntax error, LIMIT cannot be used without specifying a trimming strategy")
    if not xadd and not args.strategy:
        raise Error(b"ERR syntax error, XTRIM must be called with a trimming strategy")
    if ctx.addr == "aof":  # the AOF loader (Redis's mustObeyClient): trim exactly as logged
        args.limit = 0
    elif limit_given:
        if not args.approx:
            raise Error(b"ERR syntax error, LIMIT cannot be used without the special ~ option")
    elif args.approx:
        limit = 100 * cast(int, ctx.server.config["stream-node-max-entries"])
        if limit <= 0:
            limit = 10000
        if limit > 1000000:
            limit = 1000000
        args.limit = limit
    else:
        args.limit = 0
    return args


def trim_rewrite(stream: StreamValue, args: TrimArgs, argv: list[bytes]) -> None:
    """An approximate trim is logged as the exact one it amounted to (streamRewriteTrimArgument)."""
    argv[args.arg_index - 1] = b"="
    if args.maxlen is not None:
        argv[args.arg_index] = b"%d" % stream.length
    else:
        argv[args.arg_index] = format_id(stream.nodes[0].id_at(0)) if stream.nodes else format_id(MAX_ID)


def node_limits(ctx: Client) -> tuple[int, int]:
    config = ctx.server.config
    return cast(int, config["stream-node-max-bytes"]), cast(int, config["stream-node-max-entries"])


@command("xadd", arity=-5, flags="write denyoom fast", acl="stream", group="stream",
         since="5.0.0", summary="Appends an entry to a stream, creating the stream if needed.",
         args="key [NOMKSTREAM{since=6.2.0}] [(MAXLEN|MINID{since=6.2.0}){name=strategy} "
              "[={name=equal}|~{name=approximately}]{name=operator} threshold [LIMIT "
              "count{since=6.2.0}]]{name=trim} (*{name=auto_id}|id{type=string}){name=id_or_auto} (field "
              "value){name=field_value} ...",
         complexity="O(1) when adding a new entry, O(N) when trimming where N is the number of entries evicted.",
         keys="RW update @1 # UPDATE instead of INSERT because of the optional trimming feature", tips="nondeterministic_output")
def xadd(ctx: Client, key: bytes, *rest: bytes) -> object:
    if rest[0] == b"*":  # the common form, XADD key * field value ...: no option to parse
        if len(rest) == 3:
            # XADD key * field value to the open tail node of a stream whose master field is
            # ``field``, all here: what add_entry and StreamValue.append do for it, checks in the
            # same order (a change there is made here too). Anything else goes there: a new,
            # expiring or tracked key, another field than the node's, a node that may be full,
            # a limit of 0 (none), an ID at its limits.
            db = ctx.db
            stream = db.data.get(key)
            if (stream.__class__ is StreamValue and stream.length and (node := stream.nodes[-1]).usual == rest[1]
                    and not db.track and key not in db.expires):
                frozen = clock.frozen  # clock.now(), inlined
                ms = time_ns() // 1000000 if frozen is None else frozen
                last = stream.last_id
                if ms > last >> 64:
                    seq = 0
                else:
                    ms = last >> 64
                    seq = (last & SEQ_MASK) + 1
                value = rest[2]
                config: Any = ctx.server.config.values  # ints
                bound = node.lp_bound + COUNTERS_BOUND + len(rest[1]) + len(value)
                if (len(node.ms) < config["stream-node-max-entries"] and bound < config["stream-node-max-bytes"]
                        and bound < LISTPACK_MAX_SIZE and seq <= SEQ_MASK):
                    db.touch(key)
                    node.add_usual(ms, seq, value)
                    stream.length += 1
                    stream.entries_added += 1
                    stream.last_id = ms << 64 | seq
                    text = ID_TEXT
                    if text.ms != ms:
                        text.ms = ms
                        text.prefix = b"%d-" % ms
                    reply = text.prefix + DIGITS[seq] if seq < 1024 else text.prefix + b"%d" % seq
                    ks = db.keyspace
                    if ks.notify_flags:
                        db.notify(NOTIFY_STREAM, b"xadd", key)
                    if ctx.server.effects.active:
                        ctx.propagate_as = [[b"XADD", key, reply, rest[1], value]]
                    if ks.blocked_keys:
                        db.signal_ready(key)
                    return reply
        elif len(rest) % 2 == 0:
            raise Error(b"ERR wrong number of arguments for 'xadd' command")
        return add_entry(ctx, key, rest[1:], None, True, None, None, rest)
    argv = (key, *rest)
    if len(rest) >= 6 and rest[3] == b"*" and not len(rest) % 2:
        args = capped_add_args(ctx, rest)
        if args is not None:  # XADD key MAXLEN ~|= <n> * field value ...
            return add_entry(ctx, key, rest[4:], None, True, args, b"", argv)
    args = parse_add_or_trim(ctx, argv, True)
    field_pos = args.id_index + 1
    nvals = len(argv) - field_pos
    if nvals < 2 or nvals % 2:
        raise Error(b"ERR wrong number of arguments for 'xadd' command")
    if args.sid is not None and args.seq_given and args.sid == 0:
        raise Error(b"ERR The ID specified in XADD must be greater than 0-0")
    return add_entry(ctx, key, argv[field_pos:], args.sid, args.seq_given, args, None if args.nomkstream else b"",
                     argv)


def capped_add_args(ctx: Client, rest: tuple[bytes, ...]) -> TrimArgs | None:
    """The trim of ``MAXLEN ~|= <n> * ...`` (``rest`` is argv after the key), else None.

    The shape capped streams use on every XADD, read without the general option loop; any
    other shape, or a bad count, returns None and takes ``parse_add_or_trim`` (and its errors).
    """
    mode = rest[1]
    if mode != b"~" and mode != b"=":
        return None
    opt = rest[0]
    if opt != b"MAXLEN" and opt.lower() != b"maxlen":
        return None
    maxlen = to_int(rest[2])
    if maxlen is None or maxlen < 0:
        return None
    args = TrimArgs()
    args.maxlen = maxlen
    args.arg_index = 3
    args.id_index = 4
    if mode == b"~":
        args.approx = True
    if args.approx and ctx.addr != "aof":  # the AOF loader trims exactly as logged: no LIMIT
        limit = 100 * cast(int, ctx.server.config.values["stream-node-max-entries"])
        args.limit = 10000 if limit <= 0 else min(limit, 1000000)
    return args


def add_entry(ctx: Client, key: bytes, row: tuple[bytes, ...], sid: int | None, seq_given: bool,
              args: TrimArgs | None, create: bytes | None, argv: tuple[bytes, ...]) -> object:
    """The body of XADD once its arguments are parsed (``create`` None: NOMKSTREAM).

    ``argv`` is the command's arguments from the key on, or from the ID on when ``args`` is None.
    """
    db = ctx.db
    stream = db.lookup_type(key, StreamValue, False)
    created = False
    if stream is None:
        if args is not None and args.nomkstream:
            return None
        stream = StreamValue()
        created = True
    last = stream.last_id
    if last == MAX_ID:
        raise Error(b"ERR The stream has exhausted the last possible ID, unable to add more items")
    if sid is None:  # the time, or the top item's time if that is later (then its seq + 1)
        ms = clock.now()
        last_ms = last >> 64
        if ms > last_ms:
            seq = 0
        else:
            ms = last_ms
            seq = (last & SEQ_MASK) + 1
            if seq > SEQ_MASK:
                ms, seq = ms + 1, 0
    else:
        if not seq_given and last >> 64 == sid >> 64:
            if last & SEQ_MASK == SEQ_MASK:
                raise Error(b"ERR The ID specified in XADD is equal or smaller than the target stream top item")
            sid = last + 1
        if sid <= last:
            raise Error(b"ERR The ID specified in XADD is equal or smaller than the target stream top item")
        ms, seq = sid >> 64, sid & SEQ_MASK
    size = len(row[0]) + len(row[1]) if len(row) == 2 else sum(map(len, row))
    if size > LISTPACK_MAX_SIZE:  # a listpack holds 32-bit lengths (streamAppendItem's ERANGE)
        if created:  # Redis created the key before the append failed: an empty stream stays
            db.data[key] = stream
            db.created(key)
        raise TOO_LARGE
    if created:
        db.add(key, stream)
    else:
        db.touch(key)
    values = ctx.server.config.values
    stream.append(ms, seq, row, size, cast(int, values["stream-node-max-bytes"]),
                  cast(int, values["stream-node-max-entries"]))
    reply = b"%d-%d" % (ms, seq)
    ks = db.keyspace
    if ks.notify_flags:
        db.notify(NOTIFY_STREAM, b"xadd", key)
    if args is not None:
        if args.strategy and stream.trim(args.maxlen, args.minid, args.approx, args.limit):
            db.notify(NOTIFY_STREAM, b"xtrim", key)
        if ctx.server.effects.active and (args.approx or sid is None or not seq_given):
            logged = list(argv)
            if args.approx:
                trim_rewrite(stream, args, logged)
            if sid is None or not seq_given:
                logged[args.id_index] = reply
            ctx.propagate_as = [[b"XADD", *logged]]
    elif sid is None and ctx.server.effects.active:
        ctx.propagate_as = [[b"XADD", key, reply, *argv[1:]]]
    if ks.blocked_keys:
        db.signal_ready(key)
    return reply


@command("xtrim", arity=-4, flags="write", acl="stream", group="stream", since="5.0.0",
         summary="Removes the oldest entries of a stream, by length or by ID.",
         args="key ((MAXLEN|MINID{since=6.2.0}){name=strategy} "
              "[={name=equal}|~{name=approximately}]{name=operator} threshold [LIMIT "
              "count{since=6.2.0}]){name=trim}",
         complexity="O(N), with N being the number of evicted entries.",
         keys="RW delete @1", tips="nondeterministic_output")
def xtrim(ctx: Client, key: bytes, *rest: bytes) -> int:
    argv = (key, *rest)
    args = parse_add_or_trim(ctx, argv, False)
    stream = lookup(ctx, key, read=False)
    if stream is None:
        return 0
    deleted = stream.trim(args.maxlen, args.minid, args.approx, args.limit)
    if deleted:
        ctx.db.notify(NOTIFY_STREAM, b"xtrim", key)
        if args.approx:
            logged = list(argv)
            trim_rewrite(stream, args, logged)
            set_effects(ctx, [[b"XTRIM", *logged]])
        ctx.db.touch(key)
        ctx.db.keyspace.dirty += deleted - 1
    return deleted


# --------------------------------------------------------------------------- reading


def parse_count_option(rest: tuple[bytes, ...]) -> int:
    """XRANGE's trailing ``COUNT n`` (-1 when absent)."""
    if len(rest) == 2 and rest[0].upper() == b"COUNT" and (given := to_int(rest[1])) is not None:
        return max(given, 0)  # the usual form, as the loop below reads it
    count = -1
    args = ArgCursor(rest)
    while args:
        if args.next_keyword() == b"COUNT" and args.has(1):
            count = max(args.next_int(), 0)
        else:
            raise SYNTAX_ERROR
    return count


def range_command(ctx: Client, key: bytes, start_arg: bytes, end_arg: bytes, rest: tuple[bytes, ...],
                  rev: bool) -> object:
    start = 0 if start_arg == b"-" else range_start(start_arg)
    end = MAX_ID if end_arg == b"+" else range_end(end_arg)
    count = parse_count_option(rest) if rest else -1
    stream = lookup(ctx, key)
    if stream is None:
        return []
    if count == 0:
        return NULL_ARRAY
    return Raw(stream.range_reply(start, end, 0 if count < 0 else count, rev))


@command("xrange", arity=-4, flags="readonly", acl="stream", group="stream", since="5.0.0",
         summary="Returns the entries of a stream within a range of IDs.", args="key start{type=string} end{type=string} [COUNT count]",
         complexity="O(N) with N being the number of elements being returned.",
         keys="RO access @1")
def xrange(ctx: Client, key: bytes, start: bytes, end: bytes, *rest: bytes) -> object:
    return range_command(ctx, key, start, end, rest, False)


@command("xrevrange", arity=-4, flags="readonly", acl="stream", group="stream", since="5.0.0",
         summary="Returns the entries of a stream within a range of IDs, newest first.",
         args="key end{type=string} start{type=string} [COUNT count]", complexity="O(N) with N being the number of elements returned.",
         keys="RO access @1")
def xrevrange(ctx: Client, key: bytes, end: bytes, start: bytes, *rest: bytes) -> object:
    return range_command(ctx, key, start, end, rest, True)


@command("xlen", arity=2, flags="readonly fast", acl="stream", group="stream", since="5.0.0",
         summary="Returns the number of entries in a stream.", args="key",
         keys="RO @1")
def xlen(ctx: Client, key: bytes) -> int:
    stream = lookup(ctx, key)
    return 0 if stream is None else stream.length


@command("xdel", arity=-3, flags="write fast", acl="stream", group="stream", since="5.0.0",
         summary="Deletes entries from a stream; returns how many existed.", args="key id{type=string} ...",
         complexity="O(1) for each single item to delete in the stream",
         keys="RW delete @1")
def xdel(ctx: Client, key: bytes, *ids: bytes) -> int:
    stream = lookup(ctx, key, read=False)
    if stream is None:
        return 0
    parsed = strict_ids(ids)
    deleted = 0
    first_gone = False
    for sid in parsed:
        if stream.delete(sid):
            if sid == stream.first_id:
                first_gone = True
            if sid > stream.max_deleted_id:
                stream.max_deleted_id = sid
            deleted += 1
    if deleted:
        if stream.length == 0:
            stream.first_id = 0
        elif first_gone:
            stream.refresh_first()
        ctx.db.touch(key)
        ctx.db.notify(NOTIFY_STREAM, b"xdel", key)
        ctx.db.keyspace.dirty += deleted - 1
    return deleted


# --------------------------------------------------------------------------- XREAD / XREADGROUP


def deliver(ctx: Client, stream: StreamValue, key: bytes, start: int, count: int, group: Group | None,
            group_name: bytes, consumer: Consumer | None, noack: bool, effects: list[list[bytes]],
            now: int) -> object:
    """streamReplyWithRange for XREAD(GROUP): entries from ``start`` on, the PEL updated for a group."""
    if group is None or consumer is None:
        return Raw(stream.range_reply(start, MAX_ID, count))
    entries = stream.range(start, MAX_ID, count)
    if not entries:
        return entry_reply(entries)
    logging = ctx.server.effects.active  # the XCLAIMs are built only for a consumer of effects
    pel = group.pel
    first = entries[0][0]
    if (first > group.last_id and group.entries_read != INVALID_ENTRIES_READ
            and not stream.range_has_tombstones(first) and (noack or not pel or first > group.pel_index.last())):
        # A consumer loop's every read: each entry moves the group on and counts one read
        # (note_delivered), and none is pending yet. All at once; the XCLAIM logged for an
        # entry carries the group's last ID as it was then, the entry's own.
        group.entries_read += len(entries)
        group.last_id = entries[-1][0]
        if noack:
            if logging:
                effects.append(setid_effect(key, group_name, group))
            return entry_reply(entries)
        sids = [sid for sid, _row in entries]
        nacks = [Nack(consumer, now) for _sid in sids]
        pel.update(zip(sids, nacks))
        group.pel_index.add_run(sids)
        consumer.pel.add_run(sids)
        if logging:
            effects.extend([claim_effect(key, group_name, sid, nack, sid) for sid, nack in zip(sids, nacks, strict=True)])
        return entry_reply(entries)
    moved = False
    for sid, _row in entries:
        if stream.note_delivered(group, sid) and noack:
            moved = True
        if not noack:
            nack = pel.get(sid)
            if nack is None:
                nack = Nack(consumer, now)
                group.add_nack(sid, nack)
            else:
                if nack.consumer is not None:
                    nack.consumer.pel.discard(sid)
                nack.consumer = consumer
                nack.delivery_time = now
                nack.delivery_count = 1
                consumer.pel.add(sid)
            if logging:
                effects.append(claim_effect(key, group_name, sid, nack, group.last_id))
    if moved and logging:
        effects.append(setid_effect(key, group_name, group))
    return entry_reply(entries)


def deliver_history(stream: StreamValue, consumer: Consumer, group: Group, start: int, count: int,
                    now: int) -> object:
    """streamReplyWithRangeFromConsumerPEL: the consumer's own pending entries from ``start``."""
    out: list = []
    pel = consumer.pel
    for sid in pel.irange(start):
        if count and len(out) >= count:
            break
        row = stream.get(sid)
        if row is None:
            out.append([format_id(sid), NULL_ARRAY])
        else:
            out.append([format_id(sid), Raw(row)])
            nack = group.pel[sid]
            nack.delivery_time = now
            nack.delivery_count += 1
    return out


def read_command(ctx: Client, args: tuple[bytes, ...], xreadgroup: bool) -> object:
    timeout = -1
    count = 0
    streams_at = 0
    noack = False
    group_name: bytes | None = None
    consumer_name = b""
    n = len(args)
    options = ArgCursor(args, n)
    if (xreadgroup and n == 8 and args[0].upper() == b"GROUP" and args[3].upper() == b"COUNT"
            and args[5].upper() == b"STREAMS" and (given := to_int(args[4])) is not None):
        # GROUP g c COUNT n STREAMS key id, a consumer loop's every call: the option loop would accept it as is
        group_name, consumer_name, count, streams_at = args[1], args[2], max(given, 0), 6
    else:
        options.pos = 0
    while options:
        opt = options.next_keyword()
        if opt == b"BLOCK" and options.has(1):
            if ctx.addr == "lua":  # Redis keeps BLOCK out of scripts with its own error
                name = ctx.argv[0] if ctx.argv else (b"xreadgroup" if xreadgroup else b"xread")
                raise Error(b"ERR %s command is not allowed with BLOCK option from scripts" % name)
            timeout = parse_timeout_ms(options.next_bytes())
        elif opt == b"COUNT" and options.has(1):
            count = max(options.next_int(), 0)
        elif opt == b"STREAMS" and options.has(1):
            streams_at = options.pos
            if options.left() % 2:
                raise Error(b"ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be "
                            b"specified.")
            break
        elif opt == b"GROUP" and options.has(2):
            if not xreadgroup:
                raise Error(b"ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.")
            group_name = options.next_bytes()
            consumer_name = options.next_bytes()
        elif opt == b"NOACK":
            if not xreadgroup:
                raise Error(b"ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.")
            noack = True
        else:
            raise SYNTAX_ERROR
    if not streams_at:
        raise SYNTAX_ERROR
    if xreadgroup and group_name is None:
        raise Error(b"ERR Missing GROUP option for XREADGROUP")
    nstreams = (n - streams_at) // 2
    keys = list(args[streams_at: streams_at + nstreams])
    ids: list[int] = []
    groups: list[Group] = []
    db = ctx.db
    for k, key in enumerate(keys):
        arg = args[streams_at + nstreams + k]
        value = db.lookup_read(key)
        if value is not None and value.__class__ is not StreamValue:
            raise WRONGTYPE
        stream = value if isinstance(value, StreamValue) else None
        if group_name is not None:
            group = stream.group(group_name) if stream is not None else None
            if group is None:
                raise Error(b"NOGROUP No such key '%s' or consumer group '%s' in XREADGROUP with GROUP option"
                            % (c_string(key), c_string(group_name)))
            groups.append(group)
        if arg == b"$":
            if xreadgroup:
                raise Error(b"ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the "
                            b"history of this consumer by specifying a proper ID, or use the > ID to get new "
                            b"messages. The $ ID would just return an empty result set.")
            ids.append(stream.last_id if stream is not None else 0)
            continue
        if arg == b">":
            if not xreadgroup:
                raise Error(b"ERR The > ID can be specified only when calling XREADGROUP using the GROUP "
                            b"<group> <consumer> option.")
            ids.append(MAX_ID)
            continue
        ids.append(strict_id(arg))

    effects: list[list[bytes]] = []
    served: list[tuple[bytes, object]] = []
    gname = group_name or b""
    now = now_ms()
    for k, key in enumerate(keys):
        value = db.lookup_read(key)
        if value is None:
            continue
        stream = cast(StreamValue, value)
        gt = ids[k]
        history = False
        serve = False
        if groups:
            if gt != MAX_ID:
                serve = history = True
            elif stream.length and stream.last_valid_id() > groups[k].last_id:
                serve = True
                gt = groups[k].last_id
        elif stream.length and stream.last_valid_id() > gt:
            serve = True
        if not serve:
            continue
        start = gt + 1 if gt != MAX_ID else 0
        if groups:
            group = groups[k]
            consumer, created = consumer_for(ctx, group, consumer_name, key, now)
            if created and noack:
                effects.append([b"XGROUP", b"CREATECONSUMER", key, gname, consumer_name])
            if history:
                entries = deliver_history(stream, consumer, group, start, count, now)
            else:
                entries = deliver(ctx, stream, key, start, count, group, gname, consumer,
                                  noack, effects, now)
            db.keyspace.dirty += 1
        else:
            entries = Raw(stream.range_reply(start, MAX_ID, count))
        served.append((key, entries))
    if groups:
        set_effects(ctx, effects)
    if served:
        return stream_map(ctx, served)
    if timeout == -1 or ctx.executing_multi:
        return NULL_ARRAY
    return block_read(ctx, keys, ids, timeout, count, group_name, consumer_name, noack)


def stream_map(ctx: Client, served: list[tuple[bytes, object]]) -> object:
    """XREAD's reply: ``[[key, entries] ...]`` in RESP2, a map key → entries in RESP3."""
    if ctx.resp == 3:
        return dict(served)
    return [[key, entries] for key, entries in served]


def block_read(ctx: Client, keys: list[bytes], ids: list[int], timeout_ms: int, count: int,
               group_name: bytes | None, consumer_name: bytes, noack: bool) -> Blocked:
    wanted: dict[bytes, int] = {}
    for key, sid in zip(keys, ids, strict=True):
        wanted.setdefault(key, sid)  # a key named twice waits for its first ID, as in Redis
    batch = count or XREAD_BLOCKED_DEFAULT_COUNT
    gname = group_name or b""

    def retry(client: Client) -> object:
        key = client.server.blocking.serving_key
        if key is None:
            return blocked
        value = client.db.lookup(key)
        if value is None or value.__class__ is not StreamValue:
            if group_name is not None:
                set_effects(client, [])
                return Error(b"UNBLOCKED the stream key no longer exists")
            return blocked
        stream: StreamValue = value
        gt = wanted[key]
        group = None
        if group_name is not None:
            group = stream.group(group_name)
            if group is None:
                set_effects(client, [])
                return Error(b"NOGROUP the consumer group this client was blocked on no longer exists")
            gt = group.last_id
        if stream.last_id <= gt:
            return blocked
        now = now_ms()
        effects: list[list[bytes]] = []
        consumer = None
        if group is not None:
            consumer, created = consumer_for(client, group, consumer_name, key, now)
            if created and noack:
                effects.append([b"XGROUP", b"CREATECONSUMER", key, gname, consumer_name])
        entries = deliver(client, stream, key, gt + 1, batch, group, gname, consumer, noack,
                          effects, now)
        if group is not None:
            client.db.keyspace.dirty += 1
        set_effects(client, effects)  # XREAD logs nothing; XREADGROUP its XCLAIMs
        return stream_map(client, [(key, entries)])

    blocked = Blocked(list(wanted), timeout_ms / 1000.0, retry, lambda client: NULL_ARRAY)
    blocked.wants_missing = group_name is not None
    return blocked


def xread_keys(argv: list[bytes]) -> list[tuple[int, int]]:
    """xreadGetKeys (when the key specs cannot answer): the first half of what follows the
    STREAMS that ends the options, none for a syntax error; without flags, as Redis's."""
    skip = {b"block": 1, b"count": 1, b"group": 2, b"noack": 0}
    i = 1
    while i < len(argv):
        word = argv[i].lower()
        if word == b"streams":
            rest = len(argv) - i - 1
            if rest == 0 or rest % 2:
                return []
            return [(pos, 0) for pos in range(i + 1, i + 1 + rest // 2)]
        if word not in skip:
            return []
        i += skip[word] + 1
    return []


@command("xread", arity=-4, flags="readonly blocking", acl="stream", group="stream", since="5.0.0",
         summary="Returns entries newer than given IDs from one or more streams, waiting for them with BLOCK.",
         args="[COUNT count] [BLOCK milliseconds] (key ... id{type=string} ...){name=streams,token=STREAMS}",
         complexity="O(N) with N the number of elements returned", getkeys=xread_keys,
         keys="RO access @STREAMS>1 range(-1,1,2)")
def xread(ctx: Client, *args: bytes) -> object:
    return read_command(ctx, args, False)


@command("xreadgroup", arity=-7, flags="write blocking", acl="stream", group="stream", since="5.0.0",
         summary="Reads entries as a consumer of a group, recording them as pending until acknowledged.",
         args="(group consumer){name=group_consumer,token=GROUP} [COUNT count] [BLOCK milliseconds] "
              "[NOACK] (key ... id{type=string} ...){name=streams,token=STREAMS}",
         complexity="O(M) with M the number of elements returned", getkeys=xread_keys,
         keys="RO access @STREAMS>4 range(-1,1,2)")
def xreadgroup(ctx: Client, *args: bytes) -> object:
    return read_command(ctx, args, True)


# --------------------------------------------------------------------------- XGROUP


XGROUP_HELP = [Status(line) for line in (
    b"XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    b"CREATE <key> <groupname> <id|$> [option]",
    b"    Create a new consumer group. Options are:",
    b"    * MKSTREAM",
    b"      Create the empty stream if it does not exist.",
    b"    * ENTRIESREAD entries_read",
    b"      Set the group's entries_read counter (internal use).",
    b"CREATECONSUMER <key> <groupname> <consumer>",
    b"    Create a new consumer in the specified group.",
    b"DELCONSUMER <key> <groupname> <consumer>",
    b"    Remove the specified consumer.",
    b"DESTROY <key> <groupname>",
    b"    Remove the specified group.",
    b"SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    b"    Set the current group ID and entries_read counter.",
    b"HELP",
    b"    Prints this help.",
)]

container("xgroup", summary="A container for consumer groups commands.", group="stream", since="5.0.0")



def xgroup_prepare(ctx: Client, sub: bytes, key: bytes, group_name: bytes, options: tuple[bytes, ...],
                   ) -> tuple[StreamValue | None, Group | None, bool, int]:
    """The part of xgroupCommand shared by its subcommands: options, key and group checks."""
    low = sub.lower()
    create = low == b"create"
    setid = low == b"setid"
    mkstream = False
    entries_read = INVALID_ENTRIES_READ
    args = ArgCursor(options)
    while args:
        opt = args.next_keyword()
        if create and opt == b"MKSTREAM":
            mkstream = True
        elif (create or setid) and opt == b"ENTRIESREAD" and args.has(1):
            entries_read = args.next_int()
            if entries_read < 0 and entries_read != INVALID_ENTRIES_READ:
                raise Error(b"ERR value for ENTRIESREAD must be positive or -1")
        else:
            raise subcommand_syntax_error("xgroup", sub)
    stream = lookup(ctx, key, read=False)
    group = None
    if not mkstream:
        if stream is None:
            raise Error(b"ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want "
                        b"to use the MKSTREAM option to create an empty stream automatically.")
        group = stream.group(group_name)
        if group is None and low in (b"setid", b"createconsumer", b"delconsumer"):
            raise Error(b"NOGROUP No such consumer group '%s' for key name '%s'" % (c_string(group_name), c_string(key)))
    elif stream is not None:
        group = stream.group(group_name)
    return stream, group, mkstream, entries_read


@command("xgroup|create", arity=-5, flags="write denyoom", acl="stream", group="stream",
         since="5.0.0", summary="Creates a consumer group.",
         args="key groupname (id{type=string}|${name=new_id}){name=id} [MKSTREAM] [ENTRIESREAD "
              "entries_read{type=integer}]",
         keys="RW insert @2")
def xgroup_create(ctx: Client, sub: bytes, key: bytes, group_name: bytes, id_arg: bytes, *options: bytes) -> object:
    stream, _group, mkstream, entries_read = xgroup_prepare(ctx, sub, key, group_name, options)
    if len(options) > 3:
        raise subcommand_syntax_error("xgroup", sub)
    if id_arg == b"$":
        sid = stream.last_id if stream is not None else 0
    else:
        sid = strict_id(id_arg)
    if stream is None:
        stream = StreamValue()
        ctx.db.add(key, stream)
    if stream.create_group(group_name, sid, entries_read) is None:
        raise Error(b"BUSYGROUP Consumer Group name already exists")
    ctx.db.keyspace.dirty += 1
    ctx.db.notify(NOTIFY_STREAM, b"xgroup-create", key)
    return OK


@command("xgroup|setid", arity=-5, flags="write", acl="stream", group="stream", since="5.0.0",
         summary="Sets the last-delivered ID of a consumer group.",
         args="key groupname (id{type=string}|${name=new_id}){name=id} [ENTRIESREAD "
              "entries_read{type=integer}]",
         keys="RW update @2")
def xgroup_setid(ctx: Client, sub: bytes, key: bytes, group_name: bytes, id_arg: bytes, *options: bytes) -> object:
    stream, group, _mk, entries_read = xgroup_prepare(ctx, sub, key, group_name, options)
    if len(options) not in (0, 2):
        raise subcommand_syntax_error("xgroup", sub)
    assert stream is not None and group is not None  # xgroup_prepare raised otherwise
    sid = stream.last_id if id_arg == b"$" else parse_id(id_arg)[0]
    group.last_id = sid
    group.entries_read = entries_read
    ctx.db.keyspace.dirty += 1
    ctx.db.notify(NOTIFY_STREAM, b"xgroup-setid", key)
    return OK


@command("xgroup|destroy", arity=4, flags="write", acl="stream", group="stream", since="5.0.0",
         summary="Destroys a consumer group.", args="key groupname",
         complexity="O(N) where N is the number of entries in the group's pending entries list (PEL).",
         keys="RW delete @2")
def xgroup_destroy(ctx: Client, sub: bytes, key: bytes, group_name: bytes) -> int:
    stream, group, _mk, _er = xgroup_prepare(ctx, sub, key, group_name, ())
    if group is None or stream is None or stream.groups is None:
        return 0
    del stream.groups[group_name]
    ctx.db.keyspace.dirty += 1
    ctx.db.notify(NOTIFY_STREAM, b"xgroup-destroy", key)
    ctx.db.signal_ready(key)  # blocked XREADGROUP clients of that group get NOGROUP
    return 1


@command("xgroup|createconsumer", arity=5, flags="write denyoom", acl="stream", group="stream",
         since="6.2.0", summary="Creates a consumer in a consumer group.", args="key groupname consumername",
         keys="RW insert @2")
def xgroup_createconsumer(ctx: Client, sub: bytes, key: bytes, group_name: bytes, name: bytes) -> int:
    _stream, group, _mk, _er = xgroup_prepare(ctx, sub, key, group_name, ())
    assert group is not None  # xgroup_prepare raised otherwise
    if name in group.consumers:
        return 0
    create_consumer(ctx, group, name, key, now_ms())
    return 1


@command("xgroup|delconsumer", arity=5, flags="write", acl="stream", group="stream",
         since="5.0.0", summary="Deletes a consumer from a consumer group.", args="key groupname consumername",
         keys="RW delete @2")
def xgroup_delconsumer(ctx: Client, sub: bytes, key: bytes, group_name: bytes, name: bytes) -> int:
    _stream, group, _mk, _er = xgroup_prepare(ctx, sub, key, group_name, ())
    assert group is not None  # xgroup_prepare raised otherwise
    consumer = group.consumers.get(name)
    if consumer is None:
        return 0
    pending = group.delete_consumer(consumer)
    ctx.db.keyspace.dirty += 1
    ctx.db.notify(NOTIFY_STREAM, b"xgroup-delconsumer", key)
    return pending


@command("xgroup|help", arity=2, flags="loading stale", acl="stream", group="stream", since="5.0.0",
         summary="Shows the XGROUP subcommands.", args="")
def xgroup_help(ctx: Client, sub: bytes) -> list:
    return XGROUP_HELP


# --------------------------------------------------------------------------- XSETID / XACK / XPENDING


@command("xsetid", arity=-3, flags="write denyoom fast", acl="stream", group="stream",
         since="5.0.0", summary="Sets a stream's last ID and its 7.0 counters.",
         args="key last-id [ENTRIESADDED entries_added{type=integer,since=7.0.0}] [MAXDELETEDID "
              "max_deleted_entry_id{since=7.0.0}]",
         keys="RW update @1")
def xsetid(ctx: Client, key: bytes, id_arg: bytes, *options: bytes) -> object:
    sid = strict_id(id_arg)
    entries_added = -1
    max_deleted = 0
    args = ArgCursor(options)
    while args:
        opt = args.next_keyword()
        if opt == b"ENTRIESADDED" and args.has(1):
            entries_added = args.next_int()
            if entries_added < 0:
                raise Error(b"ERR entries_added must be positive")
        elif opt == b"MAXDELETEDID" and args.has(1):
            max_deleted = strict_id(args.next_bytes())
            if sid < max_deleted:
                raise Error(b"ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id")
        else:
            raise SYNTAX_ERROR
    stream = lookup(ctx, key, read=False)
    if stream is None:
        raise NO_SUCH_KEY
    if stream.length:
        if sid < stream.last_valid_id():
            raise Error(b"ERR The ID specified in XSETID is smaller than the target stream top item")
        if entries_added != -1 and stream.length > entries_added:
            raise Error(b"ERR The entries_added specified in XSETID is smaller than the target stream length")
    stream.last_id = sid
    if entries_added != -1:
        stream.entries_added = entries_added
    if max_deleted:
        stream.max_deleted_id = max_deleted
    ctx.db.keyspace.dirty += 1
    ctx.db.notify(NOTIFY_STREAM, b"xsetid", key)
    return OK


@command("xack", arity=-4, flags="write fast", acl="stream", group="stream", since="5.0.0",
         summary="Acknowledges entries of a consumer group, removing them from its pending list.",
         args="key group id{type=string} ...", complexity="O(1) for each message ID processed.",
         keys="RW update @1")
def xack(ctx: Client, key: bytes, group_name: bytes, *ids: bytes) -> int:
    stream = lookup(ctx, key)
    group = stream.group(group_name) if stream is not None else None
    if group is None:
        return 0
    acked = group.ack(strict_ids(ids))
    if acked:
        ctx.db.keyspace.dirty += acked
    return acked


@command("xpending", arity=-3, flags="readonly", acl="stream", group="stream", since="5.0.0",
         summary="Shows the pending entries of a consumer group: a summary, or entries in a range.",
         args="key group [[IDLE min-idle-time{since=6.2.0}] start{type=string} end{type=string} count "
              "[consumer]]{name=filters}",
         complexity="O(N) with N the number of elements returned",
         keys="RO access @1", tips="nondeterministic_output")
def xpending(ctx: Client, key: bytes, group_name: bytes, *rest: bytes) -> object:
    n = len(rest) + 3
    if n != 3 and (n < 6 or n > 9):
        raise SYNTAX_ERROR
    minidle = 0
    consumer_name: bytes | None = None
    start = end = count = 0
    if n >= 6:
        at = 0
        if rest[0].lower() == b"idle":
            minidle = parse_int(rest[1])
            if n < 8:
                raise SYNTAX_ERROR
            at = 2
        count = max(parse_int(rest[at + 2]), 0)
        start = range_start(rest[at])
        end = range_end(rest[at + 1])
        if at + 3 < len(rest):
            consumer_name = rest[at + 3]
    value = ctx.db.lookup_read(key)
    if value is not None and value.__class__ is not StreamValue:
        raise WRONGTYPE
    group = value.group(group_name) if value is not None else None
    if group is None:
        raise Error(b"NOGROUP No such key '%s' or consumer group '%s'" % (c_string(key), c_string(group_name)))
    if n == 3:
        if not group.pel:
            return [0, None, None, NULL_ARRAY]
        index = group.pel_index
        owners = [[name, b"%d" % len(group.consumers[name].pel)] for name in sorted(group.consumers)
                  if group.consumers[name].pel]
        return [len(index), format_id(index.first()), format_id(index.last()), owners]
    if consumer_name is not None:
        consumer = group.consumers.get(consumer_name)
        if consumer is None:
            return []
        ids = consumer.pel
    else:
        ids = group.pel_index
    now = now_ms()
    out: list[list[object]] = []
    for sid in ids.irange(start, end):
        if not count:
            break
        nack = group.pel[sid]
        if minidle and now - nack.delivery_time < minidle:
            continue
        count -= 1
        elapsed = max(now - nack.delivery_time, 0)
        owner = nack.consumer.name if nack.consumer is not None else b""
        out.append([format_id(sid), owner, elapsed, nack.delivery_count])
    return out


# --------------------------------------------------------------------------- XCLAIM / XAUTOCLAIM


def move_nack(group: Group, sid: int, nack: Nack, consumer: Consumer) -> None:
    if nack.consumer is not consumer:
        if nack.consumer is not None:
            nack.consumer.pel.discard(sid)
        consumer.pel.add(sid)
        nack.consumer = consumer


@command("xclaim", arity=-6, flags="write fast", acl="stream", group="stream", since="5.0.0",
         summary="Transfers pending entries of a consumer group to another consumer.",
         args="key group consumer min-idle-time{type=string} id{type=string} ... [IDLE ms{type=integer}] "
              "[TIME unix-time-milliseconds] [RETRYCOUNT count] [FORCE] [JUSTID] [LASTID id{type=string}]",
         complexity="O(log N) with N being the number of messages in the PEL of the consumer group.",
         keys="RW update @1", tips="nondeterministic_output")
def xclaim(ctx: Client, key: bytes, group_name: bytes, name: bytes, minidle_arg: bytes, *rest: bytes) -> object:
    value = ctx.db.lookup_read(key)
    if value is not None and value.__class__ is not StreamValue:
        raise WRONGTYPE
    stream: StreamValue | None = value
    group = stream.group(group_name) if stream is not None else None
    if group is None or stream is None:
        raise Error(b"NOGROUP No such key '%s' or consumer group '%s'" % (c_string(key), c_string(group_name)))
    minidle = max(parse_int(minidle_arg, Error(b"ERR Invalid min-idle-time argument for XCLAIM")), 0)
    ids: list[tuple[int, bytes]] = []
    args = ArgCursor(rest)
    while args:  # the IDs, up to the first argument that is not one (the options)
        try:
            ids.append((strict_id(args.peek()), args.peek()))
        except Error:
            break
        args.skip()
    now = now_ms()
    force = justid = False
    retrycount = -1
    deliverytime = -1
    last_id = 0
    while args:
        word = args.peek()
        opt = args.next_keyword()
        if opt == b"FORCE":
            force = True
        elif opt == b"JUSTID":
            justid = True
        elif opt == b"IDLE" and args.has(1):
            deliverytime = now - args.next_int(Error(b"ERR Invalid IDLE option argument for XCLAIM"))
        elif opt == b"TIME" and args.has(1):
            deliverytime = args.next_int(Error(b"ERR Invalid TIME option argument for XCLAIM"))
        elif opt == b"RETRYCOUNT" and args.has(1):
            retrycount = args.next_int(Error(b"ERR Invalid RETRYCOUNT option argument for XCLAIM"))
        elif opt == b"LASTID" and args.has(1):
            last_id = strict_id(args.next_bytes())
        else:
            raise Error(b"ERR Unrecognized XCLAIM option '%s'" % word)
    effects: list[list[bytes]] = []
    keyspace = ctx.db.keyspace
    propagate_last_id = False
    if last_id > group.last_id:
        group.last_id = last_id
        propagate_last_id = True
    if deliverytime != -1:
        if deliverytime < 0 or deliverytime > now:
            deliverytime = now
    else:
        deliverytime = now
    consumer: Consumer | None = None
    out: list = []
    for sid, _text in ids:
        nack = group.pel.get(sid)
        if not stream.exists(sid):
            if nack is not None:
                effects.append(claim_effect(key, group_name, sid, nack, group.last_id))
                propagate_last_id = False
                keyspace.dirty += 1
                group.remove_nack(sid)
            continue
        if force and nack is None:
            nack = Nack(None, now)
            group.pel[sid] = nack
            group.pel_index.add(sid)
        if nack is None:
            continue
        if nack.consumer is not None and minidle and now - nack.delivery_time < minidle:
            continue
        if consumer is None:
            consumer = lookup_consumer(group, name, now)
            if consumer is None:
                consumer = create_consumer(ctx, group, name, key, now)
        nack.delivery_time = deliverytime
        if retrycount >= 0:
            nack.delivery_count = retrycount
        elif not justid:
            nack.delivery_count += 1
        move_nack(group, sid, nack, consumer)
        if justid:
            out.append(format_id(sid))
        else:
            out.append([format_id(sid), Raw(stream.get(sid) or b"*0\r\n")])
        effects.append(claim_effect(key, group_name, sid, nack, group.last_id))
        propagate_last_id = False
        keyspace.dirty += 1
    if propagate_last_id:
        effects.append(setid_effect(key, group_name, group))
        keyspace.dirty += 1
    set_effects(ctx, effects)
    return out


@command("xautoclaim", arity=-6, flags="write fast", acl="stream", group="stream",
         since="6.2.0", summary="Claims pending entries idle for long enough, scanning the pending list like SCAN.",
         args="key group consumer min-idle-time{type=string} start{type=string} [COUNT count] [JUSTID]",
         complexity="O(1) if COUNT is small.",
         keys="RW delete @1", tips="nondeterministic_output")
def xautoclaim(ctx: Client, key: bytes, group_name: bytes, name: bytes, minidle_arg: bytes, start_arg: bytes,
               *rest: bytes) -> object:
    minidle = max(parse_int(minidle_arg, Error(b"ERR Invalid min-idle-time argument for XAUTOCLAIM")), 0)
    start = range_start(start_arg)
    count = 100
    justid = False
    args = ArgCursor(rest)
    while args:
        opt = args.next_keyword()
        if opt == b"COUNT" and args.has(1):
            value = to_int(args.next_bytes())
            if value is None or not 1 <= value <= (2**63 - 1) // 16:
                raise COUNT_NOT_POSITIVE
            count = value
        elif opt == b"JUSTID":
            justid = True
        else:
            raise SYNTAX_ERROR
    found = ctx.db.lookup_read(key)
    if found is not None and found.__class__ is not StreamValue:
        raise WRONGTYPE
    stream: StreamValue | None = found
    group = stream.group(group_name) if stream is not None else None
    if group is None or stream is None:
        raise Error(b"NOGROUP No such key '%s' or consumer group '%s'" % (c_string(key), c_string(group_name)))
    attempts = count * 10
    now = now_ms()
    effects: list[list[bytes]] = []
    keyspace = ctx.db.keyspace
    consumer: Consumer | None = None
    out: list = []
    deleted: list[bytes] = []
    # The pending IDs the scan may visit, and the one after them (the next cursor): the scan
    # removes only IDs it visited, so the list stays true to the PEL.
    scan = list(islice(group.pel_index.irange(start), attempts + 1))
    pos = 0
    while attempts and count and pos < len(scan):
        attempts -= 1
        sid = scan[pos]
        pos += 1
        nack = group.pel[sid]
        if not stream.exists(sid):
            effects.append(claim_effect(key, group_name, sid, nack, group.last_id))
            keyspace.dirty += 1
            group.remove_nack(sid)
            deleted.append(format_id(sid))
            count -= 1
            continue
        if minidle and now - nack.delivery_time < minidle:
            continue
        if consumer is None:
            consumer = lookup_consumer(group, name, now)
            if consumer is None:
                consumer = create_consumer(ctx, group, name, key, now)
        nack.delivery_time = now
        if not justid:
            nack.delivery_count += 1
        move_nack(group, sid, nack, consumer)
        if justid:
            out.append(format_id(sid))
        else:
            out.append([format_id(sid), Raw(stream.get(sid) or b"*0\r\n")])
        count -= 1
        effects.append(claim_effect(key, group_name, sid, nack, group.last_id))
        keyspace.dirty += 1
    cursor = format_id(scan[pos]) if pos < len(scan) else b"0-0"
    set_effects(ctx, effects)
    return [cursor, out, deleted]


# --------------------------------------------------------------------------- XINFO


XINFO_HELP = [Status(line) for line in (
    b"XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    b"CONSUMERS <key> <groupname>",
    b"    Show consumers of <groupname>.",
    b"GROUPS <key>",
    b"    Show the stream consumer groups.",
    b"STREAM <key> [FULL [COUNT <count>]",
    b"    Show information about the stream.",
    b"HELP",
    b"    Prints this help.",
)]

container("xinfo", summary="A container for stream introspection commands.", group="stream", since="5.0.0")


def info_stream_lookup(ctx: Client, key: bytes) -> StreamValue:
    value = ctx.db.lookup_read(key)
    if value is None:
        raise NO_SUCH_KEY
    if value.__class__ is not StreamValue:
        raise WRONGTYPE
    return value


def entry_or_none(entry: Entry | None) -> object:
    return None if entry is None else [format_id(entry[0]), Raw(entry[1])]


@command("xinfo|stream", arity=-3, flags="readonly", acl="stream", group="stream",
         since="5.0.0", summary="Returns information about a stream.", args="key [([COUNT count]){type=block,name=full,token=FULL}]",
         keys="RO access @2")
def xinfo_stream(ctx: Client, sub: bytes, key: bytes, *options: bytes) -> object:
    stream = info_stream_lookup(ctx, key)
    full = bool(options)
    count = 10
    if options:
        if len(options) not in (1, 3) or options[0].lower() != b"full":
            raise subcommand_syntax_error("xinfo", sub)
        if len(options) == 3:
            if options[1].lower() != b"count":
                raise subcommand_syntax_error("xinfo", sub)
            count = parse_int(options[2])
            if count < 0:
                count = 10
    info: dict[bytes, object] = {
        b"length": stream.length,
        b"radix-tree-keys": len(stream.keys),
        b"radix-tree-nodes": stream.radix_tree_nodes(),
        b"last-generated-id": format_id(stream.last_id),
        b"max-deleted-entry-id": format_id(stream.max_deleted_id),
        b"entries-added": stream.entries_added,
        b"recorded-first-entry-id": format_id(stream.first_id),
    }
    if not full:
        info[b"groups"] = len(stream.groups) if stream.groups else 0
        info[b"first-entry"] = entry_or_none(stream.first_entry())
        info[b"last-entry"] = entry_or_none(stream.last_entry())
        return info
    info[b"entries"] = Raw(stream.range_reply(0, MAX_ID, count))
    groups = []
    all_groups = stream.groups or {}
    for name in sorted(all_groups):
        group = all_groups[name]
        pending: list[list[object]] = []
        for sid in group.pel_index:
            if count and len(pending) >= count:
                break
            nack = group.pel[sid]
            owner = nack.consumer.name if nack.consumer is not None else b""
            pending.append([format_id(sid), owner, nack.delivery_time, nack.delivery_count])
        consumers = []
        for cname in sorted(group.consumers):
            consumer = group.consumers[cname]
            cpending: list[list[object]] = []
            for sid in consumer.pel:
                if count and len(cpending) >= count:
                    break
                nack = group.pel[sid]
                cpending.append([format_id(sid), nack.delivery_time, nack.delivery_count])
            consumers.append({b"name": cname, b"seen-time": consumer.seen_time, b"pel-count": len(consumer.pel),
                              b"pending": cpending})
        groups.append({
            b"name": name,
            b"last-delivered-id": format_id(group.last_id),
            b"entries-read": None if group.entries_read == INVALID_ENTRIES_READ else group.entries_read,
            b"lag": stream.lag(group),
            b"pel-count": len(group.pel),
            b"pending": pending,
            b"consumers": consumers,
        })
    info[b"groups"] = groups
    return info


@command("xinfo|groups", arity=3, flags="readonly", acl="stream", group="stream", since="5.0.0",
         summary="Lists the consumer groups of a stream.", args="key",
         keys="RO access @2")
def xinfo_groups(ctx: Client, sub: bytes, key: bytes) -> object:
    stream = info_stream_lookup(ctx, key)
    out = []
    all_groups = stream.groups or {}
    for name in sorted(all_groups):
        group = all_groups[name]
        out.append({
            b"name": name,
            b"consumers": len(group.consumers),
            b"pending": len(group.pel),
            b"last-delivered-id": format_id(group.last_id),
            b"entries-read": None if group.entries_read == INVALID_ENTRIES_READ else group.entries_read,
            b"lag": stream.lag(group),
        })
    return out


@command("xinfo|consumers", arity=4, flags="readonly", acl="stream", group="stream",
         since="5.0.0", summary="Lists the consumers of a consumer group.", args="key groupname",
         keys="RO access @2", tips="nondeterministic_output")
def xinfo_consumers(ctx: Client, sub: bytes, key: bytes, group_name: bytes) -> object:
    stream = info_stream_lookup(ctx, key)
    group = stream.group(group_name)
    if group is None:
        raise Error(b"NOGROUP No such consumer group '%s' for key name '%s'" % (c_string(group_name), c_string(key)))
    now = now_ms()
    out = []
    for name in sorted(group.consumers):
        consumer = group.consumers[name]
        out.append({b"name": name, b"pending": len(consumer.pel), b"idle": max(now - consumer.seen_time, 0)})
    return out


@command("xinfo|help", arity=2, flags="loading stale", acl="stream", group="stream", since="5.0.0",
         summary="Shows the XINFO subcommands.", args="")
def xinfo_help(ctx: Client, sub: bytes) -> list:
    return XINFO_HELP
