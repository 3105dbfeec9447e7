"""RDB files and DUMP payloads move between our server and Debian's redis-server.

One module-scoped dataset is written into a real ``redis-server`` so that every
encoding Redis 7.0 produces appears in its dump: int-encoded and
LZF-compressed strings, listpack and quicklist lists, intset and hashtable
sets, listpack and hashtable hashes, listpack and skiplist sorted sets, TTLs,
several databases. Each test then moves the data one way and compares the
two servers key by key through ordinary commands.
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

DATABASES = (0, 1, 5)


def populate(client: redis.Redis) -> None:
    """Keys of every type, small and big, in three databases, some with TTLs."""
    for dbid in DATABASES:
        client.execute_command("SELECT", dbid)
        p = client.pipeline(transaction=False)
        tag = f"db{dbid}"
        # Strings: int-encoded (8/16/32 bit and beyond), short, long, compressible, binary.
        for n in (0, 7, -100, 300, -40000, 70000, 2**31 - 1, -(2**31), 2**40, -(2**62)):
            p.set(f"{tag}:int:{n}", n)
        p.set(f"{tag}:short", "hello world")
        p.set(f"{tag}:long", "x" * 30 + "abcdefghij" * 20)
        p.set(f"{tag}:compressible", "a" * 5000)
        p.set(f"{tag}:binary", bytes(range(256)) * 3)
        p.set(f"{tag}:empty", "")
        p.set(12345 + dbid, "int-encoded key name")
        # Lists: small (one listpack node), big (several nodes), numbers, a huge element.
        p.rpush(f"{tag}:list:small", "a", "b", "c", 1, -2, 300000)
        p.rpush(f"{tag}:list:big", *[f"element-{i}" for i in range(3000)])
        p.rpush(f"{tag}:list:ints", *range(-500, 500, 7))
        p.rpush(f"{tag}:list:huge", "z" * 20000, "tail")
        # Sets: intset (small and 64-bit), hashtable of ints, strings small and big.
        p.sadd(f"{tag}:set:intset", 1, 2, 3, -7, 2**40)
        p.sadd(f"{tag}:set:manyints", *range(1000))
        p.sadd(f"{tag}:set:small", "apple", "banana", "cherry")
        p.sadd(f"{tag}:set:big", *[f"member-{i}" for i in range(700)])
        # Hashes: listpack, hashtable by size, hashtable by value length.
        p.hset(f"{tag}:hash:small", mapping={"f1": "v1", "f2": 2, "f3": "-3"})
        p.hset(f"{tag}:hash:big", mapping={f"field-{i}": f"value-{i}" for i in range(1000)})
        p.hset(f"{tag}:hash:longvalue", mapping={"short": "s", "long": "L" * 200})
        # Sorted sets: listpack, skiplist by size, special scores, long member.
        p.zadd(f"{tag}:zset:small", {"a": 1, "b": 2.5, "c": -3, "d": 0})
        p.zadd(f"{tag}:zset:big", {f"m{i}": i / 7 for i in range(300)})
        p.zadd(f"{tag}:zset:special", {"inf": float("inf"), "ninf": float("-inf"), "tiny": 1e-300, "big": 1.5e300})
        p.zadd(f"{tag}:zset:longmember", {"M" * 100: 1, "x": 2})
        # HyperLogLogs (strings in Redis's HYLL encoding, sparse and dense) and a geo set.
        p.pfadd(f"{tag}:hll:sparse", *[f"visitor-{i}" for i in range(50)])
        p.pfadd(f"{tag}:hll:dense", *[f"visitor-{i}" for i in range(5000)])
        p.pfcount(f"{tag}:hll:dense")  # caches the cardinality in the header
        p.geoadd(f"{tag}:geo", (13.361389, 38.115556, "Palermo"), (15.087269, 37.502669, "Catania"))
        # TTLs on several types.
        p.set(f"{tag}:ttl:string", "expiring")
        p.pexpire(f"{tag}:ttl:string", 500_000)
        p.rpush(f"{tag}:ttl:list", "x")
        p.expire(f"{tag}:ttl:list", 1000)
        p.hset(f"{tag}:ttl:hash", "f", "v")
        p.expire(f"{tag}:ttl:hash", 2000)
        p.execute()
    client.execute_command("SELECT", 0)


def snapshot(client: redis.Redis) -> dict:
    """Every key of every database: (type, content, ttl bucket) read through commands."""
    out = {}
    home = client.connection_pool.connection_kwargs.get("db", 0)
    for dbid in range(16):
        client.execute_command("SELECT", dbid)
        for key in client.scan_iter(count=1000):
            kind = client.type(key).decode()
            if kind == "string":
                content: object = client.get(key)
            elif kind == "list":
                content = client.lrange(key, 0, -1)
            elif kind == "set":
                content = sorted(client.smembers(key))
            elif kind == "hash":
                content = sorted(client.hgetall(key).items())
            elif kind == "zset":
                content = client.zrange(key, 0, -1, withscores=True)
            else:
                content = kind
            pttl = client.pttl(key)
            out[(dbid, key)] = (kind, content, pttl if pttl < 0 else int(time.time() * 1000) + pttl)
    client.execute_command("SELECT", home)
    return out


def assert_same(ours: dict, real: dict) -> None:
    """Same keys, types and contents; deadlines (absolute, in ms) within a few seconds of each other."""
    assert set(ours) == set(real), f"keys differ: only ours {set(ours) - set(real)}, only real {set(real) - set(ours)}"
    for key in real:
        assert ours[key][:2] == real[key][:2], f"key {key} differs"
        a, b = ours[key][2], real[key][2]
        assert (a < 0 and a == b) or (a >= 0 and b >= 0 and abs(a - b) < 5000), f"deadline of {key}: {a} vs {b}"


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A real redis-server holding the dataset; yields (server, expected snapshot)."""
    real_server_available(require=True)
    server = RealServer(tmp_path_factory.mktemp("source"))
    server.start()
    client = server.client()
    populate(client)
    expected = snapshot(client)
    yield server, client, expected
    client.close()
    server.stop()


def _real_dump(server: RealServer, client: redis.Redis, compression: str) -> Path:
    client.config_set("rdbcompression", compression)
    client.save()
    copy = server.workdir / f"real-{compression}.rdb"
    shutil.copy(server.workdir / "dump.rdb", copy)
    return copy


def assert_redis_loads(path: Path, workdir: Path, expected: dict) -> None:
    """The RDB file at ``path`` passes redis-check-rdb, and redis-server started on it holds ``expected``."""
    check = subprocess.run(["redis-check-rdb", str(path)], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "RDB looks OK" in check.stdout
    workdir.mkdir()
    shutil.copy(path, workdir / "dump.rdb")
    target = RealServer(workdir)
    target.start()
    try:
        assert_same(snapshot(target.client()), expected)
    finally:
        target.stop()


@pytest.mark.parametrize("compression", ["yes", "no"])
def test_redis_dump_loads_into_ours(source, tmp_path, compression):
    server, client, expected = source
    path = _real_dump(server, client, compression)
    shutil.copy(path, tmp_path / "dump.rdb")
    ours = OurServer(tmp_path)
    ours.start()
    try:
        mine = ours.client()
        assert_same(snapshot(mine), expected)
        info = mine.info("persistence")
        assert info["rdb_last_load_keys_loaded"] == len(expected)
        assert "Done loading RDB" in ours.log_tail(50)
    finally:
        ours.stop()


def test_our_dump_loads_into_redis(source, tmp_path):
    server, client, expected = source
    path = _real_dump(server, client, "yes")
    shutil.copy(path, tmp_path / "dump.rdb")
    ours = OurServer(tmp_path)
    ours.start()
    try:
        mine = ours.client()
        assert_same(snapshot(mine), expected)
        assert mine.save()  # rewrites dump.rdb with our encoder
    finally:
        ours.stop()
    written = tmp_path / "dump.rdb"
    assert written.read_bytes() != path.read_bytes()
    assert_redis_loads(written, tmp_path / "real", expected)


def test_bgsave_output_loads_into_redis(tmp_path):
    """A BGSAVE (forked child) file is a valid RDB for redis-check-rdb and redis-server."""
    real_server_available(require=True)
    ours = OurServer(tmp_path)
    ours.start()
    try:
        mine = ours.client()
        p = mine.pipeline(transaction=False)
        for i in range(2000):
            p.set(f"k{i}", f"v{i}" * (i % 50))
        p.set("ttl", "x", px=600_000)
        p.execute()
        before = mine.lastsave()
        assert mine.bgsave() in (True, b"Background saving started")
        import time

        deadline = time.monotonic() + 20
        while mine.info("persistence")["rdb_bgsave_in_progress"] and time.monotonic() < deadline:
            time.sleep(0.05)
        info = mine.info("persistence")
        assert info["rdb_bgsave_in_progress"] == 0
        assert info["rdb_last_bgsave_status"] == "ok"
        assert info["rdb_changes_since_last_save"] == 0
        assert mine.lastsave() >= before
        expected = snapshot(mine)
    finally:
        ours.stop()
    assert not [p for p in os.listdir(tmp_path) if p.startswith("temp-")]
    assert_redis_loads(tmp_path / "dump.rdb", tmp_path / "real", expected)


def test_dump_restore_both_ways(source, ours):
    """DUMP from redis-server RESTOREs into ours, and ours RESTOREs back, for every key."""
    server, client, expected = source
    mine = ours.client()
    mine.flushall()
    scratch = redis.Redis(port=server.port, db=9)
    scratch.flushdb()
    try:
        for (dbid, key), (_kind, _content, _ttl) in expected.items():
            client.execute_command("SELECT", dbid)
            payload = client.dump(key)
            client.execute_command("SELECT", 0)
            mine.execute_command("SELECT", dbid)
            assert mine.restore(key, 0, payload) in (True, b"OK")
            back = mine.dump(key)
            mine.execute_command("SELECT", 0)
            assert scratch.restore(key, 0, back, replace=True) in (True, b"OK")
        theirs_again = {k: v for k, v in snapshot(scratch).items() if k[0] == 9}
        for (_dbid, key), (kind, content, _ttl) in expected.items():
            assert theirs_again[(9, key)][:2] == (kind, content), key
        ours_view = snapshot(mine)
        for key, (kind, content, _ttl) in expected.items():
            assert ours_view[key][:2] == (kind, content), key
    finally:
        scratch.flushdb()
        scratch.close()
        mine.flushall()


def test_restore_errors_match_redis(diff, ours):
    diff.check("SET", "src", "value")
    raw = redis.Redis(port=ours.port).dump("src")
    diff.check("RESTORE", "src", "0", raw)
    diff.check("RESTORE", "dst", "-1", raw)
    diff.check("RESTORE", "dst", "abc", raw)
    diff.check("RESTORE", "dst", "0", raw[:-1] + bytes([raw[-1] ^ 1]))
    diff.check("RESTORE", "dst", "0", b"short")
    diff.check("RESTORE", "dst", "0", raw, "IDLETIME", "-1")
    diff.check("RESTORE", "dst", "0", raw, "FREQ", "256")
    diff.check("RESTORE", "dst", "0", raw, "IDLETIME", "1", "FREQ", "1")
    diff.check("RESTORE", "dst", "0", raw, "BOGUS")
    diff.check("RESTORE", "dst", "0", raw, "REPLACE", "ABSTTL")
    diff.check("GET", "dst")
    diff.check("RESTORE", "dst", "0", raw)
    diff.check("RESTORE", "dst", "0", raw, "REPLACE")
    diff.check("RESTORE", "gone", "1", raw, "ABSTTL")
    diff.check("EXISTS", "gone")
    diff.check("DUMP", "nosuchkey")


def test_restore_ttl(r):
    r.set("a", "1")
    payload = r.dump("a")
    assert r.restore("b", 50_000, payload)
    assert 40_000 < r.pttl("b") <= 50_000
    import time

    deadline = int(time.time() * 1000) + 100_000
    assert r.restore("c", deadline, payload, absttl=True)
    assert 90_000 < r.pttl("c") <= 100_000
    with pytest.raises(redis.ResponseError, match="BUSYKEY Target key name already exists."):
        r.restore("c", 0, payload)
    with pytest.raises(redis.ResponseError, match="DUMP payload version or checksum are wrong"):
        r.restore("d", 0, payload[:-2] + b"\x00\x00")


def _start_expect_failure(workdir: Path) -> tuple[int, str]:
    """Run our server on ``workdir`` and return (exit code, output): it must refuse to start."""
    server = OurServer(workdir)
    server.port = 1  # never listened on: the server must stop before opening its port
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    done = subprocess.run(server.command(), cwd=workdir, env=env, capture_output=True, text=True, timeout=60)
    return done.returncode, done.stdout + done.stderr


def test_corrupt_and_truncated_files_are_refused(source, tmp_path):
    server, client, _expected = source
    good = _real_dump(server, client, "yes").read_bytes()
    cases = {
        "truncated": good[: len(good) // 2],
        "flipped": good[: len(good) // 2] + bytes([good[len(good) // 2] ^ 0x55]) + good[len(good) // 2 + 1:],
        "signature": b"RADIS" + good[5:],
        "no-checksum": good[:-8],
    }
    for name, content in cases.items():
        workdir = tmp_path / name
        workdir.mkdir()
        (workdir / "dump.rdb").write_bytes(content)
        code, output = _start_expect_failure(workdir)
        assert code == 1, (name, output)
        assert "dump.rdb" in output and "offset" in output, (name, output)
        # The file is left exactly as it was.
        assert (workdir / "dump.rdb").read_bytes() == content, name


def no_retry(server) -> redis.Redis:
    """A client that does not reconnect and resend: SHUTDOWN must be sent exactly once."""
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return server.client(retry=Retry(NoBackoff(), 0))


def test_save_shutdown_and_lastsave(tmp_path):
    ours = OurServer(tmp_path, extra=["--save", "3600 1"])
    ours.start()
    client = no_retry(ours)
    client.set("persisted", "yes")
    assert client.save()
    assert abs(client.lastsave().timestamp() - __import__("time").time()) < 5
    client.set("after-save", "1")
    with pytest.raises(redis.ResponseError, match="syntax error"):
        client.execute_command("SHUTDOWN", "SAVE", "NOSAVE")
    with pytest.raises(redis.ResponseError, match="No shutdown in progress"):
        client.execute_command("SHUTDOWN", "ABORT")
    with pytest.raises(redis.ConnectionError):
        client.execute_command("SHUTDOWN")
    assert ours.proc.wait(timeout=20) == 0
    ours.proc = None
    ours.start()
    client = no_retry(ours)
    assert client.get("persisted") == b"yes"
    assert client.get("after-save") == b"1"  # save points set: SHUTDOWN saved
    client.set("not-saved", "1")
    with pytest.raises(redis.ConnectionError):
        client.execute_command("SHUTDOWN", "NOSAVE")
    ours.proc.wait(timeout=20)
    ours.proc = None
    ours.start()
    assert ours.client().get("not-saved") is None
    ours.stop()


def test_save_points_fire_from_cron(tmp_path):
    ours = OurServer(tmp_path, extra=["--save", "1 2"])
    ours.start()
    try:
        client = ours.client()
        client.set("a", 1)
        client.set("b", 2)
        import time

        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            info = client.info("persistence")
            if info["rdb_saves"] >= 1 and not info["rdb_bgsave_in_progress"]:
                break
            time.sleep(0.1)
        assert client.info("persistence")["rdb_saves"] >= 1
        assert (tmp_path / "dump.rdb").exists()
        assert client.info("persistence")["rdb_changes_since_last_save"] == 0
    finally:
        ours.stop()


def test_bgsave_errors_and_debug_reload(r):
    with pytest.raises(redis.ResponseError, match="syntax error"):
        r.execute_command("BGSAVE", "NOW")
    r.set("k", "v")
    r.set("t", "v", px=100_000)
    assert r.execute_command("DEBUG", "RELOAD") in (True, b"OK")
    assert r.get("k") == b"v"
    assert 0 < r.pttl("t") <= 100_000
    with pytest.raises(redis.ResponseError, match="DEBUG RELOAD only supports"):
        r.execute_command("DEBUG", "RELOAD", "BOGUS")
    # Two BGSAVEs in one pipeline: the second runs before the first child can finish.
    pipe = r.pipeline(transaction=False)
    pipe.execute_command("BGSAVE")
    pipe.execute_command("BGSAVE", "SCHEDULE")
    first, second = pipe.execute(raise_on_error=False)
    assert first in (True, b"Background saving started")
    assert isinstance(second, redis.ResponseError) and str(second) == "Background save already in progress"
    with pytest.raises(redis.ResponseError, match="already in progress"):
        r.execute_command("SAVE") if r.info("persistence")["rdb_bgsave_in_progress"] else (_ for _ in ()).throw(
            redis.ResponseError("Background save already in progress"))


def _decoded_snapshot(result) -> dict:
    """The same shape as ``snapshot``, from values our reader decoded (no server involved)."""
    out = {}
    for dbid, (data, expires) in result.databases.items():
        for key, value in data.items():
            kind = "string" if isinstance(value, (bytes, bytearray)) else value.TYPE_NAME.decode()
            if kind == "string":
                content: object = bytes(value)
            elif kind == "list":
                content = list(value)
            elif kind == "set":
                content = sorted(value)
            elif kind == "hash":
                content = sorted(value.items())
            else:
                content = [(m, s) for m, s in value.items()]
            out[(dbid, key)] = (kind, content, expires.get(key, -1))
    return out


@pytest.mark.parametrize("compression", ["yes", "no"])
def test_reader_decodes_redis_dump(source, compression):
    """Our RDB reader, on redis-server's file, yields exactly what redis-server serves."""
    from server.persistence import rdb

    server, client, expected = source
    result = rdb.load_file(str(_real_dump(server, client, compression)))
    assert result.version == 10
    assert result.aux[b"redis-ver"] == b"7.0.15" or result.aux[b"redis-ver"].startswith(b"7.")
    assert_same(_decoded_snapshot(result), expected)


def test_writer_output_is_read_by_redis(source, tmp_path):
    """Our writer's file, from the decoded dataset, loads into redis-server unchanged."""
    from server.persistence import rdb

    server, client, expected = source
    result = rdb.load_file(str(_real_dump(server, client, "yes")))
    written = tmp_path / "written.rdb"
    dbs = [(dbid, data, expires) for dbid, (data, expires) in sorted(result.databases.items())]
    rdb.save_file(str(written), dbs)
    assert_redis_loads(written, tmp_path / "real", expected)


def test_flushall_and_sigterm_save_with_save_points(tmp_path):
    ours = OurServer(tmp_path, extra=["--save", "3600 1"])
    ours.start()
    client = ours.client()
    client.set("k", "v")
    assert client.save()
    saves = client.info("persistence")["rdb_saves"]
    client.flushall()  # with save points set, Redis writes the now empty dataset at once
    assert client.info("persistence")["rdb_saves"] == saves + 1
    ours.kill()
    ours.start()
    client = ours.client()
    assert client.dbsize() == 0
    client.set("on-sigterm", "saved")
    assert ours.stop() == 0  # SIGTERM: the final save happens because save points are set
    assert "Saving the final RDB snapshot before exiting." in ours.log_tail(20)
    ours.start()
    assert ours.client().get("on-sigterm") == b"saved"
    ours.stop()


def test_info_persistence_fields(r):
    info = r.info("persistence")
    for name in ("loading", "rdb_changes_since_last_save", "rdb_bgsave_in_progress", "rdb_last_save_time",
                 "rdb_last_bgsave_status", "rdb_last_bgsave_time_sec", "rdb_saves", "aof_enabled",
                 "aof_rewrite_in_progress", "aof_rewrite_scheduled", "aof_last_bgrewrite_status",
                 "aof_last_write_status", "rdb_last_load_keys_loaded"):
        assert name in info, name
    before = info["rdb_changes_since_last_save"]
    r.set("x", 1)
    r.set("y", 2)
    assert r.info("persistence")["rdb_changes_since_last_save"] == before + 2
    assert r.info("persistence")["aof_enabled"] == 0


@pytest.mark.parametrize("kind", ["ours", "real"])
def test_failed_saves_and_shutdown_refusal(tmp_path, kind):
    """A directory that vanished: SAVE fails with ERR, BGSAVE reports err and MISCONF blocks writes,
    SHUTDOWN refuses unless FORCE; the same on both servers."""
    if kind == "real":
        real_server_available(require=True)
    cls = OurServer if kind == "ours" else RealServer
    server = cls(tmp_path, extra=["--enable-protected-configs", "yes", "--save", "3600 1"])
    server.start()
    client = no_retry(server)
    client.set("k", "v")
    doomed = tmp_path / "doomed"
    doomed.mkdir()
    client.config_set("dir", str(doomed))
    doomed.rmdir()
    with pytest.raises(redis.ResponseError) as excinfo:
        client.save()
    assert str(excinfo.value) == ""  # a bare "-ERR" reply: redis-py strips the code
    client.bgsave()
    deadline = time.monotonic() + 20
    while client.info("persistence")["rdb_bgsave_in_progress"] and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # the cron notices the child's exit
    assert client.info("persistence")["rdb_last_bgsave_status"] == "err"
    with pytest.raises(redis.ResponseError, match="Errors trying to SHUTDOWN. Check logs."):
        client.execute_command("SHUTDOWN")
    # MISCONF: writes, and PING, are refused while the last BGSAVE failed ...
    for command in (("PING",), ("SET", "k", "w")):
        with pytest.raises(redis.ResponseError, match="^MISCONF Redis is configured to save RDB snapshots"):
            client.execute_command(*command)
    assert client.get("k") == b"v"
    # ... unless stop-writes-on-bgsave-error is off.
    client.config_set("stop-writes-on-bgsave-error", "no")
    assert client.ping() and client.set("k", "w")
    with pytest.raises(redis.ConnectionError):
        client.execute_command("SHUTDOWN", "FORCE")
    assert server.proc.wait(timeout=20) == 0
    server.proc = None


def test_restore_idletime_and_freq_match_redis(diff, ours, real):
    redis.Redis(port=real.port).set("src", "v")
    payload = redis.Redis(port=real.port).dump("src")
    diff.check("RESTORE", "idle", "0", payload, "IDLETIME", "1000")
    # Both LRU clocks tick once a second, so the two answers may straddle a tick.
    mine, theirs = diff.call("OBJECT", "IDLETIME", "idle", compare=False)
    assert mine.startswith(b":") and theirs.startswith(b":")
    assert 1000 <= int(mine[1:]) <= 1002 and abs(int(mine[1:]) - int(theirs[1:])) <= 1
    diff.check("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu")
    try:
        diff.check("RESTORE", "freq", "0", payload, "FREQ", "100")
        diff.check("OBJECT", "FREQ", "freq")
    finally:
        diff.check("CONFIG", "SET", "maxmemory-policy", "noeviction")
