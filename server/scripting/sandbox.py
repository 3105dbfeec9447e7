"""The Lua state scripts run in, locked down the way Redis 7.0 locks its own.

Redis patches its Lua to make tables read-only; stock Lua 5.1 (lupa's) cannot, so
the same effect comes from proxies: scripts see an empty globals table whose
metatable reads through to the real globals and refuses every write ("Attempt to
modify a readonly table"), and reading a global that does not exist raises Redis's
"Script attempted to access nonexistent global variable". The libraries (string,
math, table, redis, cjson ...) are read-only proxies too. ``next``/``pairs``/
``rawget`` see through them, ``rawset`` on them fails as in Redis.

Nothing of Python is reachable: lupa's ``python`` module is removed, attribute
access on Python objects is refused (``attribute_handlers``), and the Python
callbacks live only as upvalues of internal Lua closures whose environment is an
empty table. ``debug`` is kept as a local for the error handler and the
instruction-count hook, then removed from the globals, as Redis does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lupa import lua51

# Lua's memory ceiling: a script that allocates without bound gets "not enough memory".
LUA_MAX_MEMORY = 512 << 20
# How often (in Lua instructions) the busy-script hook runs, as Redis's luaMaskCountHook.
HOOK_EVERY = 100000
INTERNAL = b"@redis_internal"

PRELUDE = rb"""
local py = ...
local dbg = debug
local _G0 = _G
local type, error, tostring, rawget, rawset, next, select, setmetatable, getmetatable =
      type, error, tostring, rawget, rawset, next, select, setmetatable, getmetatable
local loadstring, setfenv, xpcall, rawpcall, ipairs = loadstring, setfenv, xpcall, pcall, ipairs
local sethook, getinfo = dbg.sethook, dbg.getinfo
setfenv(1, {})

local real_of = setmetatable({}, {__mode = 'k'})   -- proxy -> the table it protects

local function readonly_error() error('Attempt to modify a readonly table', 2) end

local function protect(t)
  local proxy = {}
  real_of[proxy] = t
  local mt = {__index = t, __newindex = readonly_error}
  -- getmetatable() gives scripts a read-only view of the metatable, never the metatable itself.
  mt.__metatable = setmetatable({}, {__index = mt, __newindex = readonly_error, __metatable = false})
  return setmetatable(proxy, mt)
end
local function unwrap(t) return real_of[t] or t end

-- The real globals, and the proxy scripts see.
local R = {}
local G = protect(R)
setmetatable(R, {__index = function(_, k)
  error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
end})

-- Redis 7.0.15's globals: its allow list less getfenv, setfenv and newproxy, which it removes.
for _, name in ipairs({'xpcall', 'tostring', 'setmetatable', 'assert', 'tonumber',
    'rawequal', 'collectgarbage', 'getmetatable', 'coroutine', 'type', 'select', 'unpack', 'gcinfo',
    'ipairs', '_VERSION', 'error'}) do
  rawset(R, name, _G0[name])
end
rawset(R, '_G', G)
rawset(R, 'next', function(t, k) return next(unwrap(t), k) end)
rawset(R, 'pairs', function(t) return next, unwrap(t), nil end)
rawset(R, 'rawget', function(t, k) return rawget(unwrap(t), k) end)
rawset(R, 'rawset', function(t, k, v)
  if real_of[t] then error('Attempt to modify a readonly table', 0) end
  return rawset(t, k, v)
end)
rawset(R, 'loadstring', function(s, name)
  local f, e = loadstring(s, name)
  if f then setfenv(f, G) end
  return f, e
end)
rawset(R, 'load', function(fn, name)
  local f, e = _G0.load(fn, name)
  if f then setfenv(f, G) end
  return f, e
end)

-- pcall: an error raised as a table with a string 'err' field reaches the script as that string.
local unwrap_error = py.unwrap_error
local function fix_pcall(ok, ...)
  if ok then return ok, ... end
  local e = ...
  if type(e) == 'userdata' then
    local t = unwrap_error(e)
    if t ~= nil then e = t end
  end
  if type(e) == 'table' then
    local s = e.err
    if type(s) == 'string' or type(s) == 'number' then e = s end
  end
  return false, e
end
rawset(R, 'pcall', function(f, ...) return fix_pcall(rawpcall(f, ...)) end)

-- Redis's math.random: its own lrand48, so results follow redis-server's sequence.
local mathlib = {}
for k, v in next, _G0.math do mathlib[k] = v end
mathlib.random = py.random
mathlib.randomseed = py.randomseed
local stringlib = {}
for k, v in next, _G0.string do stringlib[k] = v end
local tablelib = {}
for k, v in next, _G0.table do tablelib[k] = v end
rawset(R, 'math', protect(mathlib))
rawset(R, 'string', protect(stringlib))
-- Strings' metatable is shared by every script: ('x'):upper() reads the library through it.
-- Scripts get a read-only view of it whose __index is the read-only ``string`` they see, so
-- neither the metatable nor the library behind it can be changed for later scripts
-- (Redis 7.0 makes both read-only tables).
local string_mt = getmetatable('')
string_mt.__index = stringlib
string_mt.__metatable = protect({__index = rawget(R, 'string')})
rawset(R, 'table', protect(tablelib))
rawset(R, 'coroutine', protect(_G0.coroutine))

-- Errors: Redis's error tables, {err='CODE message'}.
local function err_table(msg)
  return {err = msg}
end

-- The redis table.
local redis = {}
-- Python callables, called straight from scripts: as C functions are, they are never
-- tail-called away, so an error still points at the script's line.
redis.call = py.call
redis.pcall = py.pcall
redis.setresp = py.setresp
redis.set_repl = py.set_repl
redis.log = py.log
redis.acl_check_cmd = py.acl_check_cmd
redis.sha1hex = py.sha1hex
redis.error_reply = function(...)
  local s = ...
  if select('#', ...) ~= 1 or type(s) ~= 'string' then return err_table('ERR wrong number or type of arguments') end
  if s:sub(1, 1) ~= '-' then s = '-' .. s end
  return err_table(py.error_text(s))
end
redis.status_reply = function(...)
  local s = ...
  if select('#', ...) ~= 1 or type(s) ~= 'string' then return err_table('ERR wrong number or type of arguments') end
  return {ok = s}
end
redis.breakpoint = function() return false end
redis.debug = function() end
redis.replicate_commands = function() return true end
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL = 0, 1, 2, 2, 3
redis.REDIS_VERSION = py.version
redis.REDIS_VERSION_NUM = py.version_num
rawset(R, 'redis', protect(redis))
for _, name in ipairs({'cjson', 'cmsgpack', 'bit', 'struct'}) do
  local lib = py.libs[name]
  if lib then rawset(R, name, protect(lib)) end
end

-- The error handler: where the error happened (the script's line, not a C function or this file).
local function handler(e)
  local level = 2
  local i = getinfo(level, 'nSl')
  if type(e) == 'userdata' then
    -- raised by Python: a redis.call error table, or a library error that names its caller's line
    local where = i and i.what == 'C' and getinfo(3, 'Sl')
    local t
    if where and where.currentline > 0 then
      t = unwrap_error(e, where.short_src, where.currentline)
    else
      t = unwrap_error(e)
    end
    if t ~= nil then e = t end
  end
  while i and (i.what == 'C' or i.source == '@redis_internal') do
    level = level + 1
    i = getinfo(level, 'nSl')
  end
  if type(e) ~= 'table' then e = {err = 'ERR ' .. tostring(e)} end
  if i then
    e['source'] = i.source
    e['line'] = i.currentline
  end
  return e
end

rawset(R, '__redis__err__handler', handler)

local function compile(body, chunkname, env)
  local f, e = loadstring(body, chunkname)
  if not f then return false, e end
  setfenv(f, env or G)
  return true, f
end

local killed = {err = 'ERR Script killed by user with SCRIPT KILL...'}
local function kill_hook()
  local i = getinfo(2, 'S')
  if i and i.source ~= '@redis_internal' then error(killed) end
end
local pyhook = py.hook
local killed_mode = false
local function count_hook()
  local verdict = pyhook()
  if verdict then
    killed = {err = verdict}
    killed_mode = true
    sethook(kill_hook, 'l')
    error(killed)
  end
end

local hook_every = py.hook_every
-- After a killed run, the count hook again (kill_hook stopped it at the next line).
local function rearm()
  killed_mode = false
  sethook(count_hook, '', hook_every)
end
-- Run a script (KEYS and ARGV as globals) or a function callback (keys, args as parameters)
-- with the busy hook. Keys and arguments arrive as plain parameters, cheaper than two tables
-- built from Python. Returns the value on success, (false, error table) on failure: one
-- value is one Python object, no tuple to build and unpack on the usual path.
local function run(f, as_function, nkeys, ...)
  local keys, args
  -- The usual key counts straight from the varargs: two tables, not three.
  if nkeys == 0 then
    keys, args = {}, {...}
  elseif nkeys == 1 then
    keys, args = {(...)}, {select(2, ...)}
  else
    keys, args = {}, {}
    local n = select('#', ...)
    local all = {...}
    for i = 1, nkeys do keys[i] = all[i] end
    for i = nkeys + 1, n do args[i - nkeys] = all[i] end
  end
  if not as_function then
    R.KEYS, R.ARGV = keys, args  -- (R has no __newindex: plain stores, cheaper than rawset calls)
  end
  local ok, v
  if as_function then
    ok, v = xpcall(function() return f(keys, args) end, handler)
  else
    ok, v = xpcall(f, handler)
  end
  if killed_mode then rearm() end
  if ok then return v end
  return false, v
end
-- ``run`` for the commonest call, an EVAL script with one key (locks, counters, rate
-- limiters): no flag or key count to pass and test, no select().
local function eval1(f, key, ...)
  R.KEYS, R.ARGV = {key}, {...}
  local ok, v = xpcall(f, handler)
  if killed_mode then rearm() end
  if ok then return v end
  return false, v
end
-- The busy hook stays installed: it costs nothing between its calls, and py.hook decides.
sethook(count_hook, '', hook_every)

local function shape(t)
  if type(t) ~= 'table' then return 'nil' end
  local v = rawget(t, 'err')
  if type(v) == 'string' then return 'err', v, rawget(t, 'ignore_error_stats_update') == true end
  v = rawget(t, 'ok')
  if type(v) == 'string' then return 'ok', v end
  v = rawget(t, 'double')
  if type(v) == 'number' then return 'double', v end
  v = rawget(t, 'big_number')
  if type(v) == 'string' then return 'big_number', v end
  v = rawget(t, 'verbatim_string')
  if type(v) == 'table' then
    local fmt, s = rawget(v, 'format'), rawget(v, 'string')
    if type(fmt) == 'string' and type(s) == 'string' then return 'verbatim', {fmt, s} end
  end
  v = rawget(t, 'map')
  if type(v) == 'table' then
    local out, n = {}, 0
    for k, x in next, v do n = n + 1; out[n] = k; n = n + 1; out[n] = x end
    return 'map', out, n
  end
  v = rawget(t, 'set')
  if type(v) == 'table' then
    local out, n = {}, 0
    for k in next, v do n = n + 1; out[n] = k end
    return 'set', out, n
  end
  local out, n = {}, 0
  while true do
    local x = rawget(t, n + 1)
    if x == nil then break end
    n = n + 1
    out[n] = x
  end
  return 'array', out, n
end

-- Function libraries (FUNCTION LOAD) see, while their code runs, only a small API:
-- redis.register_function, redis.log and the version fields. Their callbacks later run with
-- the full globals. As in Redis, one environment switches between the two.
local missing = {__index = function(_, k)
  error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
end}
local load_redis = setmetatable({register_function = py.register_function, log = py.log,
  LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
  REDIS_VERSION = py.version, REDIS_VERSION_NUM = py.version_num}, missing)
local LIBAPI = setmetatable({redis = protect(load_redis)}, missing)
local FENV_MT = {__index = R, __newindex = readonly_error, __metatable = false}
local FENV = setmetatable({}, FENV_MT)
real_of[FENV] = R
local function load_mode(on)
  FENV_MT.__index = on and LIBAPI or R
end

local function err_info(e)
  if type(e) ~= 'table' then return nil end
  return {rawget(e, 'err'), rawget(e, 'source'), rawget(e, 'line'), rawget(e, 'ignore_error_stats_update') == true}
end

return {compile = compile, run = run, eval1 = eval1, shape = shape, globals = G, real = R, err_info = err_info,
        load_mode = load_mode, function_env = FENV}
"""


def _deny(*_args: object) -> Any:
    raise AttributeError("Python objects are not accessible from scripts")


def new_runtime(callbacks: dict[str, object]) -> tuple[Any, Any]:
    """A sandboxed Lua runtime and the table of its internal entry points."""
    runtime = lua51.LuaRuntime(
        encoding=None,
        register_eval=False,
        register_builtins=False,
        unpack_returned_tuples=True,
        attribute_handlers=(_deny, _deny),
        max_memory=LUA_MAX_MEMORY,
    )
    lua_globals = runtime.globals()
    loader: Callable[..., Any] = lua_globals.loadstring
    prelude = loader(PRELUDE, INTERNAL)
    from server.scripting import libs

    table = runtime.table_from({k.encode(): v for k, v in callbacks.items()})
    table[b"libs"] = runtime.table_from(libs.build(runtime))
    entry = prelude(table)
    # ``debug`` too: the prelude keeps what it needs of it as locals. (lupa also looks for
    # ``debug.traceback`` on every call from Python to use as the error handler: without it,
    # each call skips that look-up. Scripts run under their own handler in ``run``.)
    for name in (b"python", b"os", b"io", b"require", b"module", b"package", b"dofile", b"loadfile", b"print",
                 b"debug"):
        lua_globals[name] = None
    return runtime, entry
