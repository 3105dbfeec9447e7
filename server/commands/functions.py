"""FUNCTION and FCALL (functions.c in Redis 7.0); the libraries live in ``server.scripting.functions``."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from server.client import Client
from server.command import command, container, numkeys_keys
from server.commands.args import NEGATIVE_KEYS, TOO_MANY_KEYS, ArgCursor, to_int
from server.commands.connection import subcommand_syntax_error
from server.commands.scripting import _feed_monitors, engine
from server.protocol import OK, Error, Status
from server.scripting.engine import ALLOW_OOM, BUSY_EVAL, NO_WRITES, ScriptError
from server.scripting.functions import LoadError, registry

if TYPE_CHECKING:
    pass


def _fcall(ctx: Client, name: bytes, function_name: bytes, numkeys: bytes, rest: tuple[bytes, ...],
           ro: bool) -> object:
    _feed_monitors(ctx, [name, function_name, numkeys, *rest])
    reg = registry(ctx.server)
    function = reg.functions.get(function_name.lower())
    if function is None:
        return Error(b"ERR Function not found")
    count = to_int(numkeys)
    if count is None:
        return Error(b"ERR Bad number of keys provided")
    if count > len(rest):
        return TOO_MANY_KEYS
    if count < 0:
        return NEGATIVE_KEYS
    server = ctx.server
    flags = function.flags
    writes = not flags & NO_WRITES
    if writes and server.persistence.write_block is not None:
        return server.persistence.write_block
    if writes and not flags & ALLOW_OOM and server.eviction.limited:
        oom = server.eviction.check(ctx, [])
        if oom is not None:
            return oom
    try:
        return engine(ctx).execute(ctx, function.callback, function.name, flags, ro, count, rest,
                                   eval_mode=False, vm=reg.vm,
                                   argv=[name, function_name, numkeys, *rest])
    except ScriptError as exc:
        return exc.error


@command("fcall", arity=-3, flags="noscript stale skip_monitor no_mandatory_keys may_replicate", acl="scripting",
         group="scripting", since="7.0.0", complexity="Depends on the function that is executed.",
         summary="Calls a function of a loaded library.", args="function numkeys [key ...] [arg ...]", getkeys=numkeys_keys(0, 2, 3),
         keys="RW access update @2 keynum(0,1,1) # We cannot tell how the keys will be used so we assume the worst, RW and UPDATE")
def fcall(ctx: Client, function_name: bytes, numkeys: bytes, *rest: bytes) -> object:
    return _fcall(ctx, b"fcall", function_name, numkeys, rest, ro=False)


@command("fcall_ro", arity=-3, flags="readonly noscript stale skip_monitor no_mandatory_keys",
         acl="scripting", group="scripting", since="7.0.0", complexity="Depends on the function that is executed.",
         summary="Calls a read-only function of a loaded library.", args="function numkeys [key ...] [arg ...]", getkeys=numkeys_keys(0, 2, 3),
         keys="RO access @2 keynum(0,1,1) # We cannot tell how the keys will be used so we assume the worst, RO and ACCESS")
def fcall_ro(ctx: Client, function_name: bytes, numkeys: bytes, *rest: bytes) -> object:
    return _fcall(ctx, b"fcall_ro", function_name, numkeys, rest, ro=True)


container("function", summary="A container for function commands.", group="scripting", since="7.0.0")


@command("function|load", arity=-3, flags="write denyoom noscript", acl="scripting", group="scripting",
         since="7.0.0", summary="Creates a library from Lua code (its first line: #!lua name=<library>).",
         args="[(REPLACE)] function-code", complexity="O(1) (considering compilation time is redundant)",
         tips="request_policy:all_shards response_policy:all_succeeded")
def function_load(ctx: Client, _sub: bytes, *args: bytes) -> object:
    replace = False
    for arg in args[:-1]:
        if arg.lower() == b"replace":
            replace = True
            continue
        return Error(b"ERR Unknown option given: " + arg)
    try:
        name = registry(ctx.server).load(args[-1], replace)
    except LoadError as exc:
        return Error(b"ERR " + exc.message)
    ctx.server.keyspace.dirty += 1
    return name


@command("function|delete", arity=3, flags="write noscript", acl="scripting", group="scripting", since="7.0.0",
         summary="Deletes a library and its functions.", args="library-name",
         tips="request_policy:all_shards response_policy:all_succeeded")
def function_delete(ctx: Client, _sub: bytes, name: bytes) -> object:
    reg = registry(ctx.server)
    library = reg.libraries.get(name.lower())
    if library is None:
        return Error(b"ERR Library not found")
    reg.unlink(library)
    ctx.server.keyspace.dirty += 1
    return OK


@command("function|flush", arity=-2, flags="write noscript", acl="scripting", group="scripting",
         since="7.0.0", summary="Deletes every library.", args="[ASYNC|SYNC]{name=async}",
         complexity="O(N) where N is the number of functions deleted",
         tips="request_policy:all_shards response_policy:all_succeeded")
def function_flush(ctx: Client, _sub: bytes, *mode: bytes) -> object:
    if len(mode) > 1:
        return subcommand_syntax_error("function", _sub)
    if mode and mode[0].lower() not in (b"async", b"sync"):
        return Error(b"ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
    registry(ctx.server).flush()
    ctx.server.keyspace.dirty += 1
    return OK


@command("function|list", arity=-2, flags="noscript", acl="scripting", group="scripting", since="7.0.0",
         summary="Lists the libraries, their functions and flags (and their code with WITHCODE).",
         args="[LIBRARYNAME library-name-pattern] [WITHCODE]",
         complexity="O(N) where N is the number of functions",
         tips="nondeterministic_output_order")
def function_list(ctx: Client, _sub: bytes, *args: bytes) -> object:
    with_code = False
    pattern: bytes | None = None
    options = ArgCursor(args)
    while options:
        arg = options.next_bytes()
        low = arg.lower()
        if not with_code and low == b"withcode":
            with_code = True
        elif pattern is None and low == b"libraryname":
            if not options:
                return Error(b"ERR library name argument was not given")
            pattern = options.next_bytes()
        else:
            return Error(b"ERR Unknown argument " + arg)
    return registry(ctx.server).listing(pattern, with_code)


@command("function|dump", arity=2, flags="noscript", acl="scripting", group="scripting", since="7.0.0",
         summary="Serialises every library into a payload for FUNCTION RESTORE.",
         complexity="O(N) where N is the number of functions")
def function_dump(ctx: Client, _sub: bytes) -> object:
    return registry(ctx.server).dump()


@command("function|restore", arity=-3, flags="write denyoom noscript", acl="scripting", group="scripting",
         since="7.0.0", summary="Loads the libraries of a FUNCTION DUMP payload.",
         args="serialized-value [FLUSH|APPEND|REPLACE]{name=policy}", complexity="O(N) where N is the number of functions on the payload",
         tips="request_policy:all_shards response_policy:all_succeeded")
def function_restore(ctx: Client, _sub: bytes, payload: bytes, *policy: bytes) -> object:
    if len(policy) > 1:
        return subcommand_syntax_error("function", _sub)
    mode = policy[0].lower() if policy else b"append"
    if mode not in (b"append", b"replace", b"flush"):
        return Error(b"ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.")
    try:
        registry(ctx.server).restore(payload, mode)
    except LoadError as exc:
        return Error(b"ERR " + exc.message)
    ctx.server.keyspace.dirty += 1
    return OK


@command("function|kill", arity=2, flags="noscript allow_busy", acl="scripting", group="scripting",
         since="7.0.0", summary="Stops the running function, if it has not written anything.",
         tips="request_policy:all_shards response_policy:one_succeeded")
def function_kill(ctx: Client, _sub: bytes) -> object:
    return engine(ctx).kill(is_eval=False)


@command("function|stats", arity=2, flags="noscript allow_busy", acl="scripting", group="scripting",
         since="7.0.0", summary="Shows the running function, if any, and the libraries per engine.",
         tips="nondeterministic_output request_policy:all_shards response_policy:special")
def function_stats(ctx: Client, _sub: bytes) -> object:
    eng = engine(ctx)
    run = eng.run
    if run is not None and run.eval_mode:
        return BUSY_EVAL
    running: object = None
    if run is not None:
        running = {b"name": run.name, b"command": list(run.argv or ()),
                   b"duration_ms": int((time.monotonic() - run.start) * 1000)}
    reg = registry(ctx.server)
    return {b"running_script": running,
            b"engines": {b"LUA": {b"libraries_count": len(reg.libraries), b"functions_count": len(reg.functions)}}}


_FUNCTION_HELP = [
    b"FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    b"LOAD [REPLACE] <FUNCTION CODE>",
    b"    Create a new library with the given library name and code.",
    b"DELETE <LIBRARY NAME>",
    b"    Delete the given library.",
    b"LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    b"    Return general information on all the libraries:",
    b"    * Library name",
    b"    * The engine used to run the Library",
    b"    * Library description",
    b"    * Functions list",
    b"    * Library code (if WITHCODE is given)",
    b"    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
    b"STATS",
    b"    Return information about the current function running:",
    b"    * Function name",
    b"    * Command used to run the function",
    b"    * Duration in MS that the function is running",
    b"    If no function is running, return nil",
    b"    In addition, returns a list of available engines.",
    b"KILL",
    b"    Kill the current running function.",
    b"FLUSH [ASYNC|SYNC]",
    b"    Delete all the libraries.",
    b"    When called without the optional mode argument, the behavior is determined by the",
    b"    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    b"    * ASYNC: Asynchronously flush the libraries.",
    b"    * SYNC: Synchronously flush the libraries.",
    b"DUMP",
    b"    Return a serialized payload representing the current libraries, can be restored using FUNCTION "
    b"RESTORE command",
    b"RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    b"    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
    b"    control how to handle existing libraries (default APPEND):",
    b"    * FLUSH: delete all existing libraries.",
    b"    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
    b"    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
    b"      libraries with the new libraries (notice that even on this option there is a chance of failure",
    b"      in case of functions name collision with another library).",
    b"HELP",
    b"    Prints this help.",
]


@command("function|help", arity=2, flags="loading stale", acl="scripting", group="scripting", since="7.0.0",
         summary="Shows what FUNCTION's subcommands do.")
def function_help(ctx: Client, _sub: bytes) -> object:
    return [Status(line) for line in _FUNCTION_HELP]
