"""FUNCTION and FCALL against redis-server, byte for byte, and libraries moving between the two servers
(FUNCTION DUMP/RESTORE payloads, RDB files with function records, in both directions).
"""

from __future__ import annotations

import time

import pytest
import redis

from tests.servers import OurServer, RealServer

CASES = [
    ("FUNCTION", "FLUSH"),
    ("FUNCTION", "LOAD", "#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return args[1] end)"),
    ("FCALL", "myfunc", 0, "hello"),
    ("FCALL", "MYFUNC", 0, "hello"),
    ("FCALL", "nosuch", 0),
    ("FCALL", "myfunc", -1),
    ("FCALL", "myfunc", 2, "a"),
    ("FCALL", "myfunc", "x"),
    ("FUNCTION", "LOAD", "#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return args[1] end)"),
    ("FUNCTION", "LOAD", "REPLACE", "#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return 'v2' end)"),
    ("FCALL", "myfunc", 0),
    ("FUNCTION", "LOAD", "#!lua name=other\nredis.register_function('myfunc', function() return 1 end)"),
    ("FUNCTION", "LOAD", "no shebang"),
    ("FUNCTION", "LOAD", "#!lua"),
    ("FUNCTION", "LOAD", "#!lua\nreturn 1"),
    ("FUNCTION", "LOAD", "#!lua name=a name=b\nreturn 1"),
    ("FUNCTION", "LOAD", "#!lua name=a foo=b\nreturn 1"),
    ("FUNCTION", "LOAD", "#!js name=a\nreturn 1"),
    ("FUNCTION", "LOAD", "#!lua name=bad-name\nreturn 1"),
    ("FUNCTION", "LOAD", "#!lua name=empty\nreturn 1"),
    ("FUNCTION", "LOAD", "#!lua name=syntax\nretur 1"),
    ("FUNCTION", "LOAD", "#!lua name=rt\nerror('boom')"),
    ("FUNCTION", "LOAD", "#!lua name=rt\nredis.call('set', 'x', 1)"),
    ("FUNCTION", "LOAD", "#!lua name=rt\nlocal x = string.format('%d', 1)"),
    ("FUNCTION", "LOAD", "#!lua name=rt\nfoo = 1"),
    ("FUNCTION", "LOAD", "#!lua name=rt\nredis.register_function()"),
    ("FUNCTION", "LOAD", "#!lua name=rt\nredis.register_function('f')"),
    ("FUNCTION", "LOAD", "#!lua name=rt\nredis.register_function('f', 1)"),
    ("FUNCTION", "LOAD", "#!lua name=rt\nredis.register_function({})"),
    ("FUNCTION", "LOAD", "#!lua name=rt\nredis.register_function({function_name='f'})"),
    ("FUNCTION", "LOAD", "#!lua name=rt\nredis.register_function({callback=function() end})"),
    ("FUNCTION", "LOAD", "#!lua name=rt\nredis.register_function({function_name='f', callback=function() end, flags={'bad'}})"),
    ("FUNCTION", "LOAD", "#!lua name=rt\nredis.register_function({function_name='f', callback=function() end, foo=1})"),
    ("FUNCTION", "LOAD", "#!lua name=rt\nredis.register_function('f', function() end) redis.register_function('f', function() end)"),
    ("FUNCTION", "LOAD", "#!lua name=rt\nredis.register_function('bad name', function() end)"),
    ("FUNCTION", "LOAD", "#!lua name=rt\nredis.register_function({function_name='f', callback=function() end, flags={'no-writes', 'ALLOW-OOM'}, description='desc'})"),
    ("FUNCTION", "LIST"),
    ("FUNCTION", "LIST", "WITHCODE"),
    ("FUNCTION", "LIST", "LIBRARYNAME", "rt"),
    ("FUNCTION", "LIST", "LIBRARYNAME", "R*"),
    ("FUNCTION", "LIST", "LIBRARYNAME"),
    ("FUNCTION", "LIST", "FOO"),
    ("FUNCTION", "LIST", "WITHCODE", "WITHCODE"), ("FUNCTION", "LIST", "LIBRARYNAME", "a", "LIBRARYNAME", "b"),
    ("FUNCTION", "LIST", "withcode", "libraryname", "rt"), ("FUNCTION", "LIST", "LIBRARYNAME", "rt", "WITHCODE", "x"),
    ("FCALL", "f", 0),
    ("FCALL_RO", "f", 0),
    ("FCALL_RO", "myfunc", 0),
    ("FUNCTION", "LOAD", "#!lua name=w\nredis.register_function{function_name='wr', callback=function(keys, args) return redis.call('set', keys[1], args[1]) end}"),
    ("FCALL", "wr", 1, "k", "v"),
    ("FCALL_RO", "wr", 1, "k", "v"),
    ("FUNCTION", "LOAD", "#!lua name=ro\nredis.register_function{function_name='ro', callback=function(keys, args) return redis.call('set', keys[1], args[1]) end, flags={'no-writes'}}"),
    ("FCALL", "ro", 1, "k", "v"),
    ("FUNCTION", "LOAD", "#!lua name=errs\nredis.register_function('e1', function() error('bad') end) redis.register_function('e2', function() return KEYS end) redis.register_function('e3', function() return redis.call('nosuch') end)"),
    ("FCALL", "e1", 0),
    ("FCALL", "e2", 0),
    ("FCALL", "e3", 0),
    ("FUNCTION", "STATS"),
    ("FUNCTION", "KILL"),
    ("FUNCTION", "DELETE", "nosuch"),
    ("FUNCTION", "DELETE", "errs"),
    ("FCALL", "e1", 0),
    ("FUNCTION", "FLUSH", "x"),
    ("FUNCTION", "FLUSH", "SYNC", "x"),
    ("FUNCTION", "RESTORE", "bad"),
    ("FUNCTION", "RESTORE", "bad", "x"),
    ("FUNCTION", "RESTORE", "bad", "x", "y"),
    ("FUNCTION", "HELP"),
    ("SCRIPT", "HELP"),
    ("FUNCTION", "FLUSH"),
    ("FUNCTION", "LIST"),
    ("FUNCTION", "DUMP"),
    ("FUNCTION", "STATS"),
]


@pytest.mark.parametrize("resp", [2, 3])
def test_function_commands_match_redis(ours, real, resp):
    from tests.differential.harness import Differ

    differ = Differ(ours.port, real.port, resp=resp)
    try:
        differ.flush()
        for cmd in CASES:
            # Several libraries list in hash order on redis-server: compare those as multisets.
            differ.check(*cmd, sort=cmd in (("FUNCTION", "LIST"), ("FUNCTION", "LIST", "WITHCODE")))
    finally:
        differ.call("FUNCTION", "FLUSH", compare=False)
        differ.close()


LIBRARY = """#!lua name=interop
local function bump(keys, args)
  return redis.call('incrby', keys[1], args[1])
end
redis.register_function{function_name='bump', callback=bump, description='adds', flags={'allow-oom'}}
redis.register_function('peek', function(keys) return redis.call('get', keys[1]) end)
"""
OTHER = "#!lua name=second\nredis.register_function{function_name='ro', callback=function() return 1 end, flags={'no-writes'}}"


def _listing(client: redis.Redis) -> list:
    """FUNCTION LIST WITHCODE with libraries and functions in a fixed order (Redis lists in hash order)."""
    out = []
    for lib in client.function_list(withcode=True):
        fields = dict(zip(lib[::2], lib[1::2]))
        fields[b"functions"] = sorted(repr(f) for f in fields[b"functions"])
        out.append(repr(sorted(fields.items())))
    return sorted(out)


def test_dump_payloads_move_both_ways(ours, real):
    a = redis.Redis(port=ours.port)
    b = redis.Redis(port=real.port)
    try:
        for c in (a, b):
            c.function_flush()
        a.function_load(LIBRARY)
        a.function_load(OTHER)
        b.function_restore(a.function_dump())
        assert _listing(a) == _listing(b)
        assert b.fcall("bump", 1, "n", 5) == 5
        a.function_flush()
        a.function_restore(b.function_dump())
        assert _listing(a) == _listing(b)
        assert a.fcall("bump", 1, "n", 2) == 2
        with pytest.raises(redis.ResponseError, match="Library (interop|second) already exists"):
            a.function_restore(b.function_dump())
        assert a.function_restore(b.function_dump(), "REPLACE")
        assert a.function_restore(b.function_dump(), "FLUSH")
        with pytest.raises(redis.ResponseError, match="DUMP payload version or checksum are wrong"):
            a.function_restore(b"garbage" * 3)
    finally:
        for c in (a, b):
            c.function_flush()
            c.flushall()
            c.close()


def _wait_loaded(client: redis.Redis) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            client.ping()
            return
        except (redis.BusyLoadingError, redis.ConnectionError):
            time.sleep(0.05)


def test_rdb_with_functions_moves_both_ways(tmp_path):
    ours_dir, real_dir = tmp_path / "ours", tmp_path / "real"
    ours_dir.mkdir()
    real_dir.mkdir()
    ours = OurServer(ours_dir)
    ours.start()
    try:
        c = ours.client()
        c.function_load(LIBRARY)
        c.function_load(OTHER)
        c.set("k", "v")
        expected = _listing(c)
        c.save()
        c.close()
    finally:
        ours.stop()
    (real_dir / "dump.rdb").write_bytes((ours_dir / "dump.rdb").read_bytes())
    real = RealServer(real_dir)
    real.start()
    try:
        r = real.client()
        _wait_loaded(r)
        assert _listing(r) == expected
        assert r.fcall("bump", 1, "k2", 3) == 3
        r.function_load(OTHER.replace("second", "third").replace("'ro'", "'ro3'"))
        expected = _listing(r)
        r.save()
        r.close()
    finally:
        real.stop()
    (ours_dir / "dump.rdb").write_bytes((real_dir / "dump.rdb").read_bytes())
    ours.start()
    try:
        c = ours.client()
        assert _listing(c) == expected
        assert c.fcall("bump", 1, "k2", 1) == 4
        assert c.fcall_ro("ro3", 0) == 1
        c.close()
    finally:
        ours.stop()
