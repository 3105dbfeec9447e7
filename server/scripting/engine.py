"""Running scripts: the script cache, one run at a time, ``redis.call`` and busy scripts.

One ``Engine`` hangs off ``server.scripting``. It owns the Lua state (recreated by
SCRIPT FLUSH), the SHA1 → script cache, and the run in progress. A script's
commands run through ``dispatch.call`` on a private client (Redis's "lua client")
that takes the caller's user and database, never blocks (``executing_multi``) and
speaks the protocol the script chose with ``redis.setresp``.

Effects: a run is one execution unit of the effects pipeline (``server.effects.unit``):
at its end one command is logged as it is and several are wrapped in MULTI/EXEC
(Redis 7.0's effects replication). The EVAL itself is never logged; ``redis.set_repl``
without REPL_AOF mutes the commands that follow it (``Effects.muted``).

Busy scripts: a Lua count hook calls ``hook`` every ``HOOK_EVERY`` instructions.
Past ``busy-reply-threshold`` the script is "timed out": each hook then serves the
other connections without running their commands (Redis's
processEventsWhileBlocked): they get ``-BUSY``, except the commands flagged
``allow_busy`` (SCRIPT KILL, FUNCTION KILL, SHUTDOWN NOSAVE ...), which run.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass
from time import monotonic
from typing import TYPE_CHECKING, Any

from server import REDIS_VERSION
from server.client import Blocked, Client
from server.command import TABLE, Command
from server.dispatch import LOOKUP, call
from server.held import BusyReplies, HeldLoop
from server.protocol import Error
from server.scripting import convert
from server.scripting.libs import LibError
from server.scripting.sandbox import HOOK_EVERY, new_runtime

if TYPE_CHECKING:
    from server.instance import Server

NOSCRIPT = Error(b"NOSCRIPT No matching script. Please use EVAL.")
BUSY_EVAL = Error(b"BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.")
BUSY_FUNCTION = Error(b"BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.")
NOTBUSY = Error(b"NOTBUSY No scripts in execution right now.")
UNKILLABLE = Error(
    b"UNKILLABLE Sorry the script already executed write commands against the dataset. You can either "
    b"wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command."
)
OOM_IN_SCRIPT = b"OOM command not allowed when used memory > 'maxmemory'."

# Script flags (#!lua flags=... and register_function's flags).
NO_WRITES = 1
ALLOW_OOM = 2
ALLOW_STALE = 4
NO_CLUSTER = 8
ALLOW_CROSS_SLOT = 16
EVAL_COMPAT = 32  # an EVAL script without a shebang: the pre-7.0 rules
FLAG_NAMES = {b"no-writes": NO_WRITES, b"allow-oom": ALLOW_OOM, b"allow-stale": ALLOW_STALE,
              b"no-cluster": NO_CLUSTER, b"allow-cross-slot-keys": ALLOW_CROSS_SLOT}

# Past this much Lua memory after a run, a full collection runs at once (see ``execute``).
LUA_COLLECT_ABOVE = 64 << 20

PROPAGATE_AOF = 1
PROPAGATE_REPL = 2
PROPAGATE_ALL = PROPAGATE_AOF | PROPAGATE_REPL

LOG_LEVELS = {0: "debug", 1: "verbose", 2: "notice", 3: "warning"}
VERBOSITY = {"debug": 0, "verbose": 1, "notice": 2, "warning": 3, "nothing": 4}


class CallError(Exception):
    """``redis.call`` failed: carries the ``{err=...}`` table raised into the script."""

    def __init__(self, table: Any):
        super().__init__("redis.call error")
        self.table = table


class ScriptError(Exception):
    """A script cannot be created or run: the reply is ``error``."""

    def __init__(self, error: Error):
        super().__init__(error.message)
        self.error = error


@dataclass
class Script:
    sha: bytes
    body: bytes
    flags: int
    func: Any


class Run:
    """The script running now (Redis's scriptRunCtx).

    A plain class with a hand-written ``__init__``: one is made per EVAL/FCALL, and a
    dataclass with default factories costs about twice as much to build.
    """

    __slots__ = ("caller", "client", "name", "read_only", "allow_oom", "eval_mode", "start", "timed_out",
                 "killed", "dirty", "repl", "argv", "guarded")

    def __init__(self, caller: Client, client: Client, name: bytes, read_only: bool, allow_oom: bool,
                 eval_mode: bool, argv: list[bytes] | None = None):
        self.caller = caller
        self.client = client
        self.name = name  # the SHA of an EVAL script, the name of a function
        self.read_only = read_only
        self.allow_oom = allow_oom
        self.eval_mode = eval_mode
        self.start = time.monotonic()
        self.timed_out = False
        self.killed: bytes | None = None
        self.dirty = False
        self.repl = PROPAGATE_ALL
        self.argv = argv  # the FCALL that started it (FUNCTION STATS); None for EVAL
        self.guarded = True  # must ``redis.call`` apply ACL, read-only, MISCONF and OOM refusals?


def script_commands() -> dict[bytes, Command]:
    """The names ``redis.call`` finds without further checks (``Engine._call``): the lower
    and upper case names of the commands without subcommands that scripts may run."""
    return {name: cmd for name, cmd in LOOKUP.items() if not cmd.subcommands and "noscript" not in cmd.flags}


def sha1hex(data: bytes) -> bytes:
    return hashlib.sha1(data).hexdigest().encode()


def parse_shebang(body: bytes) -> tuple[int, int]:
    """Redis's evalExtractShebangFlags: (flags, length of the shebang line)."""
    if not body.startswith(b"#!"):
        return EVAL_COMPAT, 0
    end = body.find(b"\n")
    if end < 0:
        raise ScriptError(Error(b"ERR Invalid script shebang"))
    parts = body[:end].split()
    if not parts:
        raise ScriptError(Error(b"ERR Invalid engine in script shebang"))
    if parts[0] != b"#!lua":
        raise ScriptError(Error(b"ERR Unexpected engine in script shebang: " + parts[0]))
    flags = 0
    for part in parts[1:]:
        if part.startswith(b"flags="):
            for name in part[6:].split(b","):
                bit = FLAG_NAMES.get(name)
                if bit is None:
                    raise ScriptError(Error(b"ERR Unexpected flag in script shebang: " + name))
                flags |= bit
        else:
            raise ScriptError(Error(b"ERR Unknown lua shebang option: " + part))
    return flags, end


class Rand48:
    """Redis's redisLrand48 (the drand48 recurrence), behind ``math.random``."""

    MAX = 0x7FFFFFFF

    def __init__(self) -> None:
        self.x = 0x1234ABCD330E

    def seed(self, value: int) -> None:
        value &= 0xFFFFFFFF
        self.x = ((value >> 16) << 32) | ((value & 0xFFFF) << 16) | 0x330E

    def next(self) -> float:
        self.x = (0x5DEECE66D * self.x + 0xB) & 0xFFFFFFFFFFFF
        return ((self.x >> 17) % self.MAX) / self.MAX


class LuaVM:
    """One sandboxed Lua state and its internal entry points."""

    def __init__(self, callbacks: dict[str, object]):
        self.runtime, entry = new_runtime(callbacks)
        self.compile = entry[b"compile"]
        self.run = entry[b"run"]
        self.eval1 = entry[b"eval1"]
        self.shape = entry[b"shape"]
        self.err_info = entry[b"err_info"]
        self.load_mode = entry[b"load_mode"]
        self.function_env = entry[b"function_env"]
        self._gc = self.runtime.eval("collectgarbage")

    def memory(self) -> int:
        return int(self._gc(b"count") * 1024)

    def collect_garbage(self) -> None:
        try:
            self._gc(b"collect")
        except Exception:  # noqa: BLE001 - nothing more can be freed
            pass


class Engine:
    """The Lua state, the script cache and the run in progress, for one server."""

    def __init__(self, server: Server):
        self.server = server
        self.rand = Rand48()
        self.run: Run | None = None
        self.scripts: dict[bytes, Script] = {}
        self.scripts_memory = 0
        self.client = Client(server, 0, "lua")
        self.client.authenticated = True
        self.client.executing_multi = True  # blocking commands answer at once
        self.register_hook: Any = None  # set by FUNCTION LOAD while a library's code runs
        self.functions: Any = None  # the FUNCTION libraries (server/scripting/functions.py)
        self.load_deadline: float | None = None  # while FUNCTION LOAD runs a library's code
        # Past busy-reply-threshold the others are answered (-BUSY) while the script runs.
        self.held = HeldLoop(server, BusyReplies(self))
        self.spare_run = Run(self.client, self.client, b"", False, False, True)  # see ``execute``
        self.runs = 0  # scripts run so far (the Lua memory check runs every 64, and after errors)
        self.script_commands = script_commands()
        self.reset()

    def function_library_codes(self) -> list[bytes]:
        """The code of every FUNCTION library, for RDB files and AOF rewrites."""
        from server.scripting.functions import registry

        return registry(self.server).codes()

    def load_function_libraries(self, codes: list[bytes]) -> None:
        """Libraries read from an RDB file (FUNCTION LOAD REPLACE each); a bad one is logged."""
        from server.scripting.functions import LoadError, registry

        reg = registry(self.server)
        for code in codes:
            try:
                reg.load(code, replace=True, timeout=None)
            except LoadError as exc:
                self.server.log("warning", "Failed loading a function library: %s"
                                % exc.message.decode("utf-8", "replace"))

    # ------------------------------------------------------------------ the Lua state

    def _callbacks(self) -> dict[str, object]:
        return {
            "call": self._call,
            "pcall": self._call_noraise,
            "unwrap_error": self._unwrap_error,
            "setresp": self._setresp,
            "set_repl": self._set_repl,
            "log": self._log,
            "acl_check_cmd": self._acl_check_cmd,
            "sha1hex": self._sha1hex,
            "error_text": convert.error_text,
            "random": self._random,
            "randomseed": self._randomseed,
            "hook": self._hook,
            "hook_every": HOOK_EVERY,
            "register_function": self._register_function,
            "version": REDIS_VERSION.encode(),
            "version_num": _version_num(REDIS_VERSION),
        }

    def reset(self) -> None:
        """A new Lua state for EVAL scripts and an empty cache (start-up, SCRIPT FLUSH)."""
        self.vm = LuaVM(self._callbacks())
        self.active = self.vm
        self.scripts = {}
        self.scripts_memory = 0

    def new_function_vm(self) -> LuaVM:
        """The separate Lua state function libraries live in (Redis keeps one per engine)."""
        return LuaVM(self._callbacks())

    def memory(self) -> int:
        """Bytes the EVAL Lua state holds (``used_memory_lua``)."""
        return self.vm.memory()

    def function_stats(self) -> tuple[int, int, int, int]:
        """(functions, libraries, Lua memory, bytes of code) for INFO."""
        registry = self.functions
        if registry is None:
            return 0, 0, 0, 0
        stats: tuple[int, int, int, int] = registry.stats()
        return stats

    # ------------------------------------------------------------------ the script cache

    def create(self, body: bytes) -> Script:
        """Redis's luaCreateFunction: the cached script for ``body``, compiled once."""
        sha = sha1hex(body)
        script = self.scripts.get(sha)
        if script is not None:
            return script
        flags, shebang_len = parse_shebang(body)
        ok, func = self.vm.compile(body[shebang_len:], b"@user_script", None)
        if not ok:
            raise ScriptError(Error(b"ERR Error compiling script (new function): " + func))
        script = Script(sha, body, flags, func)
        self.scripts[sha] = script
        self.scripts_memory += len(body) + 40 + 64
        return script

    def lookup(self, sha: bytes) -> Script | None:
        script = self.scripts.get(sha)  # clients send the lowercase hex SCRIPT LOAD gave them
        if script is None and len(sha) == 40:
            script = self.scripts.get(sha.lower())
        return script

    # ------------------------------------------------------------------ running

    def check_flags(self, caller: Client, flags: int, ro: bool) -> None:
        """Redis's scriptPrepareForRun checks for scripts that declared flags."""
        if flags & EVAL_COMPAT:
            return
        server = self.server
        if not flags & NO_WRITES:
            write_block = server.persistence.write_block
            if write_block is not None:
                text = write_block.message
                if b"RDB" in text or b"snapshots" in text:
                    raise ScriptError(Error(
                        b"MISCONF Redis is configured to save RDB snapshots, but it's currently unable to "
                        b"persist to disk. Writable scripts are blocked. Use 'no-writes' flag for read only "
                        b"scripts."))
                raise ScriptError(Error(
                    b"MISCONF Redis is configured to persist data to AOF, but it's currently unable to "
                    b"persist to disk. Writable scripts are blocked. Use 'no-writes' flag for read only "
                    b"scripts. AOF error: " + text.rpartition(b": ")[2]))
            if ro:
                raise ScriptError(Error(b"ERR Can not execute a script with write flag using *_ro command."))
        if not flags & (ALLOW_OOM | NO_WRITES) and server.eviction.limited:
            if server.eviction.check(caller, []) is not None:
                raise ScriptError(Error(b"OOM allow-oom flag is not set on the script, can not run it when "
                                        b"used memory > 'maxmemory'"))

    def execute(self, caller: Client, func: Any, name: bytes, flags: int, ro: bool,
                nkeys: int, params: tuple[bytes, ...] | list[bytes], eval_mode: bool, vm: LuaVM | None = None,
                argv: list[bytes] | None = None) -> object:
        """Run ``func`` for ``caller`` and return the reply (Redis's luaCallFunction).

        ``params`` holds the keys (its first ``nkeys``) then the arguments: they go to Lua as
        they came, split into KEYS and ARGV there (no lists built here)."""
        if self.run is not None:  # a script reached EVAL through a hook: never nested
            return Error(b"ERR Can not run a script while another script is running")
        if flags & EVAL_COMPAT:
            allow_oom = False
        else:
            self.check_flags(caller, flags, ro)
            ro = ro or bool(flags & NO_WRITES)
            allow_oom = bool(flags & ALLOW_OOM)
        server = self.server
        client = self.client
        # One Run, reset for each script (building one costs more than the script's own work
        # on the common path); nothing holds it after its run, and runs never nest (above).
        run = self.spare_run
        run.caller = caller
        run.name = name  # the SHA of an EVAL script, the name of a function
        run.read_only = ro
        run.allow_oom = allow_oom
        run.eval_mode = eval_mode
        run.timed_out = False
        run.killed = None
        run.dirty = False
        # (run.repl is back to PROPAGATE_ALL: the end of the previous run restored it)
        # Standing state no command in a script can change (ACL, CONFIG, saves are refused there).
        run.guarded = (ro or server.acl.restricted or server.persistence.write_block is not None
                       or server.eviction.limited)
        run.argv = argv  # the FCALL that started it (FUNCTION STATS); None for EVAL
        client.id = caller.id
        client.db = caller.db
        client.user = caller.user
        client.tracking = caller.tracking  # keys the script reads are tracked for the caller
        client.resp = 2
        client.in_multi = False
        self.run = run
        if vm is None:
            vm = self.vm  # (self.active already: it is set back after each run)
        else:
            self.active = vm
        effects = server.effects
        # With no consumer (no AOF, no replica) there is nothing to gather, and none can appear
        # while a script runs (the commands that add one are refused in scripts, and others
        # wait for the event loop): the unit is skipped.
        unit = effects.active
        reply: object = None
        try:
            # One execution unit: the script's writes go out together (MULTI/EXEC around
            # several), and the EVAL/FCALL itself is never logged. (Effects.unit spelled out:
            # a context manager costs a microsecond per script.)
            if unit:
                effects.begin_unit(caller)
            run.start = monotonic()
            try:
                # The value, or (False, error) when the script raised (sandbox.run).
                if nkeys == 1 and eval_mode:
                    value = vm.eval1(func, *params)
                else:
                    value = vm.run(func, not eval_mode, nkeys, *params)
                cls = value.__class__
                if cls is bytes or cls is int:
                    # Common replies, as from_lua and finish leave them. (An int from lupa
                    # always fits 64 bits: Lua 5.1's numbers are doubles, and lupa makes an
                    # int only of a double its lua_Integer cast keeps exactly.)
                    reply = value
                elif cls is tuple:
                    reply = self._error_reply(run, value[1])
                elif cls is float:
                    reply = convert.lua_int(value)
                else:
                    reply = convert.finish(convert.from_lua(vm.shape, value, client.resp == 3),
                                           caller.resp == 3)
            except Exception as exc:  # lupa: out of memory, or an error outside the protected call
                reply = Error(b"ERR Error running script %b, %b" % (name, str(exc).encode()[:100]))
            finally:
                if run.repl != PROPAGATE_ALL:  # redis.set_repl lasts for this run only
                    run.repl = PROPAGATE_ALL
                    effects.muted = False
                if unit:
                    effects.end_unit()
        finally:
            self.active = self.vm
            self.runs += 1
            if (reply.__class__ is Error or not self.runs % 64) and vm.memory() > LUA_COLLECT_ABOVE:
                # A script that ran out of memory leaves its garbage: collect it now, or the
                # next allocation outside a protected call would abort the process.
                vm.collect_garbage()
            self.run = None
            run.caller = client  # the spare keeps no disconnected client alive
            if run.timed_out:  # asyncio takes over the connections accepted meanwhile
                self.held.release()
        return reply

    def _error_reply(self, run: Run, value: Any) -> Error:
        """The reply for a script that raised: Redis's "... script: <name>, on <source>:<line>."."""
        info = self.active.err_info(value)
        if info is None:
            text = value if isinstance(value, bytes) else b"execution failure"
            if not isinstance(value, bytes) and isinstance(value, (int, float)):
                text = str(value).encode()
            return Error(b"ERR Error running script %b, %b" % (run.name, text[:100]))
        msg, source, line = info[1], info[2], info[3]
        if isinstance(msg, (int, float)):
            msg = b"%.14g" % msg
        if not isinstance(msg, bytes):
            msg = b"(null)"
        if source is not None and line is not None:
            if isinstance(line, (int, float)):
                line = b"%d" % line
            msg = b"%b script: %b, on %b:%b." % (msg, run.name, source, line)
        error = Error(msg)
        error.counted = info[4] is True  # raised by redis.call: counted in INFO errorstats already
        return error

    # ------------------------------------------------------------------ redis.* callbacks

    def _call_noraise(self, *args: Any) -> Any:
        """``redis.pcall``: the reply, or the error as a ``{err=...}`` table."""
        try:
            return self._call(*args)
        except CallError as exc:
            return exc.table

    @staticmethod
    def _unwrap_error(exc: object, src: bytes | None = None, line: int | None = None) -> Any:
        """The Lua error value for an exception raised by a Python callback (None: not ours)."""
        if isinstance(exc, CallError):
            return exc.table
        if isinstance(exc, LibError):
            if src is not None and line is not None:
                return b"%b:%d: %b" % (src, line, exc.message)
            return exc.message
        return None

    def _call(self, *args: Any) -> Any:
        """``redis.call`` (and, through ``_call_noraise``, ``redis.pcall``): Redis's
        luaRedisGenericCommand and scriptCall. Lua calls it directly (no wrapper: one
        Python call per ``redis.call``).

        The reply as a Lua value; a refusal or an error reply raises CallError with its table."""
        run = self.run
        # The usual call, string arguments naming a plain command by its lower or upper case
        # name with a count its arity allows, skips ``_checked_command``'s checks: the
        # ``script_commands`` table holds only commands that pass them.
        for arg in args:
            if arg.__class__ is not bytes:  # numbers become their text; anything else is refused
                cmd = None
                break
        else:
            cmd = self.script_commands.get(args[0]) if args else None
        n = len(args)
        if cmd is None or run is None or n < cmd.min_args or n > cmd.max_args:
            run, cmd, argv = self._checked_command(args)
        else:
            argv = [*args]  # (a display: no global look-up and call, as list() has)
        client = run.client
        if run.guarded:  # ACL rules, a read-only script, a failed save or a memory limit to apply
            self._guard(run, cmd, argv)
        if cmd.is_write:
            run.dirty = True
        reply = call(client, cmd, argv)
        cls = reply.__class__
        if cls is int or cls is bytes:
            return reply
        if isinstance(reply, Blocked):
            reply = reply.on_timeout(client)
        if isinstance(reply, Error):
            # counted by ``call`` already: flagged, the script's reply does not count it again
            raise CallError(self.active.runtime.table_from({b"err": convert.error_text(b"-" + reply.message),
                                                            b"ignore_error_stats_update": True}))
        return convert.to_lua(self.active.runtime, reply, client.resp == 3)

    def _checked_command(self, args: tuple[Any, ...]) -> tuple[Run, Command, list[bytes]]:
        """The run, command and arguments of a ``redis.call`` outside ``script_commands``, or
        the refusal raised, with Redis's checks in its order."""
        run = self.run
        if run is None:
            raise self._raise(b"ERR redis.call/pcall can only be called inside a script invocation")
        argv = list(args)
        for arg in args:
            if arg.__class__ is not bytes:  # numbers become their text; anything else is refused
                argv = self._call_args(args)
                break
        if not argv:
            raise self._raise(b"ERR Please specify at least one argument for this redis lib call")
        cmd = LOOKUP.get(argv[0])
        if cmd is None:
            cmd = TABLE.get(argv[0].lower())
        if cmd is not None and cmd.subcommands and len(argv) >= 2:
            cmd = cmd.subcommands.get(argv[1].lower())
        if cmd is None:
            raise self._reject(b"ERR Unknown Redis command called from script")
        if not cmd.min_args <= len(argv) <= cmd.max_args:
            raise self._reject(b"ERR Wrong number of args calling Redis command from script", cmd)
        if "noscript" in cmd.flags:
            raise self._reject(b"ERR This Redis command is not allowed from script", cmd)
        return run, cmd, argv

    def _guard(self, run: Run, cmd: Command, argv: list[bytes]) -> None:
        """The refusals of Redis's scriptCall, in its order: ACL, read-only script, MISCONF, OOM."""
        server = self.server
        client = run.client
        acl = server.acl
        if acl.restricted:
            user = acl.users.get(client.user)
            denied = ("command", cmd.name) if user is None else acl.denial(user, cmd, argv)
            if denied is not None:
                why, obj = denied
                # ACL LOG: the caller's connection, in the "lua" context, as Redis logs it.
                acl.record(run.caller, why, "lua", obj, client.user)
                if why == "key":
                    reason = b"can't access at least one of the keys mentioned in the command arguments"
                elif why == "channel":
                    reason = b"can't publish to the channel mentioned in the command"
                else:
                    reason = b"can't run this command or subcommand"
                raise self._reject(b"ERR The user executing the script " + reason, cmd)
        writes = cmd.is_write
        if run.read_only and (writes or "may_replicate" in cmd.flags):
            raise self._reject(b"ERR Write commands are not allowed from read-only scripts.", cmd)
        block = server.persistence.write_block
        if writes and not run.dirty and block is not None:
            raise self._reject(convert.error_text(b"-" + block.message), cmd)
        if (cmd.denyoom and not run.allow_oom and not run.dirty and server.eviction.limited
                and server.eviction.check(run.caller, []) is not None):
            raise self._reject(OOM_IN_SCRIPT, cmd)

    def _call_args(self, args: tuple[Any, ...]) -> list[bytes]:
        """``redis.call``'s arguments as bytes: numbers as Lua prints them with %.17g."""
        argv: list[bytes] = []
        for arg in args:
            cls = arg.__class__
            if cls is bytes:
                argv.append(arg)
            elif cls is int or cls is float:
                argv.append(b"%.17g" % arg)
            else:
                raise self._raise(b"ERR Lua redis lib command arguments must be strings or integers")
        return argv

    def _raise(self, text: bytes) -> CallError:
        return CallError(self.active.runtime.table_from({b"err": text}))

    def _reject(self, text: bytes, cmd: Command | None = None) -> CallError:
        """A command redis.call refused (Redis's scriptCall errors): counted in INFO errorstats and
        the command's rejected_calls now, and flagged so that the script's reply does not count it again."""
        self.server.stats.count_error(text)
        if cmd is not None:
            cmd.rejected_calls += 1
        return CallError(self.active.runtime.table_from({b"err": text, b"ignore_error_stats_update": True}))

    def _sha1hex(self, *args: Any) -> bytes:
        if len(args) != 1:
            raise self._raise(b"ERR wrong number of arguments")
        value = args[0]
        if value.__class__ in (int, float):
            value = b"%.14g" % value
        elif not isinstance(value, bytes):
            value = b""
        return sha1hex(value)

    def _random(self, *args: Any) -> float:
        """Redis's math.random over its lrand48."""
        r = self.rand.next()
        if not args:
            return r
        if len(args) == 1:
            upper = _check_int(args, 0)
            if upper < 1:
                raise LibError(b"bad argument #1 to 'random' (interval is empty)")
            return float(math.floor(r * upper) + 1)
        if len(args) == 2:
            low, upper = _check_int(args, 0), _check_int(args, 1)
            if low > upper:
                raise LibError(b"bad argument #2 to 'random' (interval is empty)")
            return float(math.floor(r * (upper - low + 1)) + low)
        raise LibError(b"wrong number of arguments")

    def _randomseed(self, *args: Any) -> None:
        self.rand.seed(_check_int(args, 0))

    def _setresp(self, *args: Any) -> None:
        run = self.run
        if run is None:
            raise self._raise(b"ERR redis.setresp can only be called inside a script invocation")
        if len(args) != 1:
            raise self._raise(b"ERR redis.setresp() requires one argument.")
        resp = _lua_number(args[0])
        if resp not in (2, 3):
            raise self._raise(b"ERR RESP version must be 2 or 3.")
        run.client.resp = int(resp)

    def _set_repl(self, *args: Any) -> None:
        run = self.run
        if run is None:
            raise self._raise(b"ERR redis.set_repl can only be called inside a script invocation")
        if len(args) != 1:
            raise self._raise(b"ERR redis.set_repl() requires two arguments.")
        flags = int(_lua_number(args[0]))
        if flags & ~(PROPAGATE_AOF | PROPAGATE_REPL):
            raise self._raise(b"ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.")
        run.repl = flags
        self.server.effects.muted = not flags & PROPAGATE_AOF

    def _log(self, *args: Any) -> None:
        if len(args) < 2:
            raise self._raise(b"ERR redis.log() requires two arguments or more.")
        if args[0].__class__ not in (int, float) and not _numeric(args[0]):
            raise self._raise(b"ERR First argument must be a number (log level).")
        level = int(_lua_number(args[0]))
        if level not in LOG_LEVELS:
            raise self._raise(b"ERR Invalid debug level.")
        name = LOG_LEVELS[level]
        if level < VERBOSITY.get(str(self.server.config["loglevel"]), 2):
            return
        parts = []
        for arg in args[1:]:
            if arg.__class__ is bytes:
                parts.append(arg)
            elif arg.__class__ in (int, float):
                parts.append(b"%.14g" % arg)
        self.server.log(name, b" ".join(parts).decode("utf-8", "replace"))

    def _acl_check_cmd(self, *args: Any) -> bool:
        run = self.run
        if run is None:
            raise self._raise(b"ERR redis.acl_check_cmd can only be called inside a script invocation")
        if not args:
            raise self._raise(b"ERR Please specify at least one argument for this redis lib call")
        argv = []
        for arg in args:
            if arg.__class__ is bytes:
                argv.append(arg)
            elif arg.__class__ in (int, float):
                argv.append(b"%.17g" % arg)
            else:
                raise self._raise(b"ERR Lua redis lib command arguments must be strings or integers")
        cmd = LOOKUP.get(argv[0]) or TABLE.get(argv[0].lower())
        if cmd is not None and cmd.subcommands and len(argv) >= 2:
            cmd = cmd.subcommands.get(argv[1].lower())
        if cmd is None:
            raise self._raise(b"ERR Invalid command passed to redis.acl_check_cmd()")
        acl = self.server.acl
        return not acl.restricted or acl.check(run.caller, cmd, argv) is None

    def _register_function(self, *args: Any) -> None:
        if self.register_hook is None:
            raise self._raise(b"ERR redis.register_function can only be called on FUNCTION LOAD command")
        self.register_hook(*args)

    # ------------------------------------------------------------------ busy scripts

    def _hook(self) -> bytes | None:
        """Every HOOK_EVERY instructions: past the threshold, serve the others; a kill verdict."""
        run = self.run
        if run is None:
            deadline = self.load_deadline
            if deadline is not None and time.monotonic() > deadline:
                return b"ERR FUNCTION LOAD timeout"
            return None
        if run.killed is not None:
            return run.killed
        if not run.timed_out:
            threshold = self.busy_threshold()
            if threshold <= 0:
                return None
            elapsed = (time.monotonic() - run.start) * 1000
            if elapsed < threshold:
                return None
            run.timed_out = True
            self.server.log(
                "warning",
                f"Slow script detected: still in execution after {int(elapsed)} milliseconds. You can try "
                f"killing the script using the {'SCRIPT KILL' if run.eval_mode else 'FUNCTION KILL'} command. "
                f"Script name is: {run.name.decode('utf-8', 'replace')}.")
        self.held.poll(run.caller)
        return run.killed

    def busy_threshold(self) -> int:
        """``busy-reply-threshold`` (alias ``lua-time-limit``) in milliseconds."""
        value = self.server.config["busy-reply-threshold"]
        return value if isinstance(value, int) else 5000

    def busy_error(self) -> Error:
        run = self.run
        return BUSY_EVAL if run is None or run.eval_mode else BUSY_FUNCTION

    def kill(self, is_eval: bool) -> object:
        """SCRIPT KILL / FUNCTION KILL (Redis's scriptKill)."""
        run = self.run
        if run is None:
            return NOTBUSY
        if run.dirty:
            return UNKILLABLE
        if is_eval and not run.eval_mode:
            return BUSY_FUNCTION
        if not is_eval and run.eval_mode:
            return BUSY_EVAL
        self.server.log("warning", "Lua script killed by user with %s." % ("SCRIPT KILL" if is_eval else "FUNCTION KILL"))
        run.killed = b"ERR Script killed by user with SCRIPT KILL..."  # Redis's text for both
        from server.protocol import OK
        return OK


def _check_int(args: tuple, i: int) -> int:
    """luaL_checkint: a number (or numeric string) truncated to an integer."""
    if i >= len(args):
        raise LibError(b"bad argument #%d to 'random' (number expected, got no value)" % (i + 1))
    value = args[i]
    if value.__class__ not in (int, float):
        try:
            value = float(value) if isinstance(value, bytes) else None
        except ValueError:
            value = None
        if value is None:
            kind = "boolean" if isinstance(args[i], bool) else "string" if isinstance(args[i], bytes) else "table"
            raise LibError(b"bad argument #%d to 'random' (number expected, got %s)" % (i + 1, kind.encode()))
    if math.isnan(value) or math.isinf(value):
        return LLONG_MIN_INT
    return int(value)


LLONG_MIN_INT = -(1 << 31)


def _numeric(value: Any) -> bool:
    """lua_isnumber for a string argument."""
    if not isinstance(value, bytes):
        return False
    try:
        float(value)
    except ValueError:
        return False
    return True


def _lua_number(value: Any) -> float:
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, bytes):
        try:
            return float(value)
        except ValueError:
            return 0
    return 0


def _version_num(version: str) -> int:
    parts = [int(p) for p in version.split(".")[:3] if p.isdigit()]
    while len(parts) < 3:
        parts.append(0)
    return (parts[0] << 16) | (parts[1] << 8) | parts[2]
