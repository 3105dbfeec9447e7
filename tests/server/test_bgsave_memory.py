"""A BGSAVE child leaves the parent's pages shared: its extra memory stays a fraction of the dataset.

CPython writes an object's reference count whenever code takes a reference to
it, so a child that walks the keyspace copies every page of it (the whole
dataset, again). The child reads string databases through marshal instead,
which touches neither keys nor values, and the parent freezes the cyclic
collector's view before forking.
"""

from __future__ import annotations

import os
import time

from tests.servers import OurServer

PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as fh:
        return int(fh.read().split()[1]) * PAGE


def _private_dirty(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Private_Dirty:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/task/{current}/children") as fh:
                kids = [int(x) for x in fh.read().split()]
        except OSError:
            kids = []
        found += kids
        todo += kids
    return found


def test_bgsave_child_copies_little_of_the_dataset(tmp_path):
    server = OurServer(tmp_path)
    server.start()
    try:
        client = server.client()
        assert server.proc is not None
        pid = server.proc.pid
        empty = _rss(pid)
        pipe = client.pipeline(transaction=False)
        for start in range(0, 400_000, 10_000):
            pipe.mset({b"key:%d" % i: b"value:%d" % i for i in range(start, start + 10_000)})
        pipe.execute()
        for i in range(0, 400_000, 20):
            pipe.pexpireat(b"key:%d" % i, 4_000_000_000_000)
            if i % 100_000 == 0:
                pipe.execute()
        pipe.execute()
        dataset = _rss(pid) - empty
        assert dataset > 30 * 1024 * 1024
        client.bgsave()
        peak = 0
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            children = _children(pid)
            if not children and not client.info("persistence")["rdb_bgsave_in_progress"]:
                break
            peak = max(peak, sum(_private_dirty(child) for child in children))
            time.sleep(0.002)
        assert client.info("persistence")["rdb_last_bgsave_status"] == "ok"
        assert peak > 0
        # Walking the keyspace copied all of it (99%); the marshal image and its
        # conversion cost about half at this small scale (a quarter at 1M keys, see
        # benchmarks/persistence.py), TTLs included.
        assert peak < 0.5 * dataset, f"the child copied {peak / 1e6:.1f} MB of a {dataset / 1e6:.1f} MB dataset"
        server.stop()
        server.start()
        assert server.client().dbsize() == 400_000
        assert server.client().pttl(b"key:0") > 0
    finally:
        server.stop()
