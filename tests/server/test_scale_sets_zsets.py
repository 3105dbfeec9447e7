"""A million members: a set and a sorted set built through the socket, then queried.

The values are built with pipelined batches, then the operations whose cost
must not grow with the size (membership, rank, a range near the end, pops)
are each timed against a generous bound, far below what a linear scan of a
million members would take in Python.
"""

from __future__ import annotations

import time

import redis

from tests.server.scale import BATCH, SIZE, timed


def test_million_member_set_and_sorted_set(own_server):
    r = redis.Redis(port=own_server.port, socket_timeout=60)
    start = time.monotonic()
    pipe = r.pipeline(transaction=False)
    for base in range(0, SIZE, BATCH):
        pipe.sadd("bigset", *[b"member:%d" % i for i in range(base, base + BATCH)])
    pipe.execute()
    pipe = r.pipeline(transaction=False)
    for base in range(0, SIZE, BATCH):
        # Scores shuffled against member order, so inserts land all over the index.
        pipe.zadd("bigz", {b"member:%d" % i: (i * 7919) % SIZE for i in range(base, base + BATCH)})
    pipe.execute()
    build = time.monotonic() - start
    assert build < 60, f"building took {build:.1f}s"

    assert r.scard("bigset") == SIZE
    assert r.zcard("bigz") == SIZE
    assert r.object("encoding", "bigset") == b"hashtable"
    assert r.object("encoding", "bigz") == b"skiplist"

    # Queries near the end of the order, by rank and by score.
    assert r.sismember("bigset", "member:999999") == 1
    assert r.sismember("bigset", "member:1000000") == 0
    last = r.zrange("bigz", -3, -1, withscores=True)
    assert [score for _, score in last] == [SIZE - 3, SIZE - 2, SIZE - 1]
    assert r.zrank("bigz", last[-1][0]) == SIZE - 1
    assert r.zrevrank("bigz", last[-1][0]) == 0
    assert r.zrangebyscore("bigz", SIZE - 2, "+inf") == [m for m, _ in last[1:]]
    assert r.zcount("bigz", "(999000", "+inf") == 999
    assert r.zpopmin("bigz") == [(b"member:0", 0.0)]

    # Each of these must stay far below the cost of touching every member.
    bounds = {
        "SISMEMBER": (lambda: r.sismember("bigset", "member:123456"), 0.01),
        "ZRANGE near the end": (lambda: r.zrange("bigz", SIZE - 20, SIZE - 11), 0.01),
        "ZRANK": (lambda: r.zrank("bigz", "member:777777"), 0.01),
        "ZRANGEBYSCORE": (lambda: r.zrangebyscore("bigz", 500000, 500010), 0.01),
        "SRANDMEMBER": (lambda: r.srandmember("bigset"), 0.01),
        "SSCAN page": (lambda: r.sscan("bigset", 500000, count=10), 0.01),
        "ZSCAN page": (lambda: r.zscan("bigz", 500000, count=10), 0.01),
    }
    for name, (fn, bound) in bounds.items():
        per_call = timed(fn)
        assert per_call < bound, f"{name} took {per_call * 1000:.2f} ms"
    pops = timed(lambda: (r.zpopmin("bigz"), r.spop("bigset")), repeat=20)
    assert pops < 0.02, f"ZPOPMIN+SPOP took {pops * 1000:.2f} ms"
    r.close()
