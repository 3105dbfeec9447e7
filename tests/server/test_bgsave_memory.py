"""A BGSAVE child copies little of the parent's memory (issue 12, item 20).

The child sees the dataset copy-on-write: every page it writes to is copied.
Serialising in Python writes to every key and value (reference counts live in
the objects), so the child used to copy most of the dataset. String and hash
records are now written in C with borrowed references and the cyclic
collector stays off in the child, so what the child writes is its output.

Measured two ways: the private dirty memory of the server's descendants
(``/proc/<pid>/smaps_rollup``), sampled while the save runs, and the child's
own figure at its end (logged as Redis's child logs it: "RDB: N MB of memory
used by copy-on-write"). Both must stay under 30% of the dataset, the
server's RSS growth from loading it.
"""

from __future__ import annotations

import re
import subprocess
import time

import pytest

from server.datatypes.hash import HashValue
from server.memory import private_dirty_bytes, rss_bytes
from server.persistence import rdb
from tests.servers import OurServer, RealServer, descendants, process_rss, real_server_available, require_tool

KEYS = 300_000  # strings; a fifth as many hashes of five fields
COW_LINE = re.compile(r"RDB: (\d+) MB of memory used by copy-on-write")


def _strings() -> dict:
    return {b"key:%d" % i: b"value:%d:" % i + b"x" * 60 for i in range(KEYS)}


def _hashes() -> dict:
    return {b"key:%d" % i: HashValue({b"field:%d" % f: b"value:%d:%d" % (i, f) for f in range(5)}, 128, 64)
            for i in range(KEYS // 5)}


@pytest.mark.parametrize("build", [_strings, _hashes], ids=["strings", "hashes"])
def test_bgsave_child_copies_under_30_percent_of_the_dataset(tmp_path, build):
    assert rdb.encode_entries is not None, "server/persistence/_rdbwriter.c is not built: run `make ext` (or pip install -e .)"
    assert rss_bytes() > 0 and private_dirty_bytes() > 0, "/proc figures are needed"
    workdir = tmp_path / "server"
    workdir.mkdir()
    # Strings or hashes (the types written in C), some with TTLs, plus a few lists written in Python.
    data = build()
    keys = len(data)
    expires = {b"key:%d" % i: 4_000_000_000_000 + i for i in range(0, keys, 10)}
    rdb.save_file(str(workdir / "dump.rdb"), [(0, data, expires)])
    del data, expires

    server = OurServer(workdir, extra=["--save", ""])
    server.start(timeout=120)
    try:
        client = server.client(socket_timeout=60)
        assert client.dbsize() == keys
        for i in range(100):
            client.rpush(f"list:{i}", *range(50))
            client.hset(f"hash:{i}", mapping={"a": 1, "b": "two"})
        pid = server.proc.pid
        dataset = process_rss(pid) - int(client.info("memory")["used_memory_startup"])
        assert dataset > 30 * 1024 * 1024, dataset

        log_start = server.log_path.stat().st_size
        before = client.lastsave()
        assert client.bgsave()
        peak = samples = 0
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            children = descendants(pid)
            if children:
                peak = max(peak, sum(private_dirty_bytes(child) for child in children))
                samples += 1
            elif client.lastsave() != before or not client.info("persistence")["rdb_bgsave_in_progress"]:
                break
            time.sleep(0.005)
        assert client.info("persistence")["rdb_last_bgsave_status"] == "ok"
        log = server.log_path.read_bytes()[log_start:].decode(errors="replace")
        reported = COW_LINE.findall(log)
        assert reported, log
        own = int(reported[-1]) * 1024 * 1024
        assert samples > 0, "the child was never seen running"
        limit = 0.3 * dataset
        assert peak < limit and own < limit, (
            f"child copied {peak / 1e6:.1f} MB sampled, {own / 1e6:.0f} MB by its own count; "
            f"dataset {dataset / 1e6:.1f} MB")
    finally:
        server.stop()

    tool = require_tool("redis-check-rdb")
    result = subprocess.run([tool, str(workdir / "dump.rdb")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "RDB looks OK" in result.stdout, result.stdout + result.stderr
    real_server_available(require=True)
    real = RealServer(workdir)
    real.start(timeout=60)
    try:
        client = real.client()
        assert client.dbsize() == keys + 200
        if build is _strings:
            assert client.get("key:12345") == b"value:12345:" + b"x" * 60
        else:
            assert client.hgetall("key:12345") == {b"field:%d" % f: b"value:12345:%d" % f for f in range(5)}
        assert client.ttl("key:10") > 0 and client.ttl("key:11") == -1
        assert client.lrange("list:7", 0, -1) == [b"%d" % i for i in range(50)]
    finally:
        real.stop()
