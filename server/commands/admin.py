"""Server administration: INFO, CONFIG, DBSIZE, FLUSHDB/FLUSHALL, SWAPDB, TIME,
SLOWLOG, LATENCY, MEMORY and DEBUG.

INFO's field names are Redis's, because monitoring tools and explorers parse
them; values that have no meaning here (allocator internals, replication
offsets) are reported as Redis reports them on an idle standalone master.
"""

from __future__ import annotations

import os
import platform
import resource
import sys
import time
from collections.abc import Callable

from server import REDIS_VERSION, __version__
from server.client import Client
from server.command import TABLE, command, container
from server.commands.args import DB_OUT_OF_RANGE, NO_SUCH_KEY, SYNTAX_ERROR, ArgCursor, parse_c_int, to_int
from server.commands.connection import help_lines, subcommand_syntax_error
from server.commands.persistence import debug_loadaof, debug_reload
from server.config import ConfigError
from server.keyspace import now_ms
from server.memory import rss_bytes, value_memory
from server.protocol import OK, Error, Status, Verbatim

# --------------------------------------------------------------------------- INFO


def _human(n: float) -> str:
    for unit in ("B", "K", "M", "G", "T"):
        if n < 1024 or unit == "T":
            return f"{n:.2f}{unit}" if unit != "B" else f"{int(n)}B"
        n /= 1024
    return str(n)


def _section_server(ctx: Client) -> list[tuple[str, object]]:
    server = ctx.server
    uname = platform.uname()
    return [
        ("redis_version", REDIS_VERSION),
        ("redis_git_sha1", "00000000"),
        ("redis_git_dirty", 0),
        ("redis_build_id", "0"),
        ("redis_mode", "cluster" if ctx.server.cluster is not None else "standalone"),
        ("os", f"{uname.system} {uname.release} {uname.machine}"),
        ("arch_bits", 64 if sys.maxsize > 2**32 else 32),
        ("monotonic_clock", "POSIX clock_gettime"),
        ("multiplexing_api", "epoll" if sys.platform.startswith("linux") else "kqueue"),
        ("atomicvar_api", "c11-builtin"),
        ("gcc_version", "0.0.0"),
        ("process_id", os.getpid()),
        ("process_supervised", "no"),
        ("run_id", server.run_id),
        ("tcp_port", server.tcp_port),
        ("server_time_usec", int(time.time() * 1_000_000)),
        ("uptime_in_seconds", server.uptime()),
        ("uptime_in_days", server.uptime() // 86400),
        ("hz", server.config["hz"]),
        ("configured_hz", server.config["hz"]),
        ("lru_clock", int(time.time()) & ((1 << 24) - 1)),
        ("executable", sys.executable),
        ("config_file", server.config.config_file or ""),
        ("io_threads_active", 0),
        *server.replication.shutdown_info(),
        ("server_name", "redistui"),
        ("redistui_version", __version__),
        ("python_version", platform.python_version()),
    ]


def _section_clients(ctx: Client) -> list[tuple[str, object]]:
    server = ctx.server
    return [
        ("connected_clients", len(server.clients)),
        ("cluster_connections", server.cluster.connections() if server.cluster is not None else 0),
        ("maxclients", server.config["maxclients"]),
        ("client_recent_max_input_buffer", 0),
        ("client_recent_max_output_buffer", 0),
        ("blocked_clients", server.blocking.count),
        ("tracking_clients", server.tracking.clients),
        ("clients_in_timeout_table", sum(1 for c in server.clients.values() if c.blocked and c.blocked.timeout)),
    ]


def _section_memory(ctx: Client) -> list[tuple[str, object]]:
    server = ctx.server
    used = server.eviction.used_memory()
    rss = rss_bytes()
    peak = server.eviction.note_peak(used)
    startup = min(server.eviction.baseline, used)
    maxmemory = server.config.get_int("maxmemory")
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 0
    scripting = server.scripting
    lua = scripts_eval = cached = functions = libraries = lua_functions = functions_memory = 0
    if scripting is not None:
        lua = scripting.memory()
        scripts_eval = scripting.scripts_memory
        cached = len(scripting.scripts)
        functions, libraries, lua_functions, functions_memory = scripting.function_stats()
    # Redis's fields in Redis's order; allocator, scripting and replication-buffer
    # figures have no counterpart here and read as on an idle server without them.
    return [
        ("used_memory", used),
        ("used_memory_human", _human(used)),
        ("used_memory_rss", rss),
        ("used_memory_rss_human", _human(rss)),
        ("used_memory_peak", peak),
        ("used_memory_peak_human", _human(peak)),
        ("used_memory_peak_perc", "%.2f%%" % (100.0 * used / peak if peak else 100)),
        ("used_memory_overhead", startup),
        ("used_memory_startup", startup),
        ("used_memory_dataset", used - startup),
        ("used_memory_dataset_perc", "%.2f%%" % (100.0 * (used - startup) / used if used else 0)),
        ("allocator_allocated", used),
        ("allocator_active", used),
        ("allocator_resident", rss),
        ("total_system_memory", total),
        ("total_system_memory_human", _human(total)),
        ("used_memory_lua", lua),
        ("used_memory_vm_eval", lua),
        ("used_memory_lua_human", _human(lua)),
        ("used_memory_scripts_eval", scripts_eval),
        ("number_of_cached_scripts", cached),
        ("number_of_functions", functions),
        ("number_of_libraries", libraries),
        ("used_memory_vm_functions", lua_functions),
        ("used_memory_vm_total", lua + lua_functions),
        ("used_memory_vm_total_human", _human(lua + lua_functions)),
        ("used_memory_functions", functions_memory),
        ("used_memory_scripts", scripts_eval + functions_memory),
        ("used_memory_scripts_human", _human(scripts_eval + functions_memory)),
        ("maxmemory", maxmemory),
        ("maxmemory_human", _human(maxmemory)),
        ("maxmemory_policy", server.config["maxmemory-policy"]),
        ("allocator_frag_ratio", "1.00"),
        ("allocator_frag_bytes", 0),
        ("allocator_rss_ratio", "%.2f" % (rss / used if used else 1.0)),
        ("allocator_rss_bytes", max(rss - used, 0)),
        ("rss_overhead_ratio", "1.00"),
        ("rss_overhead_bytes", 0),
        ("mem_fragmentation_ratio", "%.2f" % (rss / used if used else 1.0)),
        ("mem_fragmentation_bytes", max(rss - used, 0)),
        ("mem_not_counted_for_evict", 0),
        ("mem_replication_backlog", 0),
        ("mem_total_replication_buffers", 0),
        ("mem_clients_slaves", 0),
        ("mem_clients_normal", 0),
        ("mem_cluster_links", server.cluster.links_memory if server.cluster is not None else 0),
        ("mem_aof_buffer", 0),
        ("mem_allocator", "pymalloc"),
        ("active_defrag_running", 0),
        ("lazyfree_pending_objects", 0),
        ("lazyfreed_objects", 0),
        ("memory_accounting", "rss"),
    ]


def _section_persistence(ctx: Client) -> list[tuple[str, object]]:
    server = ctx.server
    base: list[tuple[str, object]] = [
        ("loading", 0),
        ("async_loading", 0),
        ("rdb_changes_since_last_save", server.keyspace.dirty),
        ("rdb_bgsave_in_progress", 0),
        ("rdb_last_save_time", server.last_save),
        ("rdb_last_bgsave_status", "ok"),
        ("aof_enabled", 0),
        ("aof_rewrite_in_progress", 0),
    ]
    return _merge(base, server.persistence.info_fields())


def _section_stats(ctx: Client) -> list[tuple[str, object]]:
    server = ctx.server
    stats = server.stats
    ks = server.keyspace
    pubsub = server.pubsub
    return [
        ("total_connections_received", stats.connections),
        ("total_commands_processed", stats.commands),
        ("instantaneous_ops_per_sec", int(stats.rate("ops"))),
        ("total_net_input_bytes", stats.net_input),
        ("total_net_output_bytes", stats.net_output),
        ("total_net_repl_input_bytes", 0),
        ("total_net_repl_output_bytes", 0),
        ("instantaneous_input_kbps", "%.2f" % (stats.rate("in") / 1024)),
        ("instantaneous_output_kbps", "%.2f" % (stats.rate("out") / 1024)),
        ("instantaneous_input_repl_kbps", "0.00"),
        ("instantaneous_output_repl_kbps", "0.00"),
        ("rejected_connections", stats.rejected_connections),
        ("sync_full", ctx.server.replication.sync_full),
        ("sync_partial_ok", ctx.server.replication.sync_partial_ok),
        ("sync_partial_err", ctx.server.replication.sync_partial_err),
        ("expired_keys", ks.expired_keys),
        ("expired_stale_perc", "0.00"),
        ("expired_time_cap_reached_count", 0),
        ("expire_cycle_cpu_milliseconds", 0),
        ("evicted_keys", ks.evicted_keys),
        ("evicted_clients", 0),
        ("total_eviction_exceeded_time", 0),
        ("current_eviction_exceeded_time", 0),
        ("keyspace_hits", ks.hits),
        ("keyspace_misses", ks.misses),
        ("pubsub_channels", pubsub.channel_count()),
        ("pubsub_patterns", pubsub.pattern_count()),
        ("pubsubshard_channels", pubsub.shard_channel_count()),
        ("latest_fork_usec", server.persistence.latest_fork_usec),
        ("total_forks", server.persistence.total_forks),
        ("migrate_cached_sockets", 0),
        ("slave_expires_tracked_keys", 0),
        ("active_defrag_hits", 0),
        ("active_defrag_misses", 0),
        ("active_defrag_key_hits", 0),
        ("active_defrag_key_misses", 0),
        ("total_active_defrag_time", 0),
        ("current_active_defrag_time", 0),
        ("tracking_total_keys", len(server.tracking.table)),
        ("tracking_total_items", server.tracking.total_items),
        ("tracking_total_prefixes", len(server.tracking.prefixes)),
        ("unexpected_error_replies", 0),
        ("total_error_replies", stats.error_replies),
        ("dump_payload_sanitizations", 0),
        ("total_reads_processed", stats.commands),
        ("total_writes_processed", stats.commands),
        ("io_threaded_reads_processed", 0),
        ("io_threaded_writes_processed", 0),
        ("reply_buffer_shrinks", 0),
        ("reply_buffer_expands", 0),
    ]


def _section_replication(ctx: Client) -> list[tuple[str, object]]:
    return ctx.server.replication.info_fields()


def _section_cpu(ctx: Client) -> list[tuple[str, object]]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return [
        ("used_cpu_sys", "%.6f" % own.ru_stime),
        ("used_cpu_user", "%.6f" % own.ru_utime),
        ("used_cpu_sys_children", "%.6f" % children.ru_stime),
        ("used_cpu_user_children", "%.6f" % children.ru_utime),
        ("used_cpu_sys_main_thread", "%.6f" % own.ru_stime),
        ("used_cpu_user_main_thread", "%.6f" % own.ru_utime),
    ]


def _section_modules(ctx: Client) -> list[tuple[str, object]]:
    return []


def _section_errorstats(ctx: Client) -> list[tuple[str, object]]:
    return [(f"errorstat_{code}", f"count={count}") for code, count in sorted(ctx.server.stats.errors.items())]


def _section_commandstats(ctx: Client) -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = []
    for cmd in _all_commands():
        if cmd.calls or cmd.rejected_calls or cmd.failed_calls:
            per = cmd.usec / cmd.calls if cmd.calls else 0
            out.append((
                f"cmdstat_{cmd.name}",
                f"calls={cmd.calls},usec={cmd.usec},usec_per_call={per:.2f},"
                f"rejected_calls={cmd.rejected_calls},failed_calls={cmd.failed_calls}",
            ))
    return out


def _section_latencystats(ctx: Client) -> list[tuple[str, object]]:
    """``latency_percentiles_usec_<cmd>`` for each command that ran (``latency-tracking yes``).

    Only total time is recorded per command, so every percentile reads the mean.
    """
    config = ctx.server.config
    if not config["latency-tracking"]:
        return []
    percentiles = config.get_list("latency-tracking-info-percentiles")
    out: list[tuple[str, object]] = []
    for cmd in _all_commands():
        if cmd.calls:
            mean = cmd.usec / cmd.calls
            out.append((
                f"latency_percentiles_usec_{cmd.name}",
                ",".join(f"p{p:g}={mean:.3f}" for p in percentiles),
            ))
    return out


def _section_keyspace(ctx: Client) -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = []
    for db in ctx.server.keyspace.dbs:
        if db.data:
            out.append((f"db{db.id}", f"keys={len(db.data)},expires={len(db.expires)},avg_ttl={db.avg_ttl}"))
    return out


def _all_commands():
    for cmd in TABLE.values():
        if cmd.subcommands:
            yield from cmd.subcommands.values()
        else:
            yield cmd


SECTIONS: dict[str, Callable[[Client], list[tuple[str, object]]]] = {
    "server": _section_server,
    "clients": _section_clients,
    "memory": _section_memory,
    "persistence": _section_persistence,
    "stats": _section_stats,
    "replication": _section_replication,
    "cpu": _section_cpu,
    "modules": _section_modules,
    "commandstats": _section_commandstats,
    "errorstats": _section_errorstats,
    "latencystats": _section_latencystats,
    "cluster": lambda ctx: [("cluster_enabled", 1 if ctx.server.cluster is not None else 0)],
    "keyspace": _section_keyspace,
}
DEFAULT_SECTIONS = ["server", "clients", "memory", "persistence", "stats", "replication", "cpu",
                    "modules", "errorstats", "cluster", "keyspace"]


def render_info(ctx: Client, names: list[str]) -> bytes:
    wanted: list[str] = []
    if not names or names == ["default"]:
        wanted = DEFAULT_SECTIONS
    else:
        for name in names:
            if name in ("all", "everything"):
                wanted.extend(s for s in list(SECTIONS) if s not in wanted)
            elif name == "default":
                wanted.extend(s for s in DEFAULT_SECTIONS if s not in wanted)
            elif name in SECTIONS and name not in wanted:
                wanted.append(name)
    parts = []
    for name in wanted:
        fields = SECTIONS[name](ctx)
        title = name.capitalize() if name != "cpu" else "CPU"
        if name in ("errorstats", "latencystats", "commandstats"):
            title = name.capitalize()
        lines = [f"# {title}"] + [f"{k}:{v}" for k, v in fields]
        parts.append("\r\n".join(lines) + "\r\n")
    return "\r\n".join(parts).encode()


def _merge(base: list[tuple[str, object]], more: list[tuple[str, object]]) -> list[tuple[str, object]]:
    """Fields from a plugged-in part replace same-named defaults and add the rest."""
    override = dict(more)
    out = [(k, override.pop(k, v)) for k, v in base]
    out.extend(override.items())
    return out


@command("info", arity=-1, flags="loading stale", acl="dangerous", group="server",
         summary="Reports the server's state and statistics, by section.", args="[section ...]",
         tips="nondeterministic_output request_policy:all_shards response_policy:special")
def info(ctx: Client, *sections: bytes) -> object:
    names = [s.decode("utf-8", "replace").lower() for s in sections]
    return Verbatim(render_info(ctx, names))


# --------------------------------------------------------------------------- CONFIG

container("config", summary="Reads and changes the server's settings.")


@command("config|get", arity=-3, flags="admin noscript loading stale", acl="", group="server",
         summary="Returns the settings whose names match glob patterns.", args="(parameter){type=block} ...", since="2.0.0")
def config_get(ctx: Client, _sub: bytes, *patterns: bytes) -> object:
    result: dict[bytes, bytes] = {}
    seen: set[bytes] = set()  # names match case-insensitively: MAXMEMORY after maxmemory adds nothing
    for pattern in patterns:
        for name, value in ctx.server.config.matching(pattern).items():
            key = name.encode()
            if key.lower() not in seen:
                seen.add(key.lower())
                result[key] = value.encode()
    return result


@command("config|set", arity=-4, flags="admin noscript loading stale", acl="", group="server",
         summary="Changes settings at run time; all or none are applied.",
         args="(parameter value){name=parameter_value} ...",
         tips="request_policy:all_nodes response_policy:all_succeeded", since="2.0.0")
def config_set(ctx: Client, _sub: bytes, *pairs: bytes) -> object:
    if len(pairs) % 2:
        raise SYNTAX_ERROR
    items = [
        (pairs[i].decode("utf-8", "surrogateescape"), [pairs[i + 1].decode("utf-8", "surrogateescape")])
        for i in range(0, len(pairs), 2)
    ]
    try:
        ctx.server.config.set_many(items)
    except ConfigError as exc:
        raise Error(f"ERR {exc}".encode("utf-8", "surrogateescape")) from None
    return OK


@command("config|resetstat", arity=2, flags="admin noscript loading stale", acl="", group="server",
         summary="Zeroes the statistics INFO reports.", since="2.0.0")
def config_resetstat(ctx: Client, _sub: bytes) -> object:
    server = ctx.server
    server.stats.reset()
    ks = server.keyspace
    ks.hits = ks.misses = ks.expired_keys = ks.evicted_keys = 0
    for cmd in _all_commands():
        cmd.calls = cmd.usec = cmd.rejected_calls = cmd.failed_calls = 0
    return OK


@command("config|rewrite", arity=2, flags="admin noscript loading stale", acl="", group="server",
         summary="Writes the current settings back to the config file.", since="2.8.0")
def config_rewrite(ctx: Client, _sub: bytes) -> object:
    cfg = ctx.server.config
    if not cfg.config_file:
        raise Error(b"ERR The server is running without a config file")
    from server.config import PARAMS

    lines = []
    for name in PARAMS:
        value = cfg.format(name)
        if value != cfg.format_default(name):
            lines.append(f"{name} {value!s}" if value else f'{name} ""')
    try:
        with open(cfg.config_file, "w", encoding="utf-8") as fh:
            fh.write("# Rewritten by CONFIG REWRITE\n" + "\n".join(lines) + "\n")
    except OSError as exc:
        raise Error(f"ERR Rewriting config file: {exc.strerror}".encode()) from None
    return OK


@command("config|help", arity=2, flags="loading stale", group="server", summary="Lists CONFIG's subcommands.", since="5.0.0")
def config_help(ctx: Client, _sub: bytes) -> object:
    return help_lines(ctx, "config")


# --------------------------------------------------------------------------- databases


@command("dbsize", arity=1, flags="readonly fast", acl="keyspace", group="server",
         summary="Returns the number of keys in the selected database.",
         tips="request_policy:all_shards response_policy:agg_sum")
def dbsize(ctx: Client) -> int:
    return len(ctx.db.data)


def _flush_mode(args: tuple[bytes, ...]) -> None:
    if len(args) > 1 or (args and args[0].upper() not in (b"ASYNC", b"SYNC")):
        raise SYNTAX_ERROR


@command("flushdb", arity=-1, flags="write", acl="keyspace dangerous", group="server",
         summary="Removes every key of the selected database.", args="[ASYNC{since=4.0.0}|SYNC{since=6.2.0}]{name=async}",
         tips="request_policy:all_shards response_policy:all_succeeded")
def flushdb(ctx: Client, *mode: bytes) -> object:
    _flush_mode(mode)
    ctx.db.clear()
    ctx.server.keyspace.dirty += 1
    ctx.server.tracking.flushed()  # every tracking client drops its whole cache
    return OK


@command("flushall", arity=-1, flags="write", acl="keyspace dangerous", group="server",
         summary="Removes every key of every database.", args="[ASYNC{since=4.0.0}|SYNC{since=6.2.0}]{name=async}",
         tips="request_policy:all_shards response_policy:all_succeeded")
def flushall(ctx: Client, *mode: bytes) -> object:
    _flush_mode(mode)
    for db in ctx.server.keyspace.dbs:
        db.clear()
    ctx.server.keyspace.dirty += 1
    ctx.server.persistence.after_flushall()  # a snapshot of the empty dataset, as Redis writes
    ctx.server.tracking.flushed()
    return OK


@command("swapdb", arity=3, flags="write fast", acl="keyspace dangerous", group="server", since="4.0.0",
         summary="Exchanges the contents of two databases.", args="index1{type=integer} index2{type=integer}")
def swapdb(ctx: Client, first: bytes, second: bytes) -> object:
    if ctx.server.cluster is not None:  # cluster mode has database 0 only
        raise Error(b"ERR SWAPDB is not allowed in cluster mode")
    a = parse_c_int(first, Error(b"ERR invalid first DB index"))
    b = parse_c_int(second, Error(b"ERR invalid second DB index"))
    count = len(ctx.server.keyspace.dbs)
    if not (0 <= a < count and 0 <= b < count):
        raise DB_OUT_OF_RANGE
    ctx.server.keyspace.swap(a, b)  # clients blocked on keys it brought are served after the command
    return OK


@command("time", arity=1, flags="loading stale fast", group="server", since="2.6.0",
         summary="Returns the server's clock: seconds and microseconds.",
         tips="nondeterministic_output")
def time_(ctx: Client) -> list[bytes]:
    now = time.time()
    secs = int(now)
    return [b"%d" % secs, b"%d" % int((now - secs) * 1_000_000)]


@command("lastsave", arity=1, flags="loading stale fast", acl="admin dangerous", group="server",
         summary="Returns the Unix time of the last successful save to disk.",
         tips="nondeterministic_output")
def lastsave(ctx: Client) -> int:
    return ctx.server.last_save


# --------------------------------------------------------------------------- SLOWLOG

container("slowlog", summary="Reads and resets the log of slow commands.", since="2.2.12")


@command("slowlog|get", arity=-2, flags="admin loading stale", group="server", since="2.2.12",
         summary="Returns the newest slow-log entries.", args="[count]",
         tips="request_policy:all_nodes nondeterministic_output")
def slowlog_get(ctx: Client, sub: bytes, *count: bytes) -> object:
    if len(count) > 1:
        raise subcommand_syntax_error("slowlog", sub)
    entries = list(ctx.server.slowlog.entries)
    limit = 10
    if count:
        value = to_int(count[0])
        if value is None or value < -1:
            raise Error(b"ERR count should be greater than or equal to -1")
        limit = len(entries) if value == -1 else value
    return [list(e) for e in entries[:limit]]


@command("slowlog|len", arity=2, flags="admin loading stale", group="server", since="2.2.12",
         summary="Returns how many entries the slow log holds.",
         tips="request_policy:all_nodes response_policy:agg_sum nondeterministic_output")
def slowlog_len(ctx: Client, _sub: bytes) -> int:
    return len(ctx.server.slowlog.entries)


@command("slowlog|reset", arity=2, flags="admin loading stale", group="server", since="2.2.12",
         summary="Empties the slow log.",
         tips="request_policy:all_nodes response_policy:all_succeeded")
def slowlog_reset(ctx: Client, _sub: bytes) -> object:
    ctx.server.slowlog.entries.clear()
    return OK


@command("slowlog|help", arity=2, flags="loading stale", group="server", summary="Lists SLOWLOG's subcommands.", since="6.2.0")
def slowlog_help(ctx: Client, _sub: bytes) -> object:
    return help_lines(ctx, "slowlog")


# --------------------------------------------------------------------------- LATENCY

container("latency", summary="Reports latency spikes (this server records none yet).", since="2.8.13")


@command("latency|latest", arity=2, flags="admin noscript loading stale", group="server", since="2.8.13",
         summary="Returns the latest latency spike of each event.",
         tips="nondeterministic_output request_policy:all_nodes response_policy:special")
def latency_latest(ctx: Client, _sub: bytes) -> list:
    return []


@command("latency|history", arity=3, flags="admin noscript loading stale", group="server", since="2.8.13",
         summary="Returns the history of latency spikes of one event.", args="event",
         tips="nondeterministic_output request_policy:all_nodes response_policy:special")
def latency_history(ctx: Client, _sub: bytes, event: bytes) -> list:
    return []


@command("latency|reset", arity=-2, flags="admin noscript loading stale", group="server", since="2.8.13",
         summary="Forgets recorded latency spikes.", args="[event ...]",
         tips="request_policy:all_nodes response_policy:all_succeeded")
def latency_reset(ctx: Client, _sub: bytes, *events: bytes) -> int:
    return 0


@command("latency|graph", arity=3, flags="admin noscript loading stale", group="server", since="2.8.13",
         summary="Draws the latency spikes of one event as an ASCII graph.", args="event",
         tips="nondeterministic_output request_policy:all_nodes response_policy:special")
def latency_graph(ctx: Client, _sub: bytes, event: bytes) -> object:
    raise Error(b"ERR No samples available for event '%s'" % event)


def _histogram_bucket(usec_per_call: float) -> int:
    """The power-of-two bucket (in microseconds) that holds a latency, as Redis reports them."""
    bucket = 1
    while bucket < usec_per_call:
        bucket *= 2
    return bucket


@command("latency|histogram", arity=-2, flags="admin noscript loading stale", group="server", since="7.0.0",
         summary="Reports each command's call count and latency distribution.",
         args="[command ...]",
         tips="nondeterministic_output request_policy:all_nodes response_policy:special")
def latency_histogram(ctx: Client, _sub: bytes, *names: bytes) -> dict:
    """Commands that ran, each with ``calls`` and a cumulative ``histogram_usec``.

    Only each command's total time is recorded here, so every call is counted
    in the bucket of the mean latency: the shape is Redis's, the spread is not.
    """
    if names:
        chosen = []
        for name in names:
            parent, _, sub = name.lower().partition(b"|")
            cmd = TABLE.get(parent)
            if cmd is None:
                continue
            if sub:
                found = cmd.subcommands.get(sub)
                chosen.extend([found] if found is not None else [])
            else:
                chosen.extend(cmd.subcommands.values() or [cmd])
    else:
        chosen = list(_all_commands())
    out: dict = {}
    for cmd in chosen:
        if cmd.calls:
            bucket = _histogram_bucket(cmd.usec / cmd.calls)
            out[cmd.name.encode()] = {b"calls": cmd.calls, b"histogram_usec": {bucket: cmd.calls}}
    return out


@command("latency|doctor", arity=2, flags="admin noscript loading stale", group="server", since="2.8.13",
         summary="Explains the recorded latency spikes in words.",
         tips="nondeterministic_output request_policy:all_nodes response_policy:special")
def latency_doctor(ctx: Client, _sub: bytes) -> object:
    # No latency events are recorded, so Redis's reports for "disabled" and "no spike" are the two cases.
    if ctx.server.config["latency-monitor-threshold"] == 0:
        return Verbatim(
            b"I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. "
            b"You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. "
            b"If we weren't in a deep space mission I'd suggest to take a look at "
            b"https://redis.io/topics/latency-monitor.\n"
        )
    return Verbatim(
        b"Dave, no latency spike was observed during the lifetime of this Redis instance, not in the "
        b"slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think "
        b"things over.\n"
    )


@command("latency|help", arity=2, flags="loading stale", group="server", summary="Lists LATENCY's subcommands.", since="2.8.13")
def latency_help(ctx: Client, _sub: bytes) -> object:
    return help_lines(ctx, "latency")


# --------------------------------------------------------------------------- MEMORY

container("memory", summary="Reports memory use.", since="4.0.0")


@command("memory|usage", arity=-3, flags="readonly", acl="read", group="server", since="4.0.0", keys="RO @2", summary="Estimates the bytes a key and its value take.",
         args="key [SAMPLES count]")
def memory_usage(ctx: Client, _sub: bytes, key: bytes, *opts: bytes) -> object:
    samples = 5
    options = ArgCursor(opts)
    while options:
        if options.next_keyword() == b"SAMPLES" and options.has(1):
            samples = options.next_int()  # 0: every element
            if samples < 0:
                raise SYNTAX_ERROR
        else:
            raise SYNTAX_ERROR
    value = ctx.db.lookup(key)
    if value is None:
        return None
    return value_memory(key, value, samples)


@command("memory|stats", arity=2, flags="", group="server", since="4.0.0",
         summary="Reports memory statistics as a map.",
         tips="nondeterministic_output request_policy:all_shards response_policy:special")
def memory_stats(ctx: Client, _sub: bytes) -> object:
    """Redis's fields in Redis's order; allocator and buffer figures that have no
    counterpart here read as on a server without them."""
    server = ctx.server
    used = server.eviction.used_memory()
    rss = rss_bytes()
    peak = max(server.eviction.peak, used)
    startup = min(server.eviction.baseline, used)
    keys = sum(len(db.data) for db in server.keyspace.dbs)
    dataset = used - startup
    stats: dict = {
        b"peak.allocated": peak,
        b"total.allocated": used,
        b"startup.allocated": startup,
        b"replication.backlog": 0,
        b"clients.slaves": 0,
        b"clients.normal": 0,
        b"cluster.links": 0,
        b"aof.buffer": 0,
        b"lua.caches": 0,
        b"functions.caches": 0,
    }
    for db in server.keyspace.dbs:
        if db.data:
            stats[b"db.%d" % db.id] = {
                b"overhead.hashtable.main": 0,
                b"overhead.hashtable.expires": 0,
                b"overhead.hashtable.slot-to-keys": 0,
            }
    stats.update({
        b"overhead.total": startup,
        b"keys.count": keys,
        b"keys.bytes-per-key": dataset // keys if keys else 0,
        b"dataset.bytes": dataset,
        b"dataset.percentage": 100.0 * dataset / used if used else 0.0,
        b"peak.percentage": 100.0 * used / peak if peak else 0.0,
        b"allocator.allocated": used,
        b"allocator.active": used,
        b"allocator.resident": rss,
        b"allocator-fragmentation.ratio": 1.0,
        b"allocator-fragmentation.bytes": 0,
        b"allocator-rss.ratio": rss / used if used else 1.0,
        b"allocator-rss.bytes": rss - used,
        b"rss-overhead.ratio": 1.0,
        b"rss-overhead.bytes": 0,
        b"fragmentation": rss / used if used else 1.0,
        b"fragmentation.bytes": rss - used,
    })
    return stats


# Below this, Redis's doctor declines to judge (its threshold on bytes allocated, of which an
# empty redis-server uses about 1 MB). Here it applies to the memory used beyond start-up,
# since the interpreter's own tens of megabytes are not the dataset's.
MEMORY_DOCTOR_MINIMUM = 4 * 1024 * 1024


@command("memory|doctor", arity=2, flags="", group="server", since="4.0.0",
         summary="Describes memory problems in words.",
         tips="nondeterministic_output request_policy:all_shards response_policy:special")
def memory_doctor(ctx: Client, _sub: bytes) -> object:
    eviction = ctx.server.eviction
    if eviction.used_memory() - eviction.baseline < MEMORY_DOCTOR_MINIMUM:
        return Verbatim(
            b"Hi Sam, this instance is empty or is using very little memory, my issues detector can't be "
            b"used in these conditions. Please, leave for your mission on Earth and fill it with some data. "
            b"The new Sam and I will be back to our programming as soon as I finished rebooting.\n"
        )
    return Verbatim(b"Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n")


@command("memory|malloc-stats", arity=2, flags="", group="server", since="4.0.0",
         summary="Reports the allocator's internal statistics.",
         tips="nondeterministic_output request_policy:all_shards response_policy:special")
def memory_malloc_stats(ctx: Client, _sub: bytes) -> object:
    return Verbatim(b"Stats not supported for the current allocator\n")


@command("memory|purge", arity=2, flags="", group="server", since="4.0.0",
         summary="Asks the allocator to release free memory.",
         tips="request_policy:all_shards response_policy:all_succeeded")
def memory_purge(ctx: Client, _sub: bytes) -> object:
    import gc

    gc.collect()
    return OK


@command("memory|help", arity=2, flags="loading stale", group="server", summary="Lists MEMORY's subcommands.", since="4.0.0")
def memory_help(ctx: Client, _sub: bytes) -> object:
    return help_lines(ctx, "memory")


# --------------------------------------------------------------------------- DEBUG

DEBUG_NOT_ALLOWED = Error(
    b"ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run "
    b"it from a local connection, otherwise you need to set this option in the configuration file, "
    b"and then restart the server."
)

# Subcommands whose work lives with the part they exercise: name → function(ctx, *args).
DEBUG_HANDLERS: dict[bytes, Callable[..., object]] = {b"reload": debug_reload, b"loadaof": debug_loadaof}


@command("debug", arity=-2, flags="admin noscript loading stale", group="server",
         summary="Debugging helpers: SLEEP, OBJECT, SET-ACTIVE-EXPIRE, RELOAD ...",
         doc_flags="syscmd")
def debug(ctx: Client, sub: bytes, *args: bytes) -> object:
    allowed = ctx.server.config["enable-debug-command"]
    local = ctx.addr.startswith(("127.", "[::1]", "::1")) or ctx.addr.startswith("/")
    if allowed == "no" or (allowed == "local" and not local):
        raise DEBUG_NOT_ALLOWED
    name = sub.lower()
    if name in (b"sleep", b"set-active-expire", b"object") and len(args) != 1:
        raise subcommand_syntax_error("debug", sub)
    if name == b"sleep":
        time.sleep(_strtod(args[0]))
        return OK
    if name == b"set-active-expire":
        ctx.server.keyspace.active_expire_enabled = args[0] != b"0"
        return OK
    if name == b"object":
        value = ctx.db.lookup(args[0])
        if value is None:
            raise NO_SUCH_KEY
        from server.commands.keys import encoding_of

        enc = encoding_of(ctx.db.keyspace, value).decode()
        return Status(
            f"Value at:0x0 refcount:1 encoding:{enc} serializedlength:{value_memory(args[0], value, 0)} "
            f"lru:0 lru_seconds_idle:0".encode()
        )
    if name in (b"change-repl-id", b"quicklist-packed-threshold", b"stringmatch-len", b"replybuffer",
                b"set-skip-checksum-validation", b"set-disable-deny-scripts", b"log", b"jmap"):
        return OK
    if name == b"error":
        return Error(b" ".join(args))
    if name == b"protocol" and args:
        return _debug_protocol(ctx, args[0].lower())
    if name == b"now" or name == b"mstime":
        return now_ms()
    handler = DEBUG_HANDLERS.get(name)
    if handler is not None:
        return handler(ctx, *args)
    raise subcommand_syntax_error("debug", sub)


def _strtod(text: bytes) -> float:
    """The number at the start of ``text``, 0 if none (C's strtod, which DEBUG SLEEP uses)."""
    import re

    match = re.match(rb"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", text)
    return max(float(match.group(0)), 0.0) if match else 0.0


def _debug_protocol(ctx: Client, kind: bytes) -> object:
    """A sample of each RESP3 type (what DEBUG PROTOCOL exists for: testing clients)."""
    from server.protocol import BigNumber, Push, Raw, Replies, RespSet

    if kind == b"attrib":
        # An attribute has no reply type of its own here: RESP3 gets its bytes as they are.
        text = b"Some real reply following the attribute"
        if ctx.resp == 2:
            return text
        return Raw(b"|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n$%d\r\n%s\r\n" % (len(text), text))
    if kind == b"push":
        if ctx.resp == 2:
            return Error(b"ERR RESP2 is not supported by this command")
        return Replies([Push([b"server-cpu-usage", 42]), b"Some real reply following the push reply"])

    samples = {
        b"string": b"Hello World",
        b"integer": 12345,
        b"double": 3.141,
        b"bignum": BigNumber(b"1234567999999999999999999999999999999"),
        b"null": None,
        b"array": [0, 1, 2],
        b"set": RespSet([0, 1, 2]),
        b"map": {0: False, 1: True, 2: False},
        b"true": True,
        b"false": False,
        b"verbatim": Verbatim(b"This is a verbatim\nstring"),
    }
    if kind not in samples:
        raise Error(b"ERR Wrong protocol type name. Please use one of the following: "
                    b"string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false")
    return samples[kind]

