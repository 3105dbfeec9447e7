"""Streams move between our server and redis-server 7.0: RDB files and DUMP payloads, both ways.

The dataset covers what the stream record carries: several listpack nodes
(``stream-node-max-entries`` lowered), entries with the master fields and with
others, integer-looking and long values, tombstones from XDEL, trimmed heads,
XSETID counters, consumer groups with pending entries owned by several
consumers, NOACK reads, an empty stream with a group. Each test compares the
two servers through commands whose replies carry everything (XRANGE, XINFO
STREAM FULL with its delivery and seen times, XINFO GROUPS, XPENDING).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import redis

from tests.servers import OurServer, RealServer, real_server_available

KEYS = ("s:nodes", "s:groups", "s:empty", "s:trimmed", "s:setid")


def populate(c: redis.Redis) -> None:
    c.config_set("stream-node-max-entries", 5)
    for i in range(1, 40):
        fields = {"f": i, "g": "x" * (i % 7)} if i % 3 else {"other": "v", "n": -i * 1000, "big": "y" * 300}
        c.xadd("s:nodes", fields, id=f"{i * 10}-{i % 4}")
    c.xdel("s:nodes", "20-2", "30-3", "110-3", "120-0", "130-1", "140-2", "150-3")  # a node emptied too
    for i in range(1, 25):
        c.xadd("s:groups", {"job": f"j{i}", "n": i}, id=f"1000-{i}")
    c.xgroup_create("s:groups", "workers", id="0")
    c.xgroup_create("s:groups", "audit", id="1000-5")
    c.xgroup_create("s:groups", "idle", id="$")
    c.xreadgroup("workers", "alice", {"s:groups": ">"}, count=5)
    c.xreadgroup("workers", "bob", {"s:groups": ">"}, count=4)
    c.xack("s:groups", "workers", "1000-2", "1000-7")
    c.xclaim("s:groups", "workers", "carol", 0, ["1000-3"], idle=5000, retrycount=7)
    c.xreadgroup("audit", "dave", {"s:groups": ">"}, count=3, noack=True)
    c.xgroup_createconsumer("s:groups", "audit", "erin")
    c.xdel("s:groups", "1000-4")
    c.xgroup_create("s:empty", "g", id="$", mkstream=True)
    for i in range(1, 30):
        c.xadd("s:trimmed", {"v": i}, id=f"5-{i}")
    c.xtrim("s:trimmed", maxlen=7)
    c.xadd("s:setid", {"a": "1"}, id="1-1")
    c.execute_command("XSETID", "s:setid", "99-9", "ENTRIESADDED", "50", "MAXDELETEDID", "50-0")
    c.config_set("stream-node-max-entries", 100)


def snapshot(c: redis.Redis) -> dict:
    view = {}
    for key in KEYS:
        info = c.execute_command("XINFO", "STREAM", key, "FULL", "COUNT", "0")
        view[key] = {
            "range": c.xrange(key),
            "full": info,
            "groups": c.execute_command("XINFO", "GROUPS", key),
            "pending": [c.execute_command("XPENDING", key, g[b"name"] if isinstance(g, dict) else g[1])
                        for g in c.execute_command("XINFO", "GROUPS", key)],
        }
    return view


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    real_server_available(require=True)
    server = RealServer(tmp_path_factory.mktemp("streams-source"))
    server.start()
    client = server.client()
    populate(client)
    yield server, client, snapshot(client)
    client.close()
    server.stop()


def start(cls, workdir: Path, rdb: Path):
    shutil.copy(rdb, workdir / "dump.rdb")
    server = cls(workdir)
    server.start()
    return server


def test_redis_dump_loads_into_ours_and_back(source, tmp_path):
    server, client, expected = source
    client.save()
    ours = start(OurServer, tmp_path, server.workdir / "dump.rdb")
    try:
        mine = ours.client()
        assert snapshot(mine) == expected
        # Loaded node by node: appending and approximate trimming go on exactly as in Redis.
        assert mine.save()
    finally:
        ours.stop()
    written = tmp_path / "dump.rdb"
    check = subprocess.run(["redis-check-rdb", str(written)], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0 and "RDB looks OK" in check.stdout, check.stdout + check.stderr
    target_dir = tmp_path / "real"
    target_dir.mkdir()
    target = start(RealServer, target_dir, written)
    try:
        assert snapshot(target.client()) == expected
    finally:
        target.stop()


def test_our_streams_load_into_redis(tmp_path):
    real_server_available(require=True)
    ours = OurServer(tmp_path)
    ours.start()
    try:
        mine = ours.client()
        populate(mine)
        expected = snapshot(mine)
        assert mine.save()
    finally:
        ours.stop()
    target_dir = tmp_path / "real"
    target_dir.mkdir()
    target = start(RealServer, target_dir, tmp_path / "dump.rdb")
    try:
        theirs = target.client()
        assert snapshot(theirs) == expected
        # Redis keeps writing to the nodes we wrote: its next entries land as ours do.
        before = theirs.xlen("s:nodes")
        theirs.xadd("s:nodes", {"f": "1"}, id="500-0")
        assert theirs.xlen("s:nodes") == before + 1
    finally:
        target.stop()


def test_dump_restore_both_ways(source, ours):
    server, client, expected = source
    mine = ours.client()
    mine.flushall()
    scratch = redis.Redis(port=server.port, db=9)
    try:
        for key in KEYS:
            payload = client.dump(key)
            assert mine.restore(key, 0, payload)
            assert scratch.restore(key, 0, mine.dump(key), replace=True)
        assert snapshot(mine) == expected
        assert snapshot(scratch) == expected
    finally:
        scratch.flushdb()
        scratch.close()
        mine.flushall()


@pytest.mark.parametrize("body", [
    b"\x00",  # no nodes, then nothing where the length should be
    b"\x01\x10" + b"\x00" * 16 + b"\x05hello",  # a node whose "listpack" is not one
    b"\x00\x05\x00\x00\x00\x00\x00\x00\x00\x00",  # length 5 with no entries
])
def test_corrupt_stream_payloads_are_refused(ours, real, body):
    """RESTORE of a well-checksummed but broken stream record fails as in Redis, and leaves no key."""
    from server.persistence.crc64 import crc64

    payload = b"\x13" + body + (10).to_bytes(2, "little")
    payload += crc64(0, payload).to_bytes(8, "little")
    replies = []
    for port in (ours.port, real.port):
        client = redis.Redis(port=port)
        client.delete("bad")
        with pytest.raises(redis.ResponseError) as err:
            client.restore("bad", 0, payload)
        replies.append(str(err.value))
        assert not client.exists("bad")
    assert replies[0] == replies[1] == "Bad data format"
