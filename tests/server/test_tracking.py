"""redis-py's own client-side cache (RESP3, CLIENT TRACKING) stays coherent against our server.

The cached client reads keys (served from its cache on repeats), another client
writes them, and every later read must see the new value: the invalidation
pushes our server sends are what redis-py acts on.

redis-py enables its cache only for servers that report 7.4 or later (a policy
choice of the library: 7.0's tracking protocol is the same). The test lowers
that threshold to 7.0 and runs the same scenario against redis-server 7.0.15
too, so both servers are held to one behaviour.
"""

from __future__ import annotations

import time

import pytest
import redis
from redis.cache import CacheConfig
from redis.connection import CacheProxyConnection


def _wait_for(predicate, timeout: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


@pytest.mark.parametrize("which", ["ours", "real"])
def test_redis_py_client_side_cache_is_coherent(which, request, monkeypatch):
    port = request.getfixturevalue(which).port
    monkeypatch.setattr(CacheProxyConnection, "MIN_ALLOWED_VERSION", "7.0.0")
    cached = redis.Redis(port=port, protocol=3, cache_config=CacheConfig())
    writer = redis.Redis(port=port)
    try:
        writer.flushall()
        writer.mset({"a": "1", "b": "2"})
        writer.hset("h", mapping={"f": "v"})
        cache = cached.get_cache()
        assert cache is not None
        assert cached.get("a") == b"1"
        assert cached.get("b") == b"2"
        assert cached.hget("h", "f") == b"v"
        assert cache.size == 3  # three cached replies
        assert cached.get("a") == b"1"  # from the cache
        info = writer.info("clients")
        assert info["tracking_clients"] == 1
        writer.set("a", "changed")
        writer.hset("h", "f", "w")
        # redis-py drops the entries when it reads the pushes (on its next command).
        assert _wait_for(lambda: cached.get("a") == b"changed")
        assert cached.hget("h", "f") == b"w"
        assert cached.get("b") == b"2"
        for i in range(50):  # many round trips: the cache must follow every write
            writer.set("b", str(i))
            assert _wait_for(lambda i=i: cached.get("b") == str(i).encode())
        writer.expire("b", 1)
        writer.pexpire("b", 1)
        time.sleep(0.05)
        assert _wait_for(lambda: cached.get("b") is None)
        cached.get("a")
        writer.flushall()  # a null invalidation: everything goes
        assert _wait_for(lambda: cached.get("a") is None)
        assert cache.size <= 1
    finally:
        cached.close()
        writer.close()


def test_tracking_table_limit_and_info(ours):
    """tracking-table-max-keys: keys past the limit are invalidated early, INFO counts the table."""
    conn = redis.Redis(port=ours.port, protocol=3)
    admin = redis.Redis(port=ours.port)
    try:
        admin.flushall()
        admin.config_set("tracking-table-max-keys", 5)
        conn.execute_command("CLIENT", "TRACKING", "on")
        for i in range(20):
            conn.get(f"k{i}")
        stats = admin.info("stats")
        assert stats["tracking_total_keys"] <= 5
        assert stats["tracking_total_items"] == stats["tracking_total_keys"]
        assert admin.info("clients")["tracking_clients"] == 1
        conn.execute_command("CLIENT", "TRACKING", "off")
        assert admin.info("clients")["tracking_clients"] == 0
    finally:
        admin.config_set("tracking-table-max-keys", 1000000)
        conn.close()
        admin.close()


def test_evicted_and_expired_keys_are_invalidated(ours):
    """Keys removed by maxmemory eviction or by the active expiry cycle send invalidations too."""
    from tests.differential.harness import RawConnection, parse

    admin = redis.Redis(port=ours.port)
    tracker = RawConnection(ours.port)
    try:
        admin.flushall()
        tracker.call("HELLO", "3")
        assert tracker.call("CLIENT", "TRACKING", "on") == b"+OK\r\n"
        admin.mset({f"cached:{i}": "x" * 100 for i in range(50)})
        admin.set("short-lived", "v", px=50)
        for i in range(50):
            tracker.call("GET", f"cached:{i}")
        tracker.call("GET", "short-lived")
        used = int(admin.info("memory")["used_memory"])
        admin.config_set("maxmemory-policy", "allkeys-random")
        admin.config_set("maxmemory", used + 200_000)
        value = "y" * 1000
        for i in range(3000):
            try:
                admin.set(f"filler:{i}", value)
            except redis.OutOfMemoryError:
                break  # everything evictable went: enough
        admin.config_set("maxmemory", 0)
        invalidated: set[bytes] = set()
        deadline = time.monotonic() + 5
        while b"short-lived" not in invalidated and time.monotonic() < deadline:
            time.sleep(0.1)  # the active expiry cycle removes short-lived without anyone reading it
            tracker.send_raw(b"*1\r\n$4\r\nPING\r\n")
            while True:
                reply = parse(tracker.read_reply())
                if reply == b"PONG":
                    break
                assert reply[0] == b"invalidate"
                invalidated.update(reply[1])
        gone = {f"cached:{i}".encode() for i in range(50) if not admin.exists(f"cached:{i}")}
        assert gone, "the fill evicted some cached keys"
        assert gone <= invalidated
        assert b"short-lived" in invalidated
        assert not (invalidated - gone - {b"short-lived"}), "only removed keys are invalidated"
    finally:
        admin.config_set("maxmemory", 0)
        admin.config_set("maxmemory-policy", "noeviction")
        admin.flushall()
        tracker.close()
        admin.close()
