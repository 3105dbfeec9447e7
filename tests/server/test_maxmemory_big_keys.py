"""maxmemory sees one big key among many small ones.

``used_memory`` used to come from a sample of 32 keys: a list grown far past the
limit among thousands of small keys was almost never sampled, so nothing was
evicted and the process grew without bound. Keys are now accounted as they grow.
Scaled down from the report (500 MB under 50 MB): a list grown toward 20 MB
under a 5 MB allowance.
"""

from __future__ import annotations

import os
import time

import redis

from tests.servers import OurServer

ELEMENT = b"e" * 100
CHUNK = [ELEMENT] * 1000  # about 100 KB per RPUSH
MB = 1024 * 1024


def _rss(server: OurServer) -> int:
    assert server.proc is not None
    with open(f"/proc/{server.proc.pid}/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _start(tmp_path, name: str, maxmemory: int, policy: str) -> tuple[OurServer, redis.Redis]:
    server = OurServer(tmp_path / name, extra=["--maxmemory", str(maxmemory), "--maxmemory-policy", policy])
    server.start()
    return server, server.client()


def _small_keys(client: redis.Redis, count: int = 10_000) -> None:
    pipe = client.pipeline(transaction=False)
    for i in range(count):
        pipe.set(f"small:{i}", b"x" * 50)
    pipe.execute()


def _grow(client: redis.Redis, target: int) -> int:
    """RPUSH chunks into one list until ``target`` bytes of elements or an OOM; the bytes pushed."""
    pushed = 0
    while pushed < target:
        try:
            client.rpush("big", *CHUNK)
        except redis.exceptions.OutOfMemoryError:
            break
        pushed += len(CHUNK) * len(ELEMENT)
        time.sleep(0.001)
    return pushed


def test_used_memory_tracks_a_big_list(tmp_path):
    server, client = _start(tmp_path, "track", 1024 * MB, "noeviction")
    try:
        _small_keys(client)
        time.sleep(0.3)
        used_before, rss_before = client.info("memory")["used_memory"], _rss(server)
        assert _grow(client, 20 * MB) >= 20 * MB
        time.sleep(0.3)  # a cron tick measures the list
        used_growth = client.info("memory")["used_memory"] - used_before
        rss_growth = _rss(server) - rss_before
        assert rss_growth > 15 * MB
        assert abs(used_growth - rss_growth) <= 0.2 * rss_growth, (used_growth, rss_growth)
    finally:
        server.stop()


def test_noeviction_refuses_to_grow_a_big_list_past_the_limit(tmp_path):
    probe, probe_client = _start(tmp_path, "probe", 1024 * MB, "noeviction")
    base = probe_client.info("memory")["used_memory"]
    probe.stop()
    limit = base + 5 * MB
    server, client = _start(tmp_path, "noeviction", limit, "noeviction")
    try:
        _small_keys(client)
        rss_before = _rss(server)
        pushed = _grow(client, 20 * MB)
        assert pushed < 8 * MB, f"{pushed / MB:.1f} MB pushed under a 5 MB allowance"
        time.sleep(0.3)
        assert client.info("memory")["used_memory"] <= limit * 1.1
        assert _rss(server) - rss_before < 12 * MB
    finally:
        server.stop()


def test_allkeys_lru_evicts_while_a_big_list_grows(tmp_path):
    probe, probe_client = _start(tmp_path, "probe", 1024 * MB, "noeviction")
    base = probe_client.info("memory")["used_memory"]
    probe.stop()
    limit = base + 5 * MB
    server, client = _start(tmp_path, "lru", limit, "allkeys-lru")
    try:
        _small_keys(client)
        rss_before = _rss(server)
        _grow(client, 20 * MB)
        time.sleep(0.3)
        info = client.info()
        assert info["evicted_keys"] > 0
        assert info["used_memory"] <= limit * 1.1
        assert _rss(server) - rss_before < 12 * MB
    finally:
        server.stop()
