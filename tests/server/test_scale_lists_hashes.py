"""A million elements: a list and a hash built through the socket, then queried near the end.

Both values are built with pipelined batches. Then the operations whose cost
must not grow with the size (a range at the tail, indexes at both ends, pops,
field reads, an HSCAN page) are timed through the socket against bounds of a
few tens of milliseconds: generous for a busy shared machine, yet below what
a walk over a million elements in Python code takes. ``benchmarks/scale_lists_hashes.py`` measures the same
operations precisely, in process, at 10k and 1M elements.
"""

from __future__ import annotations

import time

import redis

from tests.server.scale import BATCH, SIZE, timed


def test_million_element_list(ours):
    r = redis.Redis(port=ours.port, socket_timeout=60)
    r.delete("biglist")
    start = time.monotonic()
    pipe = r.pipeline(transaction=False)
    for base in range(0, SIZE, BATCH):
        pipe.rpush("biglist", *[b"e%d" % i for i in range(base, base + BATCH)])
    pipe.execute()
    assert time.monotonic() - start < 60
    assert r.llen("biglist") == SIZE

    assert r.lrange("biglist", -10, -1) == [b"e%d" % i for i in range(SIZE - 10, SIZE)]
    assert r.lindex("biglist", -1) == b"e999999"
    assert r.lindex("biglist", SIZE - 5) == b"e999995"
    assert r.lindex("biglist", 3) == b"e3"
    assert r.rpop("biglist") == b"e999999"
    assert r.lpop("biglist") == b"e0"
    assert r.lset("biglist", -2, "changed") is True
    assert r.lrange("biglist", -3, -1) == [b"e999996", b"changed", b"e999998"]

    bounds = {
        "LRANGE -10 -1": lambda: r.lrange("biglist", -10, -1),
        "LRANGE 0 9": lambda: r.lrange("biglist", 0, 9),
        "LINDEX -3": lambda: r.lindex("biglist", -3),
        "LLEN": lambda: r.llen("biglist"),
        "RPUSH+RPOP": lambda: (r.rpush("biglist", "x"), r.rpop("biglist")),
        "LPUSH+LPOP": lambda: (r.lpush("biglist", "x"), r.lpop("biglist")),
    }
    for name, fn in bounds.items():
        per_call = timed(fn)
        assert per_call < 0.02, f"{name} took {per_call * 1000:.2f} ms"
    r.delete("biglist")
    r.close()


def test_million_field_hash(ours):
    r = redis.Redis(port=ours.port, socket_timeout=60)
    r.delete("bighash")
    start = time.monotonic()
    pipe = r.pipeline(transaction=False)
    for base in range(0, SIZE, BATCH):
        pipe.hset("bighash", mapping={b"f%d" % i: b"v%d" % i for i in range(base, base + BATCH)})
    pipe.execute()
    assert time.monotonic() - start < 60
    assert r.hlen("bighash") == SIZE
    assert r.object("encoding", "bighash") == b"hashtable"

    assert r.hget("bighash", "f999999") == b"v999999"
    assert r.hget("bighash", "f1000000") is None
    assert r.hmget("bighash", ["f0", "f999998"]) == [b"v0", b"v999998"]
    assert r.hincrby("bighash", "counter", 5) == 5
    assert r.hdel("bighash", "counter", "f999999") == 2
    cursor, page = r.hscan("bighash", 0, count=10)
    assert cursor != 0 and 1 <= len(page) <= 10

    bounds = {
        "HGET": lambda: r.hget("bighash", "f123456"),
        "HEXISTS": lambda: r.hexists("bighash", "f654321"),
        "HSET+HDEL": lambda: (r.hset("bighash", "tmp", "1"), r.hdel("bighash", "tmp")),
        "HSCAN next page": lambda: r.hscan("bighash", cursor, count=10),
        "HRANDFIELD": lambda: r.hrandfield("bighash"),
    }
    for name, fn in bounds.items():
        per_call = timed(fn, repeat=20)
        assert per_call < 0.03, f"{name} took {per_call * 1000:.2f} ms"
    r.delete("bighash")
    r.close()
