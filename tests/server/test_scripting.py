"""EVAL/EVALSHA/SCRIPT through real sockets: the sandbox, the cache, MULTI/WATCH, effects in the AOF,
busy scripts, and redis-py's own script helpers.

Byte-for-byte comparisons with redis-server live in tests/differential/test_scripting_diff.py;
these tests cover what needs our server alone (escape attempts, AOF contents, a second client
during a busy script, the server's state after SCRIPT FLUSH).
"""

from __future__ import annotations

import socket
import threading
import time

import pytest
import redis

from tests.servers import OurServer

# Ways out of a Lua sandbox; in Redis (and here) each one must fail or reach nothing.
ESCAPES = [
    "return python.eval('1')",
    "return python.builtins.open",
    "return os.execute('true')",
    "return io.open('/etc/passwd')",
    "return require('os')",
    "return dofile('/etc/passwd')",
    "return loadfile('/etc/passwd')",
    "return debug.getinfo(1)",
    "return package.loaded.os",
    "return getfenv(0).python.eval('1')",
    "return getfenv(redis.call).python",
    "return redis.call.__class__",
    "local f = redis.call; return f.__init__.__globals__",
    "return getmetatable(redis.call).__index",
    "return loadstring('return python')()",
    "return string.dump(function() end) and os.exit()",
    "return module('x')",
    "return newproxy(true) and print('x')",
    "return collectgarbage('count') and jit",
    "setfenv(1, {}) return 1 + python",
]


def test_escape_paths_fail(r):
    for script in ESCAPES:
        try:
            reply = r.eval(script, 0)
        except redis.ResponseError as exc:
            text = str(exc)
            assert "script:" in text or "Error running script" in text, (script, text)
            continue
        # A script that returned without error must not have reached anything from Python.
        assert reply is None, (script, reply)
    assert r.ping()


def test_globals_are_read_only_and_checked(r):
    with pytest.raises(redis.ResponseError, match="Attempt to modify a readonly table"):
        r.eval("redis.call = nil", 0)
    with pytest.raises(redis.ResponseError, match="Attempt to modify a readonly table"):
        r.eval("cjson.encode = 1", 0)
    with pytest.raises(redis.ResponseError, match="nonexistent global variable 'nothing'"):
        r.eval("return nothing", 0)
    # Local state is fine and does not leak between runs.
    assert r.eval("local x = 5 return x", 0) == 5
    assert r.eval("return KEYS[1]", 1, "only-this-run") == b"only-this-run"
    assert r.eval("return KEYS[1]", 0) is None


def test_noscript_then_load_with_redis_py_script_object(r):
    incr = r.register_script("return redis.call('incrby', KEYS[1], ARGV[1])")
    r.script_flush()
    assert incr(keys=["n"], args=[5]) == 5  # NOSCRIPT, then redis-py loads it and retries
    assert r.script_exists(incr.sha) == [True]
    assert incr(keys=["n"], args=[2]) == 7
    with pytest.raises(redis.exceptions.NoScriptError):
        r.evalsha("f" * 40, 0)


def test_script_flush_resets_the_lua_state_and_cache(r):
    sha = r.script_load("return 1")
    assert r.script_exists(sha, sha.upper()) == [True, True]
    r.script_flush()
    assert r.script_exists(sha) == [False]
    assert r.script_flush("ASYNC")


def test_binary_arguments_and_replies_are_byte_exact(r):
    blob = bytes(range(256))
    assert r.eval("return ARGV[1]", 0, blob) == blob
    r.eval("redis.call('set', KEYS[1], ARGV[1])", 1, b"k\xff", blob)
    assert r.get(b"k\xff") == blob
    assert r.eval("return redis.call('get', KEYS[1])", 1, b"k\xff") == blob


def test_runaway_allocation_is_an_error_not_a_crash(r):
    with pytest.raises(redis.ResponseError, match="not enough memory|Error running script"):
        r.eval("local t = {} local s = string.rep('x', 1024 * 1024) for i = 1, 64 do s = s .. s t[i] = s end", 0)
    assert r.eval("return 1", 0) == 1


def test_recursive_table_reply_does_not_crash(r):
    reply = r.eval("local t = {1} t[2] = t return t", 0)
    assert reply[0] == 1
    assert r.ping()


def test_scripts_inside_multi_and_watch(r):
    pipe = r.pipeline(transaction=True)
    pipe.eval("return redis.call('incr', KEYS[1])", 1, "c")
    pipe.eval("return redis.call('incr', KEYS[1])", 1, "c")
    assert pipe.execute() == [1, 2]
    # A script's write invalidates another client's WATCH.
    other = redis.Redis(port=r.connection_pool.connection_kwargs["port"])
    with other.pipeline() as p:
        p.watch("c")
        r.eval("redis.call('set', KEYS[1], 'x')", 1, "c")
        p.multi()
        p.get("c")
        with pytest.raises(redis.WatchError):
            p.execute()
    other.close()


def test_blocking_commands_are_refused_in_scripts(r):
    start = time.monotonic()
    with pytest.raises(redis.ResponseError, match="This Redis command is not allowed from script"):
        r.eval("return redis.call('blpop', KEYS[1], 0)", 1, "empty")
    assert time.monotonic() - start < 2


def test_select_inside_script_does_not_move_the_caller(r):
    r.eval("redis.call('select', 3) redis.call('set', 'in3', 'v')", 0)
    assert r.get("in3") is None
    r.execute_command("SELECT", 3)
    assert r.get("in3") == b"v"
    r.execute_command("SELECT", 0)


def test_eval_ro_and_no_writes_refuse_writes(r):
    with pytest.raises(redis.ResponseError, match="Write commands are not allowed from read-only scripts"):
        r.eval_ro("return redis.call('set', 'a', 'b')", 0)
    with pytest.raises(redis.ResponseError, match="Write commands are not allowed from read-only scripts"):
        r.eval("#!lua flags=no-writes\nreturn redis.call('set', 'a', 'b')", 0)
    assert r.eval_ro("return redis.call('get', KEYS[1])", 1, "a") is None


def test_acl_applies_to_redis_call(r):
    r.acl_setuser("limited", enabled=True, passwords=["+pw"], commands=["+eval", "+get"], keys=["allowed*"])
    try:
        user = redis.Redis(port=r.connection_pool.connection_kwargs["port"], username="limited", password="pw")
        with pytest.raises(redis.ResponseError, match="The user executing the script can't run this command"):
            user.eval("return redis.call('set', 'allowed1', 'v')", 0)
        with pytest.raises(redis.ResponseError, match="can't access at least one of the keys"):
            user.eval("return redis.call('get', 'secret')", 0)
        assert user.eval("return redis.call('get', 'allowed1')", 0) is None
        user.close()
    finally:
        r.acl_deluser("limited")


def test_info_counts_cached_scripts(r):
    r.script_flush()
    r.script_load("return 'a'")
    r.script_load("return 'b'")
    info = r.info("memory")
    assert info["number_of_cached_scripts"] == 2
    assert info["used_memory_lua"] > 0
    assert r.info("commandstats")["cmdstat_eval"]["calls"] >= 0


# ---------------------------------------------------------------------------- effects in the AOF


def _aof_text(workdir) -> bytes:
    files = sorted((workdir / "appendonlydir").glob("*.incr.aof"))
    return b"".join(f.read_bytes() for f in files)


def test_script_effects_reach_the_aof_wrapped_in_multi(tmp_path):
    server = OurServer(tmp_path, extra=["--appendonly", "yes", "--appendfsync", "always"])
    server.start()
    try:
        c = server.client()
        c.eval("redis.call('set', 'a', '1') redis.call('incr', 'a') redis.call('sadd', 's', 'x')", 0)
        c.eval("redis.call('set', 'single', 'v')", 0)
        c.eval("return redis.call('get', 'a')", 0)
        c.eval("redis.set_repl(redis.REPL_NONE) redis.call('set', 'hidden', 'v')", 0)
        c.eval("local m = redis.call('spop', 's') return m", 0)
        text = _aof_text(tmp_path)
        assert b"eval" not in text.lower()  # the scripts themselves are never logged, only their effects
        first = text.index(b"MULTI")
        assert text.index(b"$3\r\nset\r\n$1\r\na\r\n") > first
        assert text.index(b"EXEC") > text.index(b"$4\r\nsadd")
        assert text.count(b"MULTI") == 1  # the single SET is logged alone, the read-only script not at all
        assert b"single" in text
        assert b"hidden" not in text
        assert b"SREM" in text or b"srem" in text  # SPOP logged by its effect
        c.close()
        server.stop()
        server.start()
        c = server.client()
        assert c.get("a") == b"2"
        assert c.get("single") == b"v"
        assert c.get("hidden") is None
        assert c.scard("s") == 0
        c.close()
    finally:
        server.stop()


# ---------------------------------------------------------------------------- busy scripts


def _raw(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    return sock


def _command(sock: socket.socket, *args: str) -> bytes:
    payload = b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a.encode()), a.encode()) for a in args)
    sock.sendall(payload)
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


@pytest.fixture
def busy_server(tmp_path):
    server = OurServer(tmp_path, extra=["--busy-reply-threshold", "100"])
    server.start()
    yield server
    server.stop()


def test_busy_script_gets_busy_replies_and_script_kill_ends_it(busy_server):
    port = busy_server.port
    other = _raw(port)
    assert _command(other, "PING") == b"+PONG\r\n"
    result: dict[str, object] = {}

    def run_loop() -> None:
        c = redis.Redis(port=port, socket_timeout=20)
        try:
            c.eval("while true do end", 0)
        except redis.ResponseError as exc:
            result["error"] = str(exc)
        c.close()

    runner = threading.Thread(target=run_loop)
    runner.start()
    time.sleep(0.4)
    busy = _command(other, "GET", "x")
    assert busy == b"-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n"
    # FUNCTION KILL does not stop an EVAL script: redis-server 7.0.15 answers with the busy error
    assert _command(other, "FUNCTION", "KILL") == busy
    assert _command(other, "SCRIPT", "KILL") == b"+OK\r\n"
    runner.join(10)
    assert not runner.is_alive()
    assert "Script killed by user with SCRIPT KILL..." in str(result.get("error"))
    assert _command(other, "PING") == b"+PONG\r\n"
    assert _command(other, "SCRIPT", "KILL") == b"-NOTBUSY No scripts in execution right now.\r\n"
    other.close()


def test_busy_script_that_wrote_is_unkillable_and_shutdown_nosave_stops_it(busy_server):
    port = busy_server.port
    other = _raw(port)

    def run_loop() -> None:
        c = redis.Redis(port=port, socket_timeout=20)
        try:
            c.eval("redis.call('set', 'w', '1') while true do end", 0)
        except (redis.ResponseError, redis.ConnectionError):
            pass
        c.close()

    runner = threading.Thread(target=run_loop)
    runner.start()
    time.sleep(0.4)
    assert _command(other, "SCRIPT", "KILL").startswith(b"-UNKILLABLE Sorry the script already executed write")
    assert _command(other, "SHUTDOWN").startswith(b"-BUSY")
    _command(other, "SHUTDOWN", "NOSAVE")
    runner.join(10)
    assert not runner.is_alive()
    assert busy_server.proc.wait(10) is not None
    other.close()


def test_busy_function_gets_function_kill(busy_server):
    port = busy_server.port
    other = _raw(port)
    setup = redis.Redis(port=port)
    setup.function_load("#!lua name=spin\nredis.register_function('spin', function() while true do end end)")
    result: dict[str, object] = {}

    def run_loop() -> None:
        c = redis.Redis(port=port, socket_timeout=20)
        try:
            c.fcall("spin", 0)
        except redis.ResponseError as exc:
            result["error"] = str(exc)
        c.close()

    runner = threading.Thread(target=run_loop)
    runner.start()
    time.sleep(0.4)
    assert _command(other, "GET", "x") == (
        b"-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.\r\n")
    stats = _command(other, "FUNCTION", "STATS")
    assert b"running_script" in stats and b"spin" in stats
    assert _command(other, "SCRIPT", "KILL").startswith(b"-BUSY")
    assert _command(other, "FUNCTION", "KILL") == b"+OK\r\n"
    runner.join(10)
    assert not runner.is_alive()
    assert "Script killed by user with SCRIPT KILL..." in str(result.get("error"))
    assert _command(other, "PING") == b"+PONG\r\n"
    other.close()
    setup.close()


def test_function_load_timeout(r):
    with pytest.raises(redis.ResponseError, match="FUNCTION LOAD timeout"):
        r.function_load("#!lua name=slow\nwhile true do end")
    assert r.ping()


def test_functions_survive_restart_through_aof_and_rewrite(tmp_path):
    server = OurServer(tmp_path, extra=["--appendonly", "yes", "--appendfsync", "always", "--save", ""])
    server.start()
    try:
        c = server.client()
        c.function_load("#!lua name=lib1\nredis.register_function('one', function() return 1 end)")
        c.fcall("one", 0)
        c.close()
        server.stop()
        server.start()
        c = server.client()
        assert c.fcall("one", 0) == 1
        c.function_load("#!lua name=lib2\nredis.register_function('two', function() return 2 end)")
        c.bgrewriteaof()
        deadline = time.monotonic() + 20
        while c.info("persistence")["aof_rewrite_in_progress"] and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
        c.close()
        server.stop()
        server.start()
        c = server.client()
        assert c.fcall("one", 0) == 1
        assert c.fcall("two", 0) == 2
        c.close()
    finally:
        server.stop()


def test_client_pause_write_holds_scripts_that_may_write(r):
    r.client_pause(400, all=False)
    start = time.monotonic()
    assert r.eval_ro("return 1", 0) == 1  # read-only: not held
    assert time.monotonic() - start < 0.3
    assert r.eval("return redis.call('set', KEYS[1], 'v')", 1, "paused") == b"OK"
    assert time.monotonic() - start >= 0.35


def _start_endless_script(port: int) -> threading.Thread:
    """A thread running ``while true do end`` on its own connection until SCRIPT KILL ends it."""

    def run_loop() -> None:
        c = redis.Redis(port=port, socket_timeout=30)
        try:
            c.eval("while true do end", 0)
        except redis.ResponseError:
            pass
        c.close()

    runner = threading.Thread(target=run_loop)
    runner.start()
    return runner


def test_new_connection_during_busy_script_is_served(busy_server):
    """redis-cli SCRIPT KILL from another terminal opens a new connection while the script runs."""
    port = busy_server.port
    runner = _start_endless_script(port)
    time.sleep(0.4)
    late = _raw(port)  # connects while the loop is held by the script
    hello = _command(late, "HELLO", "3")
    assert hello.startswith(b"%")  # allowed while busy, and switches this connection to RESP3
    assert _command(late, "GET", "x").startswith(b"-BUSY")
    assert _command(late, "SCRIPT", "KILL") == b"+OK\r\n"
    runner.join(10)
    assert not runner.is_alive()
    time.sleep(0.1)
    info = _command(late, "CLIENT", "INFO")
    assert b"resp=3" in info  # the connection kept its state when the event loop took it over
    assert _command(late, "PING") == b"+PONG\r\n"
    late.close()


def test_connection_that_quits_during_busy_script_is_closed_at_once(busy_server):
    """A connection accepted while a script holds the loop is closed after QUIT's reply, as at any
    other time (server/held.py), not left open until the script ends."""
    port = busy_server.port
    watcher = _raw(port)
    runner = _start_endless_script(port)
    try:
        deadline = time.monotonic() + 20
        while not _command(watcher, "GET", "x").startswith(b"-BUSY"):  # the script holds the loop
            assert time.monotonic() < deadline, "the script never became busy"
            time.sleep(0.05)
        late = _raw(port)
        assert _command(late, "QUIT") == b"+OK\r\n"
        late.settimeout(5)
        assert late.recv(100) == b""  # closed while the script still runs
        late.close()
        assert _command(watcher, "GET", "x").startswith(b"-BUSY")
    finally:
        assert _command(watcher, "SCRIPT", "KILL") == b"+OK\r\n"
        runner.join(10)
    assert not runner.is_alive()
    watcher.close()


def test_lua_time_limit_is_busy_reply_threshold_and_acl_log_says_lua(r):
    r.config_set("lua-time-limit", 1234)
    try:
        assert r.config_get("busy-reply-threshold") == {"busy-reply-threshold": "1234"}
    finally:
        r.config_set("busy-reply-threshold", 5000)
    r.acl_log_reset()
    r.acl_setuser("scriptuser", enabled=True, nopass=True, commands=["+eval", "-set"], keys=["*"])
    try:
        user = redis.Redis(port=r.connection_pool.connection_kwargs["port"], username="scriptuser", password="x")
        with pytest.raises(redis.ResponseError, match="can't run this command or subcommand"):
            user.eval("return redis.call('set', 'a', 'b')", 0)
        entry = r.acl_log()[0]
        assert (entry["context"], entry["object"], entry["reason"]) == ("lua", "set", "command")
        assert entry["client-info"]["cmd"] == "eval"
        user.close()
    finally:
        r.acl_deluser("scriptuser")


def test_script_kill_cannot_be_caught_by_pcall(busy_server):
    port = busy_server.port
    other = _raw(port)
    result: dict[str, object] = {}

    def run_loop() -> None:
        c = redis.Redis(port=port, socket_timeout=20)
        try:
            c.eval("while true do pcall(function() while true do end end) end", 0)
        except redis.ResponseError as exc:
            result["error"] = str(exc)
        c.close()

    runner = threading.Thread(target=run_loop)
    runner.start()
    time.sleep(0.4)
    assert _command(other, "SCRIPT", "KILL") == b"+OK\r\n"
    runner.join(10)
    assert not runner.is_alive()
    assert "Script killed by user with SCRIPT KILL..." in str(result.get("error"))
    # The state is clean afterwards: a plain script runs and is not killed.
    assert _command(other, "EVAL", "local n = 0 for i = 1, 300000 do n = n + 1 end return n", "0") == b":300000\r\n"
    other.close()


def test_script_writes_emit_keyspace_events_in_order(r):
    r.config_set("notify-keyspace-events", "KEA")
    try:
        sub = r.pubsub()
        sub.psubscribe("__keyevent@0__:*")
        sub.get_message(timeout=1)
        r.eval("redis.call('set', KEYS[1], '1') redis.call('incr', KEYS[1]) redis.call('del', KEYS[1])", 1, "ev")
        events = []
        deadline = time.monotonic() + 5
        while len(events) < 3 and time.monotonic() < deadline:
            message = sub.get_message(timeout=0.5)
            if message and message["type"] == "pmessage":
                events.append((message["channel"], message["data"]))
        assert events == [(b"__keyevent@0__:set", b"ev"), (b"__keyevent@0__:incrby", b"ev"),
                          (b"__keyevent@0__:del", b"ev")]
        sub.close()
    finally:
        r.config_set("notify-keyspace-events", "")
