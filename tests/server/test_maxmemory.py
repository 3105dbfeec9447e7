"""maxmemory and eviction policies: the server stays near its limit and evicts per policy."""

from __future__ import annotations

import time

import pytest
import redis

from tests.servers import OurServer

VALUE = b"v" * 1000


def rss(server: OurServer) -> int:
    with open(f"/proc/{server.proc.pid}/statm") as fh:
        import os

        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.fixture
def limited(tmp_path):
    servers = []

    def start(policy: str, extra_mb: int = 12):
        probe = OurServer(tmp_path / f"probe-{len(servers)}")
        probe.start()
        base = int(redis.Redis(port=probe.port).info("memory")["used_memory"])
        probe.stop()
        limit = base + extra_mb * 1024 * 1024
        server = OurServer(tmp_path / f"s-{len(servers)}", extra=["--maxmemory", str(limit),
                                                                  "--maxmemory-policy", policy])
        server.start()
        servers.append(server)
        return server, limit

    yield start
    for server in servers:
        server.stop()


def fill(client: redis.Redis, count: int, prefix: str = "k", ex: int | None = None) -> int:
    errors = 0
    pipe = client.pipeline(transaction=False)
    for i in range(count):
        pipe.set(f"{prefix}:{i}", VALUE, ex=ex)
        if i % 500 == 499:
            errors += sum(isinstance(r, redis.ResponseError) for r in pipe.execute(raise_on_error=False))
    errors += sum(isinstance(r, redis.ResponseError) for r in pipe.execute(raise_on_error=False))
    return errors


def test_noeviction_refuses_writes_with_oom_but_serves_reads(limited):
    server, limit = limited("noeviction")
    client = redis.Redis(port=server.port)
    errors = fill(client, 40_000)
    assert errors > 0
    assert limit * 0.9 < client.info("memory")["used_memory"] <= limit * 1.05
    with pytest.raises(redis.ResponseError, match="command not allowed when used memory > 'maxmemory'"):
        for i in range(1000):
            client.set(f"more:{i}", VALUE)
    assert client.get("k:0") == VALUE  # reads still work
    assert client.delete("k:0") == 1  # and deletes (not denyoom)
    assert int(client.info("stats")["evicted_keys"]) == 0


def test_allkeys_random_stays_near_the_limit(limited):
    server, limit = limited("allkeys-random")
    client = redis.Redis(port=server.port)
    start_rss = rss(server)
    assert fill(client, 40_000) == 0
    info = client.info()
    assert info["evicted_keys"] > 20_000
    assert info["used_memory"] <= limit * 1.02
    assert 0 < client.dbsize() < 20_000
    # The process itself stays bounded too: 40 MB were written, far less is kept.
    assert rss(server) - start_rss < 30 * 1024 * 1024


def test_volatile_ttl_evicts_soonest_expiring_first_and_oom_without_volatile_keys(limited):
    server, limit = limited("volatile-ttl", extra_mb=12)
    client = redis.Redis(port=server.port)
    fill(client, 2000, prefix="persistent")  # ~2.2 MB without TTL: never evicted
    fill(client, 3000, prefix="long", ex=100_000)
    fill(client, 30_000, prefix="short", ex=1000)
    assert client.exists("persistent:0") == 1
    assert int(client.info("stats")["evicted_keys"]) > 0
    long_left = sum(client.exists(f"long:{i}") for i in range(0, 3000, 10))
    assert long_left >= 290  # the far-deadline keys survived; the short ones went first


def test_volatile_policy_with_nothing_volatile_gives_oom(limited):
    server, limit = limited("volatile-lru")
    client = redis.Redis(port=server.port)
    assert fill(client, 40_000) > 0
    assert int(client.info("stats")["evicted_keys"]) == 0


def test_evicted_keys_emit_notifications(limited):
    server, limit = limited("allkeys-random", extra_mb=4)
    client = redis.Redis(port=server.port)
    client.config_set("notify-keyspace-events", "Ee")
    sub = client.pubsub()
    sub.subscribe("__keyevent@0__:evicted")
    fill(client, 10_000)
    seen = 0
    for _ in range(50):
        message = sub.get_message(timeout=0.2)
        if message and message["type"] == "message":
            seen += 1
    assert seen > 0


@pytest.mark.parametrize("policy", ["allkeys-lru", "allkeys-lfu"])
def test_lru_and_lfu_keep_the_keys_in_use(limited, policy):
    server, limit = limited(policy, extra_mb=8)
    client = redis.Redis(port=server.port)
    hot = [f"hot:{i}" for i in range(500)]
    for key in hot:
        client.set(key, VALUE)
    for round_ in range(6):
        fill(client, 3000, prefix=f"cold{round_}")
        time.sleep(1.1)  # Redis's LRU clock, like ours, ticks once a second
        pipe = client.pipeline(transaction=False)
        for key in hot:
            pipe.get(key)
        pipe.execute()
    assert int(client.info("stats")["evicted_keys"]) > 8_000
    hot_left = sum(client.exists(k) for k in hot)
    cold_left = sum(client.exists(f"cold0:{i}") for i in range(500))
    assert hot_left > 400, (hot_left, cold_left)
    if policy == "allkeys-lru":
        assert cold_left < hot_left / 4  # the oldest cold keys went first
    else:
        # LFU keeps what is used often; among keys used once it has no preference for age.
        assert cold_left < hot_left / 2
