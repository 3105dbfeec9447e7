"""The append-only file: Redis 7.0's multi-part layout, replay, rewrite, truncation, interchange.

Each test starts its own server in a temp directory with ``appendonly yes``,
writes through a client, then looks at the files (``redis-check-aof`` must
accept them) and restarts the server to see what it loads.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import redis

from tests.servers import OurServer, RealServer, real_server_available

AOF = ["--appendonly", "yes", "--appendfsync", "always"]


def aof_dir(workdir: Path) -> Path:
    return workdir / "appendonlydir"


def manifest(workdir: Path) -> list[list[str]]:
    return [line.split() for line in (aof_dir(workdir) / "appendonly.aof.manifest").read_text().splitlines()]


def incr_files(workdir: Path) -> list[Path]:
    return sorted(aof_dir(workdir).glob("*.incr.aof"))


def check_aof(workdir: Path) -> str:
    real_server_available(require=True)
    result = subprocess.run(["redis-check-aof", str(aof_dir(workdir) / "appendonly.aof.manifest")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All AOF files and manifest are valid" in result.stdout, result.stdout
    return result.stdout


def wait_until(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


@pytest.fixture
def aof_server(tmp_path):
    server = OurServer(tmp_path, extra=AOF)
    server.start()
    yield server
    server.stop()


def restart(server: OurServer, kill: bool = False) -> redis.Redis:
    if kill:
        server.kill()
    else:
        server.stop()
    server.start()
    return server.client()


def test_layout_and_replay_after_kill(aof_server, tmp_path):
    client = aof_server.client()
    client.set("a", "1")
    client.incr("a")
    client.execute_command("SELECT", 4)
    client.set("in-db4", "x")
    client.execute_command("SELECT", 0)
    client.set("ttl", "v", ex=1000)
    client.delete("missing")
    assert client.info("persistence")["aof_enabled"] == 1
    rows = manifest(tmp_path)
    assert [r[0] for r in rows] == ["file", "file"]
    assert rows[0][1] == "appendonly.aof.1.base.rdb" and rows[0][-1] == "b"
    assert rows[1][1] == "appendonly.aof.1.incr.aof" and rows[1][-1] == "i"
    text = incr_files(tmp_path)[-1].read_bytes()
    assert b"SELECT\r\n$1\r\n4" in text
    assert b"PXAT" in text and b"\r\nex\r\n" not in text.lower()  # relative expiry logged as absolute
    check_aof(tmp_path)
    client = restart(aof_server, kill=True)
    assert client.get("a") == b"2"
    assert 990_000 < client.pttl("ttl") <= 1_000_000
    client.execute_command("SELECT", 4)
    assert client.get("in-db4") == b"x"


def test_expire_commands_logged_as_pexpireat(aof_server, tmp_path):
    client = aof_server.client()
    client.set("k", "v")
    client.expire("k", 100)
    client.set("gone", "v")
    client.expire("gone", -1)  # deletes the key: logged as DEL
    text = incr_files(tmp_path)[-1].read_bytes()
    assert b"PEXPIREAT" in text
    assert b"$3\r\nDEL\r\n$4\r\ngone" in text
    client = restart(aof_server)
    assert 90 < client.ttl("k") <= 100
    assert client.exists("gone") == 0


def test_multi_exec_is_one_unit(aof_server, tmp_path):
    client = aof_server.client()
    pipe = client.pipeline(transaction=True)
    pipe.set("x", 1)
    pipe.incr("x")
    pipe.get("x")
    assert pipe.execute() == [True, 2, b"2"]
    text = incr_files(tmp_path)[-1].read_bytes().upper()
    assert text.index(b"MULTI") < text.index(b"INCR") < text.index(b"EXEC")
    assert text.count(b"MULTI") == 1
    # A transaction cut off before its EXEC (a crash mid-write) is not applied.
    aof_server.kill()
    with open(incr_files(tmp_path)[-1], "ab") as fh:
        fh.write(b"*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$3\r\n999\r\n")
    aof_server.start()
    client = aof_server.client()
    assert client.get("x") == b"2"
    assert "MULTI" not in incr_files(tmp_path)[-1].read_text()[-40:]


def test_truncated_tail_is_loaded_and_cut(aof_server, tmp_path):
    client = aof_server.client()
    for i in range(10):
        client.set(f"k{i}", i)
    aof_server.kill()
    path = incr_files(tmp_path)[-1]
    whole = path.stat().st_size
    with open(path, "ab") as fh:
        fh.write(b"*3\r\n$3\r\nSET\r\n$2\r\nk9\r\n$4\r\nhal")
    aof_server.start()
    client = aof_server.client()
    assert client.get("k9") == b"9"
    assert path.stat().st_size == whole
    assert "short read while loading the AOF" in aof_server.log_tail(40)
    check_aof(tmp_path)


def test_corruption_in_the_middle_stops_startup(aof_server, tmp_path):
    client = aof_server.client()
    for i in range(5):
        client.set(f"k{i}", i)
    aof_server.kill()
    path = incr_files(tmp_path)[-1]
    data = bytearray(path.read_bytes())
    data[data.index(b"*3\r\n", 20)] = ord("!")  # the second SET's header, far from the end
    path.write_bytes(bytes(data))
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    done = subprocess.run(aof_server.command(), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "append only file" in done.stdout and "offset" in done.stdout, done.stdout
    assert path.read_bytes() == bytes(data)  # left as it was


def test_bgrewriteaof_compacts_while_writes_continue(aof_server, tmp_path):
    client = aof_server.client()
    for _i in range(300):
        client.incr("counter")
    client.set("keep", "me")
    assert client.bgrewriteaof() in (True, b"Background append only file rewriting started")
    for _i in range(100):  # written while the child works: they land in the new incr file
        client.incr("counter")
    wait_until(lambda: client.info("persistence")["aof_rewrite_in_progress"] == 0)
    info = client.info("persistence")
    assert info["aof_last_bgrewrite_status"] == "ok" and info["aof_rewrites"] == 1
    rows = manifest(tmp_path)
    assert [r[1] for r in rows] == ["appendonly.aof.2.base.rdb", "appendonly.aof.2.incr.aof"]
    assert sorted(p.name for p in aof_dir(tmp_path).iterdir()) == [
        "appendonly.aof.2.base.rdb", "appendonly.aof.2.incr.aof", "appendonly.aof.manifest"]
    base = (aof_dir(tmp_path) / "appendonly.aof.2.base.rdb").read_bytes()
    assert base.startswith(b"REDIS0010")
    check_aof(tmp_path)
    client = restart(aof_server, kill=True)
    assert client.get("counter") == b"400"
    assert client.get("keep") == b"me"
    with pytest.raises(redis.ResponseError, match="already in progress"):
        pipe = client.pipeline(transaction=False)
        pipe.bgrewriteaof()
        pipe.bgrewriteaof()
        pipe.execute()


def test_aof_is_preferred_over_rdb(tmp_path):
    server = OurServer(tmp_path)
    server.start()
    client = server.client()
    client.set("source", "rdb")
    client.save()
    server.stop()
    server.extra = AOF
    server.start()
    client = server.client()
    assert client.get("source") is None  # a new AOF starts from its own (empty) base, as Redis 7.0
    client.set("source", "aof")
    server.stop()
    server.start()
    assert server.client().get("source") == b"aof"
    server.stop()


def test_config_set_appendonly_starts_the_aof(tmp_path):
    server = OurServer(tmp_path)
    server.start()
    try:
        client = server.client()
        client.set("before", "1")
        client.config_set("appendonly", "yes")
        wait_until(lambda: client.info("persistence")["aof_enabled"] == 1)
        client.set("after", "2")
        check_aof(tmp_path)
        server.kill()
        server.extra = AOF
        server.start()
        client = server.client()
        assert client.get("before") == b"1" and client.get("after") == b"2"
    finally:
        server.stop()


def test_effects_without_an_aof_leave_nothing_for_a_later_one(tmp_path):
    """SPOP and a served BLPOP with the AOF off, then the AOF switched on: the next writes are logged."""
    server = OurServer(tmp_path)
    server.start()
    try:
        client = server.client()
        client.sadd("s", "a", "b", "c")
        client.spop("s")
        client.rpush("q", "x")
        assert client.blpop(["q"], timeout=1) == (b"q", b"x")
        client.config_set("appendonly", "yes")
        wait_until(lambda: client.info("persistence")["aof_enabled"] == 1)
        client.set("k", "v")
        client.rpush("r", "y")
        server.kill()
        server.extra = AOF
        server.start()
        client = server.client()
        assert client.get("k") == b"v" and client.lrange("r", 0, -1) == [b"y"]
    finally:
        server.stop()


def test_our_aof_loads_into_redis_and_back(aof_server, tmp_path):
    real_server_available(require=True)
    client = aof_server.client()
    client.set("s", "string")
    client.set("n", 41)
    client.incr("n")
    client.sadd("set", "a", "b", 3)
    client.zadd("z", {"one": 1, "two": 2})
    client.set("ttl", "x", px=300_000)
    client.execute_command("SELECT", 2)
    client.set("db2", "yes")
    client.bgrewriteaof()
    wait_until(lambda: client.info("persistence")["aof_rewrite_in_progress"] == 0)
    client.execute_command("SELECT", 0)
    client.set("after-rewrite", "1")
    aof_server.stop()
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    shutil.copytree(aof_dir(tmp_path), aof_dir(real_dir))
    real = RealServer(real_dir, extra=["--appendonly", "yes"])
    real.start()
    try:
        rc = real.client()
        assert rc.get("s") == b"string" and rc.get("n") == b"42" and rc.get("after-rewrite") == b"1"
        assert rc.smembers("set") == {b"a", b"b", b"3"}
        assert rc.zrange("z", 0, -1, withscores=True) == [(b"one", 1.0), (b"two", 2.0)]
        assert 200_000 < rc.pttl("ttl") <= 300_000
        assert redis.Redis(port=real.port, db=2).get("db2") == b"yes"
        rc.set("from-redis", "hello")
        rc.incr("n")
        rc.bgrewriteaof()
        wait_until(lambda: rc.info("persistence")["aof_rewrite_in_progress"] == 0)
        rc.set("redis-incr", "after")
    finally:
        real.stop()
    back = tmp_path / "back"
    back.mkdir()
    shutil.copytree(aof_dir(real_dir), aof_dir(back))
    ours = OurServer(back, extra=AOF)
    ours.start()
    try:
        oc = ours.client()
        assert oc.get("from-redis") == b"hello" and oc.get("n") == b"43" and oc.get("redis-incr") == b"after"
        assert oc.smembers("set") == {b"a", b"b", b"3"}
        assert redis.Redis(port=ours.port, db=2).get("db2") == b"yes"
    finally:
        ours.stop()


def test_non_deterministic_commands_are_logged_by_effect(aof_server, tmp_path):
    client = aof_server.client()
    client.sadd("s", *range(20))
    popped = client.spop("s")
    more = client.spop("s", 3)
    client.rpush("list", "a", "b")
    assert client.blpop(["empty", "list"], timeout=1) == (b"list", b"a")
    text = incr_files(tmp_path)[-1].read_bytes()
    assert b"spop" not in text.lower()
    assert b"SREM" in text and b"blpop" not in text.lower() and b"LPOP" in text
    members = client.smembers("s")
    client = restart(aof_server, kill=True)
    assert client.smembers("s") == members
    assert popped not in members and not set(more) & members
    assert client.lrange("list", 0, -1) == [b"b"]


def test_blocked_pop_served_later_is_logged(aof_server, tmp_path):
    import threading

    client = aof_server.client()
    waiter = aof_server.client()
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("r", waiter.brpop(["q"], timeout=10)))
    thread.start()
    wait_until(lambda: client.info("clients")["blocked_clients"] == 1)
    client.rpush("q", "x", "y")
    thread.join(10)
    assert result["r"] == (b"q", b"y")
    client = restart(aof_server, kill=True)
    assert client.lrange("q", 0, -1) == [b"x"]


def test_automatic_rewrite_on_growth(tmp_path):
    server = OurServer(tmp_path, extra=[*AOF, "--auto-aof-rewrite-min-size", "20000",
                                        "--auto-aof-rewrite-percentage", "100"])
    server.start()
    try:
        client = server.client()
        pipe = client.pipeline(transaction=False)
        for i in range(2000):
            pipe.set("same-key", i)
        pipe.execute()
        wait_until(lambda: client.info("persistence")["aof_rewrites"] >= 1)
        wait_until(lambda: client.info("persistence")["aof_rewrite_in_progress"] == 0)
        assert "Starting automatic rewriting of AOF on growth" in server.log_tail(60)
        client = restart(server, kill=True)
        assert client.get("same-key") == b"1999"
    finally:
        server.stop()


def test_resp_base_without_rdb_preamble(tmp_path):
    server = OurServer(tmp_path, extra=[*AOF, "--aof-use-rdb-preamble", "no"])
    server.start()
    try:
        client = server.client()
        client.set("s", "v", px=500_000)
        client.rpush("l", *range(100))
        client.sadd("set", "a", "b")
        client.hset("h", mapping={"f": "1", "g": "2"})
        client.zadd("z", {"m": 1.5, "n": float("inf")})
        client.bgrewriteaof()
        wait_until(lambda: client.info("persistence")["aof_rewrites"] == 1)
        assert manifest(tmp_path)[0][1] == "appendonly.aof.2.base.aof"
        assert (aof_dir(tmp_path) / "appendonly.aof.2.base.aof").read_bytes().startswith(b"*2\r\n$6\r\nSELECT")
        check_aof(tmp_path)
        client = restart(server, kill=True)
        assert client.get("s") == b"v" and 400_000 < client.pttl("s") <= 500_000
        assert client.lrange("l", 0, -1) == [b"%d" % i for i in range(100)]
        assert client.smembers("set") == {b"a", b"b"}
        assert client.hgetall("h") == {b"f": b"1", b"g": b"2"}
        assert client.zrange("z", 0, -1, withscores=True) == [(b"m", 1.5), (b"n", float("inf"))]
    finally:
        server.stop()


def test_single_file_aof_from_older_redis_is_loaded(tmp_path):
    from server.persistence import rdb
    from server.persistence.aof import encode_command

    preamble = tmp_path / "preamble.rdb"
    rdb.save_file(str(preamble), [(0, {b"from-preamble": b"1"}, {})], preamble=True)
    tail = encode_command([b"SELECT", b"0"]) + encode_command([b"SET", b"from-tail", b"2"])
    (tmp_path / "appendonly.aof").write_bytes(preamble.read_bytes() + tail)
    server = OurServer(tmp_path, extra=AOF)
    server.start()
    try:
        client = server.client()
        assert client.get("from-preamble") == b"1" and client.get("from-tail") == b"2"
        client.set("new", "3")
        client = restart(server, kill=True)
        assert client.get("from-preamble") == b"1" and client.get("new") == b"3"
        check_aof(tmp_path)
    finally:
        server.stop()


def _random_commands(rng, count: int) -> list[list]:
    """A mix of write commands of every family, including non-deterministic and relative-expiry ones.

    Each family has its own keys, so most commands succeed instead of meeting WRONGTYPE.
    """
    def pick(prefix: str) -> str:
        return f"{prefix}{rng.randint(0, 3)}"

    out: list[list] = []
    for _ in range(count):
        v = rng.choice(["a", "b", "12", "-3", "1.5", "x" * 30])
        n = rng.randint(1, 3)
        s, s2, li, l2 = pick("s"), pick("s"), pick("l"), pick("l")
        h, t, t2, z, z2 = pick("h"), pick("t"), pick("t"), pick("z"), pick("z")
        any_key = rng.choice([s, li, h, t, z])
        out.append(rng.choice([
            ["SET", s, v], ["SET", s, v, "EX", 100], ["SET", s, v, "PX", 50_000, "GET"], ["SETEX", s, 90, v],
            ["APPEND", s, v], ["INCRBYFLOAT", s, "0.1"], ["GETEX", s, "EX", 70], ["GETEX", s, "PERSIST"],
            ["RENAME", s, s2], ["COPY", s, s2, "REPLACE"], ["INCR", "counter"],
            ["EXPIRE", any_key, 500], ["PEXPIRE", any_key, 400_000], ["PERSIST", any_key], ["DEL", any_key],
            ["MOVE", any_key, 1], ["SELECT", rng.randint(0, 1)],
            ["LPUSH", li, v, v], ["RPUSH", li, v, n], ["RPOP", li], ["LMOVE", li, l2, "LEFT", "RIGHT"],
            ["BLPOP", li, l2, "0.01"], ["LREM", li, 1, v], ["LTRIM", li, 0, 5],
            ["HSET", h, v, v, "f", n], ["HDEL", h, v], ["HINCRBYFLOAT", h, "f", "0.25"],
            ["SADD", t, v, n, "m"], ["SADD", t, *range(n * 5)], ["SPOP", t], ["SPOP", t, n], ["SREM", t, v],
            ["SMOVE", t, t2, "m"], ["SINTERSTORE", t2, t, t2],
            ["ZADD", z, n, v, n * 2, "m"], ["ZINCRBY", z, 2, "m"], ["ZPOPMIN", z], ["BZPOPMAX", z, z2, "0.01"],
            ["ZUNIONSTORE", z2, 2, z, z2], ["ZREM", z, v],
            ["MULTI"], ["EXEC"],
        ]))
    return out


def test_random_writes_survive_kill_and_load_into_redis(aof_server, tmp_path):
    """Whatever the commands did, kill -9 and replay give the same data; so does redis-server's replay."""
    import random

    from tests.differential.harness import RawConnection
    from tests.server.test_rdb_interchange import assert_same, snapshot

    rng = random.Random(7)
    raw = RawConnection(aof_server.port)  # raw replies: QUEUED inside MULTI is not parsed
    in_multi = False
    for argv in _random_commands(rng, 500):
        if argv[0] == "EXEC" and not in_multi:
            continue
        if argv[0] == "MULTI" and in_multi:
            continue
        in_multi = argv[0] == "MULTI" or (in_multi and argv[0] != "EXEC")
        raw.call(*argv)
    if in_multi:
        raw.call("EXEC")
    raw.close()
    before = snapshot(aof_server.client())
    assert before
    check_aof(tmp_path)
    client = restart(aof_server, kill=True)
    assert_same(snapshot(client), before)
    aof_server.stop()
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    shutil.copytree(aof_dir(tmp_path), aof_dir(real_dir))
    real = RealServer(real_dir, extra=["--appendonly", "yes"])
    real.start()
    try:
        assert_same(snapshot(real.client()), before)
    finally:
        real.stop()
