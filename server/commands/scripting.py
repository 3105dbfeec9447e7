"""EVAL, EVALSHA, their _RO forms, and SCRIPT (eval.c in Redis).

The work is in ``server.scripting.engine``; this module parses arguments, finds
or compiles the script, and applies the flags a ``#!lua`` shebang declares the
way Redis's processCommand does before the script starts (OOM, MISCONF).
"""

from __future__ import annotations

from server.client import Client
from server.command import command, container, numkeys_keys
from server.commands.args import NEGATIVE_KEYS, NOT_INTEGER, TOO_MANY_KEYS, to_int
from server.protocol import OK, Error
from server.scripting.engine import (
    EVAL_COMPAT,
    NO_WRITES,
    NOSCRIPT,
    Engine,
    ScriptError,
    sha1hex,
)

# The usual numkeys, as clients write them: EVALSHA's shortcut reads them with one look-up.
KEY_COUNTS = {b"%d" % i: i for i in range(256)}


def engine(ctx: Client) -> Engine:
    return ctx.server.scripting


def _feed_monitors(ctx: Client, argv: list[bytes]) -> None:
    """Redis feeds MONITOR with EVAL before the script runs, so its commands follow it."""
    server = ctx.server
    if not server.monitors:
        return
    from server.monitor import format_line

    line = format_line(ctx, argv)
    for monitor in server.monitors:
        if monitor is not ctx:
            monitor.send_push(line)


def run_script(ctx: Client, name: bytes, body_or_sha: bytes, numkeys: bytes, rest: tuple[bytes, ...],
               evalsha: bool, ro: bool) -> object:
    server = ctx.server
    if server.monitors:
        _feed_monitors(ctx, [name, body_or_sha, numkeys, *rest])
    eng: Engine = server.scripting
    count = to_int(numkeys)
    if count is None:
        return NOT_INTEGER
    if count > len(rest):
        return TOO_MANY_KEYS
    if count < 0:
        return NEGATIVE_KEYS
    try:
        if evalsha:
            script = eng.scripts.get(body_or_sha) or eng.lookup(body_or_sha)
            if script is None:
                return NOSCRIPT
        else:
            script = eng.lookup(sha1hex(body_or_sha)) or eng.create(body_or_sha)
        flags = script.flags
        if not flags & EVAL_COMPAT:
            writes = not flags & NO_WRITES
            if writes and server.persistence.write_block is not None:
                return server.persistence.write_block
            if writes and not flags & 2 and server.eviction.limited:  # ALLOW_OOM
                oom = server.eviction.check(ctx, [])
                if oom is not None:
                    return oom
        return eng.execute(ctx, script.func, script.sha, flags, ro, count, rest, True)
    except ScriptError as exc:
        return exc.error


@command("eval", arity=-3, flags="noscript stale skip_monitor no_mandatory_keys may_replicate", acl="scripting",
         group="scripting", since="2.6.0", complexity="Depends on the script that is executed.",
         summary="Runs a Lua script on the server.", args="script numkeys [key ...] [arg ...]", getkeys=numkeys_keys(0, 2, 3),
         keys="RW access update @2 keynum(0,1,1) # We cannot tell how the keys will be used so we assume the worst, RW and UPDATE")
def eval_(ctx: Client, body: bytes, numkeys: bytes, *rest: bytes) -> object:
    return run_script(ctx, b"eval", body, numkeys, rest, False, False)


@command("evalsha", arity=-3, flags="noscript stale skip_monitor no_mandatory_keys may_replicate", acl="scripting",
         group="scripting", since="2.6.0", complexity="Depends on the script that is executed.",
         summary="Runs a cached Lua script by its SHA1 digest.", args="sha1 numkeys [key ...] [arg ...]", getkeys=numkeys_keys(0, 2, 3),
         keys="RW access update @2 keynum(0,1,1)")
def evalsha(ctx: Client, sha: bytes, numkeys: bytes, *rest: bytes) -> object:
    server = ctx.server
    eng: Engine = server.scripting
    script = eng.scripts.get(sha)
    count = KEY_COUNTS.get(numkeys)  # (any other spelling takes run_script's to_int)
    # The usual request (the SHA as SCRIPT LOAD gave it, a valid key count, a script without
    # declared flags, nobody MONITORing) runs at once: ``run_script`` has nothing to refuse.
    if (script is not None and count is not None and count <= len(rest)
            and script.flags == EVAL_COMPAT and not server.monitors):
        return eng.execute(ctx, script.func, sha, EVAL_COMPAT, False, count, rest, True)
    if len(sha) != 40:
        _feed_monitors(ctx, [b"evalsha", sha, numkeys, *rest])
        return NOSCRIPT
    return run_script(ctx, b"evalsha", sha, numkeys, rest, True, False)


@command("eval_ro", arity=-3, flags="readonly noscript stale skip_monitor no_mandatory_keys", acl="scripting",
         group="scripting", since="7.0.0", complexity="Depends on the script that is executed.",
         summary="Runs a read-only Lua script on the server.", args="script numkeys [key ...] [arg ...]", getkeys=numkeys_keys(0, 2, 3),
         keys="RO access @2 keynum(0,1,1) # We cannot tell how the keys will be used so we assume the worst, RO and ACCESS")
def eval_ro(ctx: Client, body: bytes, numkeys: bytes, *rest: bytes) -> object:
    return run_script(ctx, b"eval_ro", body, numkeys, rest, False, True)


@command("evalsha_ro", arity=-3, flags="readonly noscript stale skip_monitor no_mandatory_keys", acl="scripting",
         group="scripting", since="7.0.0", complexity="Depends on the script that is executed.",
         summary="Runs a cached read-only Lua script by its SHA1 digest.", args="sha1 numkeys [key ...] [arg ...]",
         getkeys=numkeys_keys(0, 2, 3),
         keys="RO access @2 keynum(0,1,1)")
def evalsha_ro(ctx: Client, sha: bytes, numkeys: bytes, *rest: bytes) -> object:
    if len(sha) != 40:
        _feed_monitors(ctx, [b"evalsha_ro", sha, numkeys, *rest])
        return NOSCRIPT
    return run_script(ctx, b"evalsha_ro", sha, numkeys, rest, True, True)


container("script", summary="A container for Lua scripts management commands.", group="scripting", since="2.6.0")

_SCRIPT_HELP = [
    b"SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    b"DEBUG (YES|SYNC|NO)",
    b"    Set the debug mode for subsequent scripts executed.",
    b"EXISTS <sha1> [<sha1> ...]",
    b"    Return information about the existence of the scripts in the script cache.",
    b"FLUSH [ASYNC|SYNC]",
    b"    Flush the Lua scripts cache. Very dangerous on replicas.",
    b"    When called without the optional mode argument, the behavior is determined by the",
    b"    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    b"    * ASYNC: Asynchronously flush the scripts cache.",
    b"    * SYNC: Synchronously flush the scripts cache.",
    b"KILL",
    b"    Kill the currently executing Lua script.",
    b"LOAD <script>",
    b"    Load a script into the scripts cache without executing it.",
    b"HELP",
    b"    Prints this help.",
]


@command("script|help", arity=2, flags="loading stale", acl="scripting", group="scripting", since="5.0.0",
         summary="Shows what SCRIPT's subcommands do.")
def script_help(ctx: Client, _sub: bytes) -> object:
    from server.protocol import Status

    return [Status(line) for line in _SCRIPT_HELP]


@command("script|load", arity=3, flags="noscript stale", acl="scripting", group="scripting", since="2.6.0",
         summary="Compiles a Lua script into the script cache without running it.", args="script",
         complexity="O(N) with N being the length in bytes of the script body.",
         tips="request_policy:all_nodes response_policy:all_succeeded")
def script_load(ctx: Client, _sub: bytes, body: bytes) -> object:
    try:
        return engine(ctx).create(body).sha
    except ScriptError as exc:
        return exc.error


@command("script|exists", arity=-3, flags="noscript", acl="scripting", group="scripting", since="2.6.0",
         summary="Tells, for each SHA1 digest, whether the script is in the script cache.",
         args="sha1 ...", complexity="O(N) with N being the number of scripts to check.",
         tips="request_policy:all_shards response_policy:agg_logical_and")
def script_exists(ctx: Client, _sub: bytes, *shas: bytes) -> object:
    scripts = engine(ctx).scripts
    return [1 if sha.lower() in scripts else 0 for sha in shas]


@command("script|flush", arity=-2, flags="noscript", acl="scripting", group="scripting", since="2.6.0",
         summary="Empties the script cache and starts a new Lua state.", args="[ASYNC|SYNC]{name=async,since=6.2.0}",
         complexity="O(N) with N being the number of scripts in cache",
         tips="request_policy:all_nodes response_policy:all_succeeded")
def script_flush(ctx: Client, _sub: bytes, *mode: bytes) -> object:
    if len(mode) > 1 or (mode and mode[0].lower() not in (b"async", b"sync")):
        raise Error(b"ERR SCRIPT FLUSH only support SYNC|ASYNC option")
    engine(ctx).reset()
    return OK


@command("script|kill", arity=2, flags="noscript allow_busy", acl="scripting", group="scripting",
         since="2.6.0", summary="Stops the running script, if it has not written anything.",
         tips="request_policy:all_shards response_policy:one_succeeded")
def script_kill(ctx: Client, _sub: bytes) -> object:
    return engine(ctx).kill(is_eval=True)


@command("script|debug", arity=3, flags="noscript", acl="scripting", group="scripting", since="3.2.0",
         summary="Sets the debug mode of the following scripts (the debugger is not available here).",
         args="(YES|SYNC|NO){name=mode}")
def script_debug(ctx: Client, _sub: bytes, mode: bytes) -> object:
    low = mode.lower()
    if low == b"no":
        return OK
    if low in (b"yes", b"sync"):
        raise Error(b"ERR SCRIPT DEBUG is not supported by this server")
    raise Error(b"ERR Use SCRIPT DEBUG YES/SYNC/NO")
