"""FUNCTION libraries (functions.c and function_lua.c in Redis 7.0).

A library is Lua code with a ``#!lua name=<lib>`` first line. FUNCTION LOAD runs the
code once, in a separate Lua state, with only ``redis.register_function``,
``redis.log`` and the version fields in reach (past 500 ms it is stopped); the
callbacks it registers run later through FCALL with the full API, their keys and
arguments as parameters. The registry keeps libraries in load order.

The same code is what persistence stores: one RDB_OPCODE_FUNCTION2 record per
library (in RDB files, AOF preambles and FUNCTION DUMP payloads).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from server.glob import glob_match
from server.persistence import rdb
from server.persistence.crc64 import crc64
from server.protocol import Error
from server.scripting.engine import (
    ALLOW_CROSS_SLOT,
    ALLOW_OOM,
    ALLOW_STALE,
    NO_CLUSTER,
    NO_WRITES,
    CallError,
    Engine,
    LuaVM,
)

if TYPE_CHECKING:
    from server.instance import Server

LOAD_TIMEOUT = 0.5  # seconds a library's code may run at FUNCTION LOAD (Redis's LOAD_TIMEOUT_MS)
BAD_NAME = (b"Library names can only contain letters, numbers, or underscores(_) and must be at least "
            b"one character long")
# Flag names in Redis's order (FUNCTION LIST reports them in it).
FLAG_ORDER = [(NO_WRITES, b"no-writes"), (ALLOW_OOM, b"allow-oom"), (ALLOW_STALE, b"allow-stale"),
              (NO_CLUSTER, b"no-cluster"), (ALLOW_CROSS_SLOT, b"allow-cross-slot-keys")]


class LoadError(Exception):
    """A library could not be created; ``message`` is Redis's text (without the ERR code)."""

    def __init__(self, message: bytes):
        super().__init__(message)
        self.message = message


@dataclass
class Function:
    name: bytes
    callback: Any
    description: bytes | None
    flags: int
    library: Library | None = None


@dataclass
class Library:
    name: bytes
    code: bytes  # the whole payload, shebang included (what FUNCTION LIST WITHCODE and the RDB hold)
    functions: dict[bytes, Function] = field(default_factory=dict)


def _valid_name(name: bytes) -> bool:
    return bool(name) and all(c == 95 or 48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122 for c in name)


def parse_metadata(code: bytes) -> tuple[bytes, bytes, bytes]:
    """(engine, library name, code after the shebang) — Redis's functionExtractLibMetaData."""
    if not code.startswith(b"#!"):
        raise LoadError(b"Missing library metadata")
    end = code.find(b"\n")
    if end < 0:
        raise LoadError(b"Invalid library metadata")
    parts = code[:end].split()
    if not parts:
        raise LoadError(b"Invalid library metadata")
    engine = parts[0][2:]
    name: bytes | None = None
    for part in parts[1:]:
        if part[:5].lower() == b"name=":
            if name is not None:
                raise LoadError(b"Invalid metadata value, name argument was given multiple times")
            name = part[5:]
            continue
        raise LoadError(b"Invalid metadata value given: " + part)
    if name is None:
        raise LoadError(b"Library name was not given")
    return engine, name, code[end:]


class Registry:
    """The loaded libraries and their functions."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.vm: LuaVM = engine.new_function_vm()
        self.libraries: dict[bytes, Library] = {}
        self.functions: dict[bytes, Function] = {}
        self._loading: Library | None = None

    # ------------------------------------------------------------------ creating libraries

    def create(self, code: bytes, timeout: float | None = LOAD_TIMEOUT) -> Library:
        """Compile and run a library's code; the new library (not yet linked)."""
        engine_name, name, body = parse_metadata(code)
        if not _valid_name(name):
            raise LoadError(BAD_NAME)
        if engine_name.lower() != b"lua":
            raise LoadError(b"Engine '%b' not found" % engine_name)
        library = Library(name, code)
        vm = self.vm
        ok, chunk = vm.compile(body, b"@user_function", vm.function_env)
        if not ok:
            raise LoadError(b"Error compiling function: " + chunk)
        engine = self.engine
        engine.register_hook = self._register
        engine.active = vm
        engine.load_deadline = None if timeout is None else time.monotonic() + timeout
        self._loading = library
        vm.load_mode(True)
        try:
            value = vm.run(chunk, True, 0)  # (false, error) on failure, see sandbox.run
        finally:
            vm.load_mode(False)
            engine.register_hook = None
            engine.load_deadline = None
            engine.active = engine.vm
            self._loading = None
        if value.__class__ is tuple:
            info = vm.err_info(value[1])
            msg = info[1] if info is not None and isinstance(info[1], bytes) else b"execution failure"
            raise LoadError(b"Error registering functions: " + msg)
        if not library.functions:
            raise LoadError(b"No functions registered")
        return library

    def _register(self, *args: Any) -> None:
        """``redis.register_function`` while a library loads (Redis's luaRegisterFunction)."""
        library = self._loading
        engine = self.engine
        if library is None:
            raise engine._raise(b"ERR redis.register_function can only be called on FUNCTION LOAD command")
        if len(args) < 1 or len(args) > 2:
            raise engine._raise(b"ERR wrong number of arguments to redis.register_function")
        lua_type = self.vm.runtime.eval("type")
        description: bytes | None = None
        flags = 0
        if len(args) == 1:
            named = args[0]
            if lua_type(named) != b"table":
                raise engine._raise(b"ERR calling redis.register_function with a single argument is only "
                                    b"applicable to Lua table (representing named arguments).")
            name: bytes | None = None
            callback = None
            for key, value in named.items():
                if not isinstance(key, (bytes, int, float)):
                    raise engine._raise(b"ERR named argument key given to redis.register_function is not a string")
                low = key.lower() if isinstance(key, bytes) else b""
                if low == b"function_name":
                    if not isinstance(value, (bytes, int, float)):
                        raise engine._raise(
                            b"ERR function_name argument given to redis.register_function must be a string")
                    name = value if isinstance(value, bytes) else b"%.14g" % value
                elif low == b"description":
                    if not isinstance(value, (bytes, int, float)):
                        raise engine._raise(
                            b"ERR description argument given to redis.register_function must be a string")
                    description = value if isinstance(value, bytes) else b"%.14g" % value
                elif low == b"callback":
                    if lua_type(value) != b"function":
                        raise engine._raise(
                            b"ERR callback argument given to redis.register_function must be a function")
                    callback = value
                elif low == b"flags":
                    if lua_type(value) != b"table":
                        raise engine._raise(b"ERR flags argument to redis.register_function must be a table "
                                            b"representing function flags")
                    flags = self._read_flags(value)
                else:
                    raise engine._raise(b"ERR unknown argument given to redis.register_function")
            if name is None:
                raise engine._raise(b"ERR redis.register_function must get a function name argument")
            if callback is None:
                raise engine._raise(b"ERR redis.register_function must get a callback argument")
        else:
            first, callback = args
            if not isinstance(first, (bytes, int, float)):
                raise engine._raise(b"ERR first argument to redis.register_function must be a string")
            name = first if isinstance(first, bytes) else b"%.14g" % first
            if lua_type(callback) != b"function":
                raise engine._raise(b"ERR second argument to redis.register_function must be a function")
        if not _valid_name(name):
            raise engine._raise(b"ERR " + BAD_NAME)
        if name.lower() in library.functions:
            raise engine._raise(b"ERR Function already exists in the library")
        library.functions[name.lower()] = Function(name, callback, description, flags, library)

    def _read_flags(self, table: Any) -> int:
        flags = 0
        i = 1
        while True:
            value = table[i]
            if value is None:
                return flags
            if not isinstance(value, (bytes, int, float)):
                raise self.engine._raise(b"ERR unknown flag given")
            text = value.lower() if isinstance(value, bytes) else b"%.14g" % value
            for bit, flag_name in FLAG_ORDER:
                if text == flag_name:
                    flags |= bit
                    break
            else:
                raise self.engine._raise(b"ERR unknown flag given")
            i += 1

    # ------------------------------------------------------------------ linking

    # Library and function names are case-insensitive, as in Redis: the dicts are keyed by lower case.

    def link(self, library: Library) -> None:
        self.libraries[library.name.lower()] = library
        for function in library.functions.values():
            self.functions[function.name.lower()] = function

    def unlink(self, library: Library) -> None:
        self.libraries.pop(library.name.lower(), None)
        for function in library.functions.values():
            self.functions.pop(function.name.lower(), None)

    def load(self, code: bytes, replace: bool, timeout: float | None = LOAD_TIMEOUT) -> bytes:
        """FUNCTION LOAD (Redis's functionsCreateWithLibraryCtx): the library's name."""
        engine_name, name, _ = parse_metadata(code)
        if not _valid_name(name):
            raise LoadError(BAD_NAME)
        if engine_name.lower() != b"lua":
            raise LoadError(b"Engine '%b' not found" % engine_name)
        old = self.libraries.get(name.lower())
        if old is not None and not replace:
            raise LoadError(b"Library '%b' already exists" % name)
        library = self.create(code, timeout)
        if old is not None:
            self.unlink(old)
        for fname, function in library.functions.items():
            if fname in self.functions:
                if old is not None:
                    self.link(old)
                raise LoadError(b"Function %b already exists" % function.name)
        self.link(library)
        return library.name

    def flush(self) -> None:
        self.libraries.clear()
        self.functions.clear()
        self.vm = self.engine.new_function_vm()

    def stats(self) -> tuple[int, int, int, int]:
        code = sum(len(lib.code) for lib in self.libraries.values())
        return len(self.functions), len(self.libraries), self.vm.memory(), code + 200 * len(self.functions)

    # ------------------------------------------------------------------ dump and restore

    def codes(self) -> list[bytes]:
        return [lib.code for lib in self.libraries.values()]

    def dump(self) -> bytes:
        """FUNCTION DUMP: a FUNCTION2 record per library, the RDB version, a CRC-64."""
        body = b"".join(b"\xf5" + rdb.encode_string(code) for code in self.codes())
        body += rdb.RDB_VERSION.to_bytes(2, "little")
        return body + crc64(0, body).to_bytes(8, "little")

    def restore(self, payload: bytes, policy: bytes) -> None:
        """FUNCTION RESTORE with FLUSH, APPEND or REPLACE (Redis's libraryJoin)."""
        if not rdb.verify_payload(payload):
            raise LoadError(b"DUMP payload version or checksum are wrong")
        reader = rdb.Reader(payload[:-10])
        created: list[Library] = []
        names: set[bytes] = set()
        functions: set[bytes] = set()
        try:
            while reader.pos < len(payload) - 10:
                kind = reader.byte()
                if kind not in (rdb.OP_FUNCTION2, rdb.OP_FUNCTION_PRE_GA):
                    raise LoadError(b"given type is not a function")
                code = reader.string()
                library = self.create(code, None)
                if library.name.lower() in names:
                    raise LoadError(b"Library %b already exists" % library.name)
                for fname, function in library.functions.items():
                    if fname in functions:
                        raise LoadError(b"Function %b already exists" % function.name)
                    functions.add(fname)
                names.add(library.name.lower())
                created.append(library)
        except rdb.RDBError as exc:
            raise LoadError(b"failed loading the given functions payload") from exc
        if policy == b"flush":
            self.libraries.clear()
            self.functions.clear()
        else:
            replaced: list[Library] = []
            for library in created:
                old = self.libraries.get(library.name.lower())
                if old is not None:
                    if policy != b"replace":
                        for back in replaced:
                            self.link(back)
                        raise LoadError(b"Library %b already exists" % library.name)
                    self.unlink(old)
                    replaced.append(old)
            for library in created:
                for fname, function in library.functions.items():
                    if fname in self.functions:
                        for back in replaced:
                            self.link(back)
                        raise LoadError(b"Function %b already exists" % function.name)
        for library in created:
            self.link(library)

    # ------------------------------------------------------------------ FUNCTION LIST

    def listing(self, pattern: bytes | None, with_code: bool) -> list[object]:
        from server.protocol import RespSet, Status

        out: list[object] = []
        for library in self.libraries.values():
            if pattern is not None and not glob_match(pattern, library.name, nocase=True):
                continue
            functions = []
            for function in library.functions.values():
                flags = RespSet([Status(flag_name) for bit, flag_name in FLAG_ORDER if function.flags & bit])
                functions.append({b"name": function.name, b"description": function.description, b"flags": flags})
            entry: dict[bytes, object] = {b"library_name": library.name, b"engine": b"LUA", b"functions": functions}
            if with_code:
                entry[b"library_code"] = library.code
            out.append(entry)
        return out


def registry(server: Server) -> Registry:
    """The server's function registry, created with the scripting engine."""
    engine = server.scripting
    assert engine is not None, "scripting is set up at start-up"
    found = engine.functions
    if found is None:
        found = Registry(engine)
        engine.functions = found
    assert isinstance(found, Registry)
    return found


def raise_error(exc: CallError | LoadError) -> Error:
    message = exc.message if isinstance(exc, LoadError) else b"internal error"
    return Error(b"ERR " + message)
