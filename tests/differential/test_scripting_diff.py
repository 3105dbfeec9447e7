"""Lua scripting against redis-server, byte for byte: conversions, errors, the redis API, the libraries.

Each list runs in order on one connection to each server, in RESP2 and in RESP3 (``HELLO 3``:
the reply of a script follows the caller's protocol, ``redis.setresp`` the one the script reads).
Error texts include Redis 7.0's "script: <sha>, on @user_script:<line>." suffix.
"""

from __future__ import annotations

import pytest

ERRORS = [
    ("EVAL", "return x", 0),
    ("EVAL", "x = 1", 0),
    ("EVAL", "return redis.call('nosuch')", 0),
    ("EVAL", "return redis.call('get')", 0),
    ("EVAL", "return redis.call('set','a')", 0),
    ("EVAL", "return redis.pcall('incr','s')", 0),
    ("EVAL", "error('boom')", 0),
    ("EVAL", "error({err='MY boom'})", 0),
    ("EVAL", "return {err='MY boom'}", 0),
    ("EVAL", "return redis.error_reply('X y')", 0),
    ("EVAL", "return loadstring", 0),
    ("EVAL", "return os", 0),
    ("EVAL", "return print", 0),
    ("EVAL", "return redis.call('multi')", 0),
    ("EVAL", "string.x = 1", 0),
    ("EVAL", "return redis.call('eval','return 1', 0)", 0),
    ("EVAL", "return redis.call()", 0),
    ("EVAL", "return redis.call({})", 0),
    ("EVAL", "return redis.call('get', {})", 0),
    ("EVAL", "return debug", 0),
    ("EVAL", "return _G.x", 0),
    ("EVAL", "rawset(_G, 'x', 1)", 0),
    ("EVAL", "local ok, e = pcall(redis.call, 'incr', 's') return {tostring(ok), type(e), e}", 0),
    ("EVAL", "local ok, e = pcall(error, {err='X'}) return {tostring(ok), type(e)}", 0),
    ("EVAL", "local e = redis.pcall('incr', 's') return {type(e), e['err']}", 0),
    ("EVAL", "local ok, e = pcall(redis.call, 'nosuch') return e", 0),
    ("EVAL", "return redis.pcall('nosuch')", 0),
    ("EVAL", "return redis.error_reply()", 0),
    ("EVAL", "return redis.error_reply('-FOO')", 0),
    ("EVAL", "return redis.error_reply('')", 0),
    ("EVAL", "return {err=''}", 0),
    ("EVAL", "return {1, {2, 'x'}, {ok='y'}, {err='E z'}}", 0),
    ("EVAL", "return redis.debug('x')", 0),
    ("EVAL", "return redis.pcall('lpush', 'h', 'x')", 0),
    ("EVAL", "return {redis.pcall('lpush', 'h', 'x')}", 0),
    ("EVAL", "return redis.call('blpop', 'nolist', 0)", 0),
    ("EVAL", "return redis.call('subscribe', 'c')", 0),
    ("EVAL", "return pcall(function() x = 1 end)", 0),
    ("EVAL", "local ok, e = pcall(function() x = 1 end) return e", 0),
    ("EVAL", "local ok, e = pcall(function() return y end) return e", 0),
    ("EVAL", "return loadstring('return 1')()", 0),
    ("EVAL", "return loadstring('x = 1')()", 0),
    ("EVAL", "redis.call('set', 'q', 'v') error('after write')", 0),
    ("EVAL", "return redis.error_reply('E a\\nb')", 0),
    ("EVAL", "return {err='E a\\r\\nb'}", 0),
    ("EVAL", "error()", 0),
    ("EVAL", "error(nil)", 0),
    ("EVAL", "error(5)", 0),
    ("EVAL", "error('x', 0)", 0),
    ("EVAL", "error({err=5})", 0),
    ("EVAL", "return redis.acl_check_cmd('nosuch')", 0),
]

CONVERSIONS = [
    ("EVAL", "return redis.call('incr','a')", 0),
    ("SET", "s", "foo"),
    ("EVAL", "return redis.call('incr','s')", 0),
    ("EVAL", "retur 1", 0),
    ("EVAL", "return 1", -1),
    ("EVAL", "return 1", 2, "a"),
    ("EVAL", "return 1", "x"),
    ("EVAL", "return {1,2,nil,3}", 0),
    ("EVAL", "return 3.99", 0),
    ("EVAL", "return true", 0),
    ("EVAL", "return false", 0),
    ("EVAL", "return nil", 0),
    ("EVAL", "return {ok='a\\r\\nb'}", 0),
    ("EVAL", "return 1e20", 0),
    ("EVAL", "return -0.5", 0),
    ("EVAL", "return {double=1.5}", 0),
    ("EVAL", "return {map={a=1}}", 0),
    ("EVAL", "return {set={a=true}}", 0),
    ("EVAL", "return {big_number='123'}", 0),
    ("EVAL", "return {verbatim_string={format='txt', string='abc'}}", 0),
    ("EVAL", "return {verbatim_string={format='mkd', string='abc'}}", 0),
    ("EVAL", "return #KEYS .. #ARGV", 1, "k", "a", "b"),
    ("EVAL", "return redis.call('hset', 'h', 'a', 1, 'b', 2), redis.call('hgetall', 'h')", 0),
    ("EVAL", "return redis.call('hgetall', 'h')", 0),
    ("EVAL", "redis.setresp(3) return redis.call('hgetall', 'h')", 0),
    ("EVAL", "redis.setresp(3) return redis.call('get', 'nokey')", 0),
    ("EVAL", "redis.setresp(3) return {redis.call('get', 'nokey')}", 0),
    ("EVAL", "redis.setresp(3) return redis.call('zscore', 'z', 'a')", 0),
    ("EVAL", "redis.call('zadd', 'z', 1.5, 'a') redis.setresp(3) return redis.call('zscore', 'z', 'a')", 0),
    ("EVAL", "redis.setresp(3) local r = redis.call('zscore', 'z', 'a') return type(r) .. tostring(r.double)", 0),
    ("EVAL", "return redis.call('zscore', 'z', 'a')", 0),
    ("EVAL", "redis.setresp(3) return redis.call('smembers', 'nokey')", 0),
    ("EVAL", "redis.call('sadd', 'st', 'x') redis.setresp(3) local r = redis.call('smembers', 'st') return r", 0),
    ("EVAL", "redis.setresp(3) return true", 0),
    ("EVAL", "redis.setresp(3) return false", 0),
    ("EVAL", "redis.setresp(3) return nil", 0),
    ("EVAL", "return redis.call('ping')", 0),
    ("EVAL", "return redis.call('type', 'h')", 0),
    ("EVAL", "local t = redis.call('ping') return t.ok", 0),
    ("EVAL", "return redis.call('lpush', 'h', 'x')", 0),
    ("EVAL", "return redis.call('select', 1)", 0),
    ("EVAL", "return redis.call('set', 'n', 1.5)", 0),
    ("GET", "n"),
    ("EVAL", "return redis.call('set', 'n', 0.1)", 0),
    ("GET", "n"),
    ("EVAL", "return redis.call('set', 'n', 100)", 0),
    ("GET", "n"),
    ("EVAL", "return redis.call('set', 'n', true)", 0),
    ("EVAL", "return getmetatable('').__index.upper('x')", 0),
    ("EVAL", "local t = {} t[1] = t return 1", 0),
    ("EVAL", "return select('#', 1, 2)", 0),
    ("EVAL", "return tostring(1/0)", 0),
    ("EVAL", "return 1/0", 0),
    ("EVAL", "return 0/0", 0),
    ("EVAL", "return -1/0", 0),
    ("EVAL", "return {1, 2.9, -3.9, 'a', true, false, {}}", 0),
    ("EVAL", "return redis.call('get', KEYS[1])", 1, "s"),
    ("EVAL", "return redis.call('exists', 's', 'n')", 0),
    ("EVAL", "return redis.call('client', 'nosub')", 0),
    ("EVAL", "return redis.call('client')", 0),
    ("EVAL", "return redis.call('config', 'get', 'maxmemory')", 0),
    ("EVAL", "return redis.call('object', 'encoding', 's')", 0),
    ("EVAL", "return setmetatable", 0),
    ("GET", "q"),
    ("EVAL", "return unpack({1,2,3})", 0),
    ("EVAL", "return redis.call('get', 'nokey')", 0),
    ("EVAL", "return {redis.call('get', 'nokey')}", 0),
    ("EVAL", "return redis.call('hmget', 'nokey', 'a', 'b')", 0),
    ("EVAL", "return type(redis.call('get', 'nokey'))", 0),
]

API = [
    ("EVAL", "return redis.status_reply('FINE')", 0),
    ("EVAL", "return redis.setresp(4)", 0),
    ("EVAL", "redis.log(1)", 0),
    ("EVAL", "return redis.REDIS_VERSION .. redis.REDIS_VERSION_NUM", 0),
    ("EVAL", "return redis.sha1hex('')", 0),
    ("EVAL", "return redis.sha1hex()", 0),
    ("EVAL", "return redis.status_reply(1)", 0),
    ("EVAL", "return tostring(redis.breakpoint())", 0),
    ("EVAL", "return redis.replicate_commands()", 0),
    ("EVAL", "return redis.set_repl(5)", 0),
    ("EVAL", "return redis.set_repl()", 0),
    ("EVAL", "return redis.status_reply('a\\nb')", 0),
    ("EVAL", "return redis.acl_check_cmd('get', 'x')", 0),
    ("EVAL", "redis.log(redis.LOG_WARNING, 'hello', 'world')", 0),
    ("EVAL", "redis.log(9, 'hello')", 0),
    ("EVAL", "redis.log('x', 'hello')", 0),
]

LIBRARIES = [
    ("EVAL", "return cjson.encode({1,2,{a=1.5}})", 0),
    ("EVAL", "return cjson.encode(function() end)", 0),
    ("EVAL", "return bit.band()", 0),
    ("EVAL", "return struct.pack('>I', 1)", 0),
    ("EVAL", "return cmsgpack.pack({1,2,'a'})", 0),
    ("EVAL", "return cjson.encode({})", 0),
    ("EVAL", "return cjson.encode(0.1)", 0),
    ("EVAL", "return cjson.encode(1e300)", 0),
    ("EVAL", "return cjson.encode({[1]=1,[3]=3})", 0),
    ("EVAL", "return cjson.encode('a/\"\\1')", 0),
    ("EVAL", "return cjson.encode(cjson.null)", 0),
    ("EVAL", "return cjson.decode('[1,null,2]')[3]", 0),
    ("EVAL", "return bit.tohex(65535, -4) .. bit.bor(1, 2, 4) .. bit.lshift(1, 31) .. bit.tobit(2^32+5)", 0),
    ("EVAL", "return math.random(0)", 0),
    ("EVAL", "math.randomseed(7) return math.random(100)", 0),
    ("EVAL", "return tonumber('0x10')", 0),
    ("EVAL", "return #cmsgpack.pack({a=1})", 0),
    ("EVAL", "return cmsgpack.unpack(cmsgpack.pack({1,2,3}))", 0),
    ("EVAL", "local a, b = struct.unpack('>I2', '\\0\\5') return {a, b}", 0),
    ("EVAL", "return cjson.decode('{\"a\":[1,2,{\"b\":null}]}')['a'][2]", 0),
    ("EVAL", "return coroutine.wrap(function() coroutine.yield(5) end)()", 0),
    ("EVAL", "return string.format('%5.2f', 3.14159)", 0),
    ("EVAL", "return table.concat({1,2,3}, ',')", 0),
]

CACHE_AND_FLAGS = [
    ("EVALSHA", "abc", 0),
    ("EVALSHA", "0123456789012345678901234567890123456789", 0),
    ("SCRIPT", "LOAD", "return 1"),
    ("SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "E0E1F9FABFC9D4800C877A703B823AC0578FF8DB", "x"),
    ("EVALSHA", "E0E1F9FABFC9D4800C877A703B823AC0578FF8DB", 0),
    ("SCRIPT", "LOAD", "retur"),
    ("SCRIPT", "FLUSH", "x"),
    ("SCRIPT", "FLUSH"),
    ("SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"),
    ("SCRIPT", "KILL"),
    ("SCRIPT", "NOSUCH"),
    ("EVAL", "#!lua flags=no-writes\nreturn redis.call('set','x','1')", 0),
    ("EVAL", "#!lua flags=bad\nreturn 1", 0),
    ("EVAL", "#!lua\nreturn 1", 0),
    ("EVAL", "#!lua", 0),
    ("EVAL", "#!py\nreturn 1", 0),
    ("EVAL", "#!lua foo=bar\nreturn 1", 0),
    ("EVAL_RO", "return redis.call('set','x','1')", 0),
    ("EVAL_RO", "#!lua\nreturn redis.call('set','x','1')", 0),
    ("EVAL_RO", "return redis.call('get','x')", 0),
    ("EVAL", "#!lua\nerror('x')", 0),
]


SETUP = [("SET", "s", "foo"), ("HSET", "h", "a", "1", "b", "2"), ("ZADD", "z", "1.5", "a"), ("SADD", "st", "x")]


@pytest.mark.parametrize("resp", [2, 3])
@pytest.mark.parametrize("cases", [ERRORS, CONVERSIONS, API, LIBRARIES, CACHE_AND_FLAGS],
                         ids=["errors", "conversions", "api", "libraries", "cache_and_flags"])
def test_scripts_match_redis(ours, real, cases, resp):
    from tests.differential.harness import Differ

    differ = Differ(ours.port, real.port, resp=resp)
    try:
        differ.flush()
        differ.call("SCRIPT", "FLUSH", compare=False)
        for cmd in SETUP:
            differ.call(*cmd, compare=False)
        for cmd in cases:
            differ.check(*cmd)
    finally:
        differ.close()


def test_math_random_follows_redis_sequence(diff):
    diff.check("EVAL", "math.randomseed(42) return {math.random(100), math.random(1, 6), tostring(math.random())}", 0)
    diff.check("EVAL", "math.randomseed(-5) return {math.random(1000000), math.random(7)}", 0)
    diff.check("EVAL", "math.randomseed(42) return tostring(math.random())", 0)


def test_keys_and_argv(diff):
    diff.check("EVAL", "return {KEYS[1], KEYS[2], ARGV[1], ARGV[2], #KEYS, #ARGV}", 2, "k1", "k2", "a1", "a2")
    diff.check("EVAL", "return {#KEYS, #ARGV}", 0)
    diff.check("EVAL", "return ARGV", 0, "\x00\xff binary", "")
    diff.check("EVAL", "return redis.call('set', KEYS[1], ARGV[1])", 1, "bin\xfe", "\x00\x01\xff")
    diff.check("GET", "bin\xfe")
    diff.check("EVAL", "return redis.call('get', KEYS[1])", 1, "bin\xfe")
