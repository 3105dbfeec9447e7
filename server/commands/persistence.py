"""Persistence commands: SAVE, BGSAVE, BGREWRITEAOF, SHUTDOWN, DUMP, RESTORE, DEBUG RELOAD.

The work itself is done by ``server.persistence.manager.Persistence`` (one per
server, ``server.persistence``, built with the server); the commands check
arguments and map outcomes to Redis's replies. LASTSAVE stays in ``admin`` and
reads ``server.last_save``, which every successful save updates. While saving
fails, ``Persistence.write_block`` holds Redis's MISCONF error, which dispatch
gives to write commands and PING.
"""

from __future__ import annotations

from server.client import Client
from server.command import command
from server.commands.args import SYNTAX_ERROR, ArgCursor, parse_int
from server.keyspace import ACCESS_LRU, LRU_CLOCK_MAX, NOTIFY_GENERIC, lfu_minutes, now_ms
from server.persistence import rdb
from server.persistence.manager import CHILD_AOF, CHILD_RDB, LoadError, Persistence
from server.protocol import NO_REPLY, OK, Error, Status

GENERIC_ERR = Error(b"ERR")
BUSYKEY = Error(b"BUSYKEY Target key name already exists.")


def _persistence(ctx: Client) -> Persistence:
    return ctx.server.persistence


# --------------------------------------------------------------------------- snapshots


@command("save", arity=1, flags="admin noscript no_async_loading no_multi", group="server",
         summary="Writes the dataset to the RDB file now, blocking until done.")
def save(ctx: Client) -> object:
    p = _persistence(ctx)
    if p.child_type == CHILD_RDB:
        raise Error(b"ERR Background save already in progress")
    return OK if p.save() else GENERIC_ERR


@command("bgsave", arity=-1, flags="admin noscript no_async_loading", group="server",
         summary="Writes the dataset to the RDB file from a forked child process.", args="[SCHEDULE{since=3.2.2}]")
def bgsave(ctx: Client, *options: bytes) -> object:
    schedule = False
    if options:
        if len(options) == 1 and options[0].lower() == b"schedule":
            schedule = True
        else:
            raise SYNTAX_ERROR
    p = _persistence(ctx)
    if p.child_type == CHILD_RDB:
        raise Error(b"ERR Background save already in progress")
    if p.child_running() or ctx.executing_multi:
        if schedule or ctx.executing_multi:
            p.bgsave_scheduled = True
            return Status(b"Background saving scheduled")
        raise Error(b"ERR Another child process is active (AOF?): can't BGSAVE right now. "
                    b"Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.")
    if p.bgsave():
        return Status(b"Background saving started")
    return GENERIC_ERR


@command("bgrewriteaof", arity=1, flags="admin noscript no_async_loading", group="server", since="1.0.0",
         summary="Compacts the append-only file from a forked child process.")
def bgrewriteaof(ctx: Client) -> object:
    p = _persistence(ctx)
    if p.child_type == CHILD_AOF:
        raise Error(b"ERR Background append only file rewriting already in progress")
    if p.child_running() or ctx.executing_multi:
        p.aof_rewrite_scheduled = True
        return Status(b"Background append only file rewriting scheduled")
    if p.rewrite_background():
        return Status(b"Background append only file rewriting started")
    raise Error(b"ERR Can't execute an AOF background rewriting. Please check the server logs for more information.")


@command("shutdown", arity=-1, flags="admin noscript loading stale no_multi allow_busy", group="server",
         summary="Saves if asked or configured, then stops the server.",
         args="[NOSAVE|SAVE]{name=nosave_save} [NOW{since=7.0.0}] [FORCE{since=7.0.0}] [ABORT{since=7.0.0}]")
def shutdown(ctx: Client, *options: bytes) -> object:
    nosave = save_flag = now = force = abort = False
    for opt in options:
        low = opt.lower()
        if low == b"nosave":
            nosave = True
        elif low == b"save":
            save_flag = True
        elif low == b"now":
            now = True
        elif low == b"force":
            force = True
        elif low == b"abort":
            abort = True
        else:
            raise SYNTAX_ERROR
    if (abort and (nosave or save_flag or now or force)) or (nosave and save_flag):
        raise SYNTAX_ERROR
    replication = ctx.server.replication
    if abort:
        if not replication.shutting_down:
            raise Error(b"ERR No shutdown in progress.")
        replication.cancel_shutdown()
        ctx.server.log("notice", "Shutdown manually aborted.")
        return OK
    if replication.shutting_down:  # (as Redis: any SHUTDOWN, NOW too, joins the one waiting)
        return replication.wait_for_shutdown(ctx)
    p = _persistence(ctx)
    want_save = True if save_flag else False if nosave else None
    if p.loading:  # as Redis: a half-loaded data set is never saved
        want_save = False
    ctx.server.log("warning", "User requested shutdown...")
    if not replication.begin_shutdown(want_save, force, now):
        return replication.wait_for_shutdown(ctx)  # lagging replicas get shutdown-timeout to catch up
    if not replication.finish_shutdown():
        raise Error(b"ERR Errors trying to SHUTDOWN. Check logs.")
    ctx.close_after_reply = True
    return NO_REPLY  # Redis closes the connection without a reply


# --------------------------------------------------------------------------- DUMP / RESTORE


@command("dump", arity=2, flags="readonly", acl="keyspace", group="generic", since="2.6.0",
         summary="Serialises the value at a key in RDB format, for RESTORE.", args="key",
         keys="RO access @1", tips="nondeterministic_output")
def dump(ctx: Client, key: bytes) -> object:
    value = ctx.db.lookup_read(key)
    if value is None:
        return None
    return rdb.dump_payload(value)


@command("restore", arity=-4, flags="write denyoom", acl="keyspace dangerous", group="generic",
         since="2.6.0", summary="Creates a key from a DUMP payload, with an optional time to live.",
         args="key ttl serialized-value [REPLACE{since=3.0.0}] [ABSTTL{since=5.0.0}] [IDLETIME "
              "seconds{since=5.0.0}] [FREQ frequency{since=5.0.0}]",
         keys="OW update @1")
def restore(ctx: Client, key: bytes, ttl_arg: bytes, payload: bytes, *options: bytes) -> object:
    replace = absttl = False
    idle = freq = -1
    args = ArgCursor(options)
    while args:
        opt = args.next_keyword()
        if opt == b"REPLACE":
            replace = True
        elif opt == b"ABSTTL":
            absttl = True
        elif opt == b"IDLETIME" and args.has(1) and freq == -1:
            idle = args.next_int()
            if idle < 0:
                raise Error(b"ERR Invalid IDLETIME value, must be >= 0")
        elif opt == b"FREQ" and args.has(1) and idle == -1:
            freq = args.next_int()
            if not 0 <= freq <= 255:
                raise Error(b"ERR Invalid FREQ value, must be >= 0 and <= 255")
        else:
            raise SYNTAX_ERROR
    db = ctx.db
    if not replace and db.lookup(key) is not None:
        raise BUSYKEY
    ttl = parse_int(ttl_arg)
    if ttl < 0:
        raise Error(b"ERR Invalid TTL value, must be >= 0")
    if not rdb.verify_payload(payload):
        raise Error(b"ERR DUMP payload version or checksum are wrong")
    try:
        value = rdb.load_payload(payload, rdb.value_factories(ctx.server.config))
    except rdb.RDBError:
        raise Error(b"ERR Bad data format") from None
    deleted = db.delete(key) if replace else False
    if ttl and not absttl:
        # A C long long in Redis: a relative TTL near LONG_MAX wraps to a past deadline.
        ttl = (ttl + now_ms() + 2**63) % 2**64 - 2**63
    if ttl and ttl <= now_ms():  # already expired: the key is (only) deleted
        if deleted:
            db.notify(NOTIFY_GENERIC, b"del", key)
        return OK
    db.add(key, value)
    if ttl:
        db.set_expire(key, ttl)
    db.signal_ready(key)  # a restored list or sorted set serves clients blocked on it
    _set_access(ctx, key, idle, freq)
    db.notify(NOTIFY_GENERIC, b"restore", key)
    return OK


def _set_access(ctx: Client, key: bytes, idle: int, freq: int) -> None:
    """RESTORE's IDLETIME/FREQ: the key's LRU time or LFU counter, as Redis's objectSetLRUOrLFU."""
    ks = ctx.server.keyspace
    lfu = "lfu" in str(ctx.server.config["maxmemory-policy"])
    if lfu and freq >= 0:
        ctx.db.access[key] = (lfu_minutes() << 8) | freq
    elif not lfu and idle >= 0:
        if ks.access_mode != ACCESS_LRU:
            ks.track_access(ACCESS_LRU)
        # The cached clock, as OBJECT IDLETIME reads it (Redis's LRU_CLOCK() at hz >= 1).
        ctx.db.access[key] = (ks.lru_now - idle) % LRU_CLOCK_MAX


# --------------------------------------------------------------------------- DEBUG RELOAD / LOADAOF


def debug_reload(ctx: Client, *options: bytes) -> object:
    flush = save_first = True
    for opt in options:
        low = opt.lower()
        if low == b"merge":
            pass
        elif low == b"noflush":
            flush = False
        elif low == b"nosave":
            save_first = False
        else:
            raise Error(b"ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.")
    p = _persistence(ctx)
    if save_first and not p.save():
        return GENERIC_ERR
    try:
        p.load_rdb(p.rdb_path, flush=flush)
    except LoadError as exc:
        ctx.server.log("warning", str(exc))
        raise Error(b"ERR Error trying to load the RDB dump, check server logs.") from None
    ctx.server.log("warning", "DB reloaded by DEBUG RELOAD")
    return OK


def debug_loadaof(ctx: Client, *options: bytes) -> object:
    p = _persistence(ctx)
    if p.aof_enabled and p.writer is not None:
        p.writer.sync()
        p.loading = True
        ctx.server.standing_changed()
        try:
            p.load_aof()
        except LoadError as exc:
            ctx.server.log("warning", str(exc))
            raise Error(b"ERR Error loading the AOF, check server logs.") from None
        finally:
            p.loading = False
            ctx.server.standing_changed()
        ctx.server.log("warning", "Append Only File loaded by DEBUG LOADAOF")
    return OK

