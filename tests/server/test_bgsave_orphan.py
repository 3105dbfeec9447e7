"""A BGSAVE child whose server died must not rename its snapshot over dump.rdb.

The server is killed with SIGKILL (as the OOM killer does) while its child is
writing. The old child must notice its parent is gone and exit within about a
second, renaming nothing and removing its temp file; a new server on the same
directory then saves newer keys, and that dump.rdb is the one left.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from server.persistence import rdb
from tests.servers import OurServer, process_alive


def _fill(client, elements: int) -> None:
    pipe = client.pipeline(transaction=False)
    per_key = 10_000
    for n in range(elements // per_key):
        pipe.rpush(f"list:{n}", *range(n * per_key, (n + 1) * per_key))
    pipe.execute()


def test_orphaned_bgsave_child_exits_without_renaming(tmp_path: Path):
    old = OurServer(tmp_path)
    old.start()
    try:
        client = old.client()
        _fill(client, 1_000_000)  # seconds of work for the child
        client.bgsave()
        deadline = time.monotonic() + 10
        temps: list[Path] = []
        while not temps and time.monotonic() < deadline:
            temps = list(tmp_path.glob("temp-*.rdb"))
            time.sleep(0.005)
        assert temps, "the BGSAVE child did not start writing"
        child = int(temps[0].stem.split("-")[1])
        assert process_alive(child)
    finally:
        old.kill()  # SIGKILL: no cleanup in the parent
    killed_at = time.monotonic()
    while process_alive(child) and time.monotonic() - killed_at < 30:
        time.sleep(0.01)
    gone_after = time.monotonic() - killed_at
    assert not (tmp_path / "dump.rdb").exists()  # the orphan renamed nothing

    new = OurServer(tmp_path)
    new.start()
    try:
        client = new.client()
        client.mset({f"new:{i}": i for i in range(1000)})
        assert client.save()
    finally:
        new.stop()

    loaded = rdb.load_file(str(tmp_path / "dump.rdb"))
    data = loaded.databases[0][0]
    assert len(data) == 1000 and b"new:999" in data  # the newer dump survived
    assert gone_after < 1.5, f"the orphaned child ran on for {gone_after:.2f}s"
    assert not list(tmp_path.glob("temp-*.rdb"))  # and its temp file is gone
    assert not os.path.exists(tmp_path / f"temp-{child}.rdb")
