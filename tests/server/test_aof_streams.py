"""Streams in the AOF: the effects Redis propagates, and the rewrite, replayed by us and by redis-server.

The incremental file must hold what reproduces the stream (generated IDs written
out, approximate trims made exact, XREADGROUP/XCLAIM/XAUTOCLAIM as the XCLAIMs
Redis propagates, a blocked XREADGROUP served later included); the rewritten
base (RESP, ``aof-use-rdb-preamble no``) must rebuild entries, counters, groups,
consumers and pending entries. Each directory is then loaded by our server and
by redis-server and both are compared (consumers' seen-times aside: a replay
recreates consumers at load time, in Redis too).
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import redis

from tests.server.test_aof import AOF, aof_dir, check_aof, incr_files, wait_until
from tests.servers import OurServer, RealServer, real_server_available


def strip_seen(value):
    if isinstance(value, dict):
        return {k: strip_seen(v) for k, v in value.items() if k not in ("seen-time", b"seen-time")}
    if isinstance(value, list):
        return [strip_seen(v) for v in value]
    return value


def snapshot(c: redis.Redis, keys=("s", "t", "empty")) -> dict:
    out = {}
    for key in keys:
        if not c.exists(key):
            out[key] = None
            continue
        out[key] = (c.xrange(key), strip_seen(c.xinfo_stream(key, full=True)), c.xpending(key, "g"))
    return out


def workload(c: redis.Redis, blocker: redis.Redis) -> None:
    for i in range(30):
        c.xadd("s", {"n": i, "pad": "p" * (i % 5)})  # auto IDs: logged with the generated ID
    c.xadd("s", {"n": "trim"}, maxlen=20, approximate=True)  # logged as MAXLEN = <length>
    c.xgroup_create("s", "g", id="0")
    c.xreadgroup("g", "alice", {"s": ">"}, count=5)
    c.xreadgroup("g", "bob", {"s": ">"}, count=3, noack=True)  # logged as XGROUP SETID + CREATECONSUMER
    first = c.xrange("s", count=2)
    c.xclaim("s", "g", "carol", 0, [first[1][0]], retrycount=4)
    c.xack("s", "g", first[0][0])
    c.xautoclaim("s", "g", "dave", 0, "0-0", count=2)
    c.xgroup_createconsumer("s", "g", "erin")
    c.xtrim("s", minid=c.xrange("s", count=4)[-1][0], approximate=False)
    c.xgroup_create("t", "g", id="$", mkstream=True)
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault(
        "r", blocker.xreadgroup("g", "waiter", {"t": ">"}, block=10000)))
    thread.start()
    wait_until(lambda: c.info("clients")["blocked_clients"] == 1)
    c.xadd("t", {"k": "v"}, id="5-5")
    thread.join(10)
    assert result["r"][0][1][0][0] == b"5-5"
    c.xgroup_create("empty", "g", id="$", mkstream=True)
    c.execute_command("XSETID", "empty", "9-9", "ENTRIESADDED", "3", "MAXDELETEDID", "8-0")
    c.xadd("t", {"k": "w"}, id="6-0")
    c.xdel("t", "6-0")


def load_both(tmp_path: Path, source: Path) -> tuple[dict, dict]:
    """Load a copy of the AOF directory in our server and in redis-server; their snapshots."""
    real_server_available(require=True)
    views = []
    for cls, name in ((OurServer, "ours-again"), (RealServer, "real")):
        workdir = tmp_path / name
        workdir.mkdir()
        shutil.copytree(aof_dir(source), aof_dir(workdir))
        server = cls(workdir, extra=["--appendonly", "yes"])
        server.start()
        try:
            views.append(snapshot(server.client()))
        finally:
            server.stop()
    return views[0], views[1]


def test_stream_effects_in_the_incremental_file(tmp_path):
    server = OurServer(tmp_path, extra=AOF)
    server.start()
    try:
        c = server.client()
        workload(c, server.client())
        before = snapshot(c)
    finally:
        server.stop()
    text = b"".join(p.read_bytes() for p in incr_files(tmp_path))
    assert b"XREADGROUP" not in text.upper() and b"XAUTOCLAIM" not in text.upper()
    assert b"$1\r\n*\r\n" not in text and b"$1\r\n~\r\n" not in text
    assert b"XCLAIM" in text and b"LASTID" in text and b"CREATECONSUMER" in text
    check_aof(tmp_path)
    ours, theirs = load_both(tmp_path, tmp_path)
    assert ours == theirs
    for key in ("s", "t"):  # entries and pending entries survive the replay
        assert ours[key][0] == before[key][0]
        assert ours[key][2] == before[key][2]


def test_rewrite_rebuilds_streams_with_groups(tmp_path):
    server = OurServer(tmp_path, extra=[*AOF, "--aof-use-rdb-preamble", "no"])
    server.start()
    try:
        c = server.client()
        workload(c, server.client())
        before = snapshot(c)
        c.bgrewriteaof()
        wait_until(lambda: c.info("persistence")["aof_rewrites"] == 1)
        wait_until(lambda: c.info("persistence")["aof_rewrite_in_progress"] == 0)
    finally:
        server.stop()
    base = (aof_dir(tmp_path) / "appendonly.aof.2.base.aof").read_bytes()
    for word in (b"XADD", b"XSETID", b"ENTRIESADDED", b"XGROUP", b"XCLAIM", b"CREATECONSUMER", b"MAXLEN"):
        assert word in base, word
    check_aof(tmp_path)
    ours, theirs = load_both(tmp_path, tmp_path)
    assert ours == theirs
    # The rewrite carries the entries and every pending entry whose stream entry still exists
    # (replayed XCLAIM ... FORCE drops the others, in Redis too).
    for key in ("s", "t", "empty"):
        assert ours[key][0] == before[key][0]
    assert ours["t"] == before["t"] and ours["empty"] == before["empty"]
    assert ours["s"][2]["pending"] == before["s"][2]["pending"] - 2
