"""What scripts leave in INFO and SLOWLOG, against redis-server.

Redis 7.0 counts an error once: where it happens. A command redis.call refused (unknown,
wrong arity, write in a read-only script ...) counts in errorstats and in the command's
``rejected_calls`` at once; a command that failed counts as failed; and when the script
passes either error on as its reply, that reply is not counted again (the EVAL still counts
as failed). Errors the script makes itself ({err=...}, redis.error_reply, error()) count once,
as the EVAL's reply. Commands run by scripts appear in SLOWLOG under the client "?:0".
"""

from __future__ import annotations

import redis

from tests.differential.harness import RawConnection, parse

SCRIPTS = [
    ("EVAL", "redis.call('set','a','1'); redis.pcall('incr','nokey','x'); return redis.call('incr','a')", 0),
    ("EVAL", "return redis.call('lpush','a','x')", 0),
    ("EVAL", "return redis.pcall('lpush','a','x')", 0),
    ("EVAL", "return redis.pcall('nosuch')", 0),
    ("EVAL", "return redis.call('nosuch')", 0),
    ("EVAL", "return redis.call('get','a','b')", 0),
    ("EVAL", "local e = redis.pcall('get','a','b') return 1", 0),
    ("EVAL", "return redis.call('multi')", 0),
    ("EVAL", "return {err='MYERR custom'}", 0),
    ("EVAL", "error('x')", 0),
    ("EVAL", "error({err='RAISED table'})", 0),
    ("EVAL", "return redis.error_reply('OTHER x')", 0),
    ("EVAL", "local ok, e = pcall(redis.call, 'lpush', 'a', 'x') return e", 0),
    ("EVAL_RO", "return redis.call('set','a','x')", 0),
    ("EVAL", "#!lua flags=no-writes\nreturn redis.call('del','a')", 0),
    ("EVAL", "syntax(", 0),
    ("EVALSHA", "0000000000000000000000000000000000000000", 0),
    ("EVAL", "return redis.call('incr', KEYS[1])", 1, "counter"),
]


def _info(port: int, section: str) -> str:
    """One INFO section as its text, in the server's own order."""
    conn = RawConnection(port)
    try:
        return parse(conn.call("INFO", section)).decode()
    finally:
        conn.close()


def _command_stats(port: int) -> dict[str, tuple[int, int, int]]:
    """calls, rejected_calls, failed_calls per command (times differ between servers)."""
    raw = _info(port, "commandstats")
    out = {}
    for line in raw.splitlines():
        if not line.startswith("cmdstat_"):
            continue
        name, fields = line.split(":", 1)
        values = dict(item.split("=") for item in fields.split(","))
        out[name] = (int(values["calls"]), int(values["rejected_calls"]), int(values["failed_calls"]))
    out.pop("cmdstat_info", None)
    return out


def test_errorstats_and_commandstats_count_script_errors_as_redis(diff, ours, real):
    for server in (ours, real):
        server.client().config_resetstat()
    for cmd in SCRIPTS:
        diff.check(*cmd)
    diff.check("INFO", "errorstats")
    stats = [_command_stats(server.port) for server in (ours, real)]
    assert stats[0] == stats[1]
    assert stats[0]["cmdstat_incr"] == (2, 1, 0)  # one run, one refused for its arity
    totals = [server.client().info("stats")["total_error_replies"] for server in (ours, real)]
    assert totals[0] == totals[1]


def test_slowlog_records_eval_and_the_commands_it_ran(ours, real):
    entries = []
    for server in (ours, real):
        client = server.client()
        client.config_set("slowlog-log-slower-than", 0)
        try:
            client.slowlog_reset()
            client.client_setname("scripter")
            client.eval("redis.call('set', KEYS[1], ARGV[1]); return redis.call('get', KEYS[1])", 1, "k", "v")
            client.execute_command("FCALL", "nosuch", 0)
        except redis.ResponseError:
            pass
        finally:
            raw = client.execute_command("SLOWLOG", "GET", 10)
            client.config_set("slowlog-log-slower-than", 10000)
        own = client.client_info()["addr"].encode()
        # (id, time and duration differ; arguments, peer and name must not)
        entries.append([(e[3], b"self" if e[4] == own else e[4], e[5]) for e in reversed(raw)])
    assert entries[0] == entries[1]
    assert ([b"set", b"k", b"v"], b"?:0", b"") in entries[0]
    assert ([b"EVAL", b"redis.call('set', KEYS[1], ARGV[1]); return redis.call('get', KEYS[1])", b"1", b"k",
             b"v"], b"self", b"scripter") in entries[0]


MEMORY_FIELDS = [
    "used_memory_lua", "used_memory_vm_eval", "used_memory_lua_human", "used_memory_scripts_eval",
    "number_of_cached_scripts", "number_of_functions", "number_of_libraries", "used_memory_vm_functions",
    "used_memory_vm_total", "used_memory_vm_total_human", "used_memory_functions", "used_memory_scripts",
    "used_memory_scripts_human",
]


def _memory_section(port: int) -> list[tuple[str, str]]:
    raw = _info(port, "memory")
    return [(line.partition(":")[0], line.partition(":")[2]) for line in raw.splitlines() if ":" in line]


def test_info_memory_scripting_fields_as_redis_7_0(ours, real):
    sections = []
    for server in (ours, real):
        client = server.client()
        client.script_flush()
        client.function_flush()
        client.script_load("return 1")
        client.script_load("return 2")
        client.function_load("#!lua name=statslib\nredis.register_function('f1', function() return 1 end)\n"
                             "redis.register_function('f2', function() return 2 end)")
        sections.append(_memory_section(server.port))
        client.function_flush()
        client.script_flush()
    for section in sections:
        names = [name for name, _ in section]
        start = names.index("used_memory_lua")
        # the same fields, in the same order, after the system memory and before maxmemory
        assert names[start:start + len(MEMORY_FIELDS)] == MEMORY_FIELDS
        assert names[start - 1] == "total_system_memory_human"
        assert names[start + len(MEMORY_FIELDS)] == "maxmemory"
        values = dict(section)
        assert (values["number_of_cached_scripts"], values["number_of_functions"],
                values["number_of_libraries"]) == ("2", "2", "1")
        for name in MEMORY_FIELDS:
            if name.endswith("_human"):
                assert values[name][-1] in "BKMG" and float(values[name].rstrip("BKMG")) >= 0
            else:
                assert int(values[name]) >= 0
        assert int(values["used_memory_vm_total"]) == (int(values["used_memory_vm_eval"])
                                                      + int(values["used_memory_vm_functions"]))
        assert int(values["used_memory_scripts"]) == (int(values["used_memory_scripts_eval"])
                                                     + int(values["used_memory_functions"]))
