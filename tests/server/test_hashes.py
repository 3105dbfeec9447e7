"""Hash behaviour through redis-py on our server: the commands, side effects and the value class.

Byte-level agreement with redis-server is in ``tests/differential``; here:
what a client library sees, WATCH, expiry, COPY, encodings under changed
limits, keyspace events, and HSCAN's guarantee while the hash changes.
"""

from __future__ import annotations

import time

import pytest
import redis

from server.datatypes.hash import HashValue


def test_basic_commands(r):
    assert r.hset("h", mapping={"a": 1, "b": 2}) == 2
    assert r.hset("h", "a", 10) == 0
    assert r.hsetnx("h", "a", 5) == 0
    assert r.hsetnx("h", "c", 3) == 1
    assert r.hget("h", "a") == b"10"
    assert r.hmget("h", ["a", "x", "c"]) == [b"10", None, b"3"]
    assert r.hgetall("h") == {b"a": b"10", b"b": b"2", b"c": b"3"}
    assert r.hkeys("h") == [b"a", b"b", b"c"]
    assert r.hvals("h") == [b"10", b"2", b"3"]
    assert r.hlen("h") == 3 and r.hstrlen("h", "a") == 2 and r.hexists("h", "b")
    assert r.hincrby("h", "a", -15) == -5
    assert r.hincrbyfloat("h", "f", "0.1") == pytest.approx(0.1)
    assert r.hget("h", "f") == b"0.1"
    assert r.hincrbyfloat("h", "f", "0.2") == pytest.approx(0.3)
    assert r.hget("h", "f") == b"0.3"  # long double arithmetic, as Redis
    assert r.hdel("h", "a", "b", "c", "f", "zz") == 4
    assert r.exists("h") == 0
    assert r.type("h") == b"none"


def test_errors(r):
    r.hset("h", "s", "abc")
    with pytest.raises(redis.ResponseError, match="hash value is not an integer"):
        r.hincrby("h", "s", 1)
    with pytest.raises(redis.ResponseError, match="hash value is not a float"):
        r.hincrbyfloat("h", "s", 1)
    r.hset("h", "n", 2**63 - 1)
    with pytest.raises(redis.ResponseError, match="increment or decrement would overflow"):
        r.hincrby("h", "n", 1)
    r.set("str", "x")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        r.hget("str", "a")


def test_resp3_shapes(r3):
    r3.hset("h", mapping={"a": "1", "b": "2"})
    assert r3.hgetall("h") == {b"a": b"1", b"b": b"2"}
    pairs = r3.execute_command("HRANDFIELD", "h", "-3", "WITHVALUES")
    assert len(pairs) == 3 and all(len(p) == 2 and p[0] in (b"a", b"b") for p in pairs)
    assert r3.execute_command("HRANDFIELD", "missing") is None


def test_hrandfield(r):
    fields = {f"f{i}".encode(): str(i).encode() for i in range(30)}
    r.hset("h", mapping=fields)
    assert r.hrandfield("h") in fields
    picked = r.hrandfield("h", 10)
    assert len(picked) == 10 and len(set(picked)) == 10 and set(picked) <= set(fields)
    assert sorted(r.hrandfield("h", 100)) == sorted(fields)
    repeats = r.hrandfield("h", -100)
    assert len(repeats) == 100 and set(repeats) <= set(fields)
    flat = r.hrandfield("h", 5, withvalues=True)
    assert len(flat) == 10 and all(fields[f] == v for f, v in zip(flat[::2], flat[1::2]))


def test_encoding_follows_config(r):
    try:
        r.config_set("hash-max-listpack-entries", 3)
        r.config_set("hash-max-listpack-value", 5)
        r.hset("h", mapping={"a": 1, "b": 2, "c": 3})
        assert r.object("encoding", "h") == b"listpack"
        r.hset("h", "d", 4)
        assert r.object("encoding", "h") == b"hashtable"
        r.hdel("h", "a", "b", "c")
        assert r.object("encoding", "h") == b"hashtable"
        r.hset("v", "a", "123456")
        assert r.object("encoding", "v") == b"hashtable"
        r.hset("w", "a", "12345")
        assert r.object("encoding", "w") == b"listpack"
    finally:
        r.config_set("hash-max-listpack-entries", 512)
        r.config_set("hash-max-listpack-value", 64)


def test_watch_expiry_copy(r, ours):
    r.hset("h", "a", 1)
    other = redis.Redis(port=ours.port)
    for change in (lambda: other.hset("h", "b", 2), lambda: other.hdel("h", "b"),
                   lambda: other.hincrby("h", "a", 1), lambda: other.hincrbyfloat("h", "a", 1)):
        with r.pipeline() as pipe:
            pipe.watch("h")
            change()
            pipe.multi()
            pipe.hlen("h")
            with pytest.raises(redis.WatchError):
                pipe.execute()
    with r.pipeline() as pipe:
        pipe.watch("h")
        other.hdel("h", "absent")
        other.hsetnx("h", "a", "x")
        pipe.multi()
        pipe.hlen("h")
        assert pipe.execute() == [1]
    other.close()
    assert r.copy("h", "c")
    r.hset("c", "new", "v")
    assert r.hlen("h") == 1 and r.hlen("c") == 2
    r.pexpire("h", 1)
    time.sleep(0.05)
    assert r.hget("h", "a") is None


@pytest.mark.parametrize("which", ["ours", "real"])
def test_keyspace_events(request, which):
    srv = request.getfixturevalue(which)
    r = redis.Redis(port=srv.port)
    r.flushall()
    r.config_set("notify-keyspace-events", "Egh")
    sub = redis.Redis(port=srv.port).pubsub()
    sub.psubscribe("__keyevent@0__:*")
    sub.get_message(timeout=1)
    r.hset("h", "a", 1)
    r.hsetnx("h", "a", 1)  # no change: no event
    r.hsetnx("h", "b", 1)
    r.hmset("h", {"c": 1})
    r.hincrby("h", "a", 1)
    r.hincrbyfloat("h", "a", 1.5)
    r.hdel("h", "zz")
    r.hdel("h", "a", "b")
    r.hdel("h", "c")
    events = []
    while True:
        msg = sub.get_message(timeout=0.5)
        if msg is None:
            break
        events.append(msg["channel"].split(b":")[-1])
    sub.close()
    r.config_set("notify-keyspace-events", "")
    r.close()
    assert events == [b"hset", b"hset", b"hset", b"hincrby", b"hincrbyfloat", b"hdel", b"hdel", b"del"]


def test_hscan_returns_everything_present_throughout(r):
    """Fields added and removed during the scan: every field present the whole time is returned."""
    r.hset("h", mapping={f"keep:{i}": i for i in range(2000)})
    r.hset("h", mapping={f"gone:{i}": i for i in range(500)})
    seen: set[bytes] = set()
    cursor, step = 0, 0
    while True:
        cursor, page = r.hscan("h", cursor, count=50)
        seen.update(page)
        step += 1
        r.hset("h", f"new:{step}", step)
        r.hdel("h", f"gone:{step}")
        if cursor == 0:
            break
        assert step < 1000
    assert {f"keep:{i}".encode() for i in range(2000)} <= seen


def test_hash_value_class():
    h = HashValue([(b"a", b"1"), (b"b", b"2")])
    assert h.TYPE_NAME == b"hash" and h.encoding() == b"listpack" and len(h) == 2
    assert dict(h.items()) == {b"a": b"1", b"b": b"2"}
    assert HashValue({b"a": b"x" * 65}).encoding() == b"hashtable"
    assert HashValue({b"a": b"x" * 65}, max_value=100).encoding() == b"listpack"
    assert HashValue({b"%d" % i: b"" for i in range(513)}).encoding() == b"hashtable"
    dup = h.copy()
    dup[b"c"] = b"3"
    assert len(h) == 2 and isinstance(dup, HashValue) and dup.encoding() == b"listpack"
    assert sorted(h.memory_items()) == [b"a1", b"b2"]
    big = HashValue({b"f%d" % i: b"v" for i in range(1000)})
    seen, cursor = [], 0
    while True:
        cursor, fields = big.scan(cursor, 100)
        seen += fields
        if cursor == 0:
            break
    assert sorted(seen) == sorted(big)


def test_random_field_pool_stays_uniform_through_changes():
    from collections import Counter

    h = HashValue({b"f%d" % i: b"v" for i in range(100)})
    h.random_field()  # builds the pool
    for i in range(50):
        del h[b"f%d" % i]
        h.field_removed(b"f%d" % i)
    for i in range(10):  # deleted, then stored again: one pool entry each, not two
        h[b"f%d" % i] = b"v"
        h.field_added(b"f%d" % i)
    h[b"new"] = b"v"
    h.field_added(b"new")
    counts = Counter(h.random_field() for _ in range(20000))
    assert set(counts) == set(h)
    assert max(counts.values()) < 2 * min(counts.values())


def test_interleaved_scans_each_see_every_field():
    """More concurrent scans than snapshots kept: the oldest restarts, and still misses nothing."""
    h = HashValue({b"f%d" % i: b"v" for i in range(600)}, max_entries=512)
    scans = [[0, set(), False] for _ in range(6)]
    started = [False] * 6
    while not all(done for _, _, done in scans):
        for index, scan in enumerate(scans):
            cursor, seen, done = scan
            if done:
                continue
            if cursor == 0 and started[index]:
                scan[2] = True
                continue
            started[index] = True
            scan[0], fields = h.scan(cursor, 50)
            seen.update(fields)
            if scan[0] == 0:
                scan[2] = True
    assert all(seen == set(h) for _, seen, _ in scans)


def test_scan_survives_compactions_of_the_field_order():
    """Heavy deletion mid-scan compacts the order; the paused cursor still reaches every survivor."""
    h = HashValue({b"f%05d" % i: b"v" for i in range(5000)}, max_entries=512)
    cursor, seen = 0, set()
    cursor, fields = h.scan(cursor, 100)
    seen.update(fields)
    generation = cursor >> 40
    for i in range(5000):  # two thirds of the fields go: more dead entries than live fields
        field = b"f%05d" % i
        if i % 3 and field not in seen:
            del h[field]
            h.field_removed(field)
    for i in range(5000, 9000):  # and many new ones arrive
        h[b"f%05d" % i] = b"v"
        h.field_added(b"f%05d" % i)
    for i in range(5000, 9000, 2):
        del h[b"f%05d" % i]
        h.field_removed(b"f%05d" % i)
    assert (h.scan(0, 1)[0] >> 40) != generation  # the order was compacted meanwhile
    survivors = {f for f in h if int(f[1:]) < 5000}
    while cursor:
        cursor, fields = h.scan(cursor, 100)
        seen.update(fields)
    assert survivors <= seen


@pytest.mark.parametrize("which", ["ours", "real"])
def test_one_field_of_a_hashtable_hash(request, which):
    """HSET's own path for one field of a hash past the listpack limits: the count of new
    fields, the event, and WATCH, as redis-server."""
    srv = request.getfixturevalue(which)
    r = redis.Redis(port=srv.port)
    r.flushall()
    r.hset("big", mapping={f"f{i}": i for i in range(600)})
    assert r.object("encoding", "big") == b"hashtable"
    r.config_set("notify-keyspace-events", "Kh")
    sub = redis.Redis(port=srv.port).pubsub()
    sub.subscribe("__keyspace@0__:big")
    sub.get_message(timeout=1)
    watcher = r.pipeline()
    watcher.watch("big")
    assert r.hset("big", "f1", "x") == 0 and r.hset("big", "new", "y") == 1
    watcher.multi()
    watcher.hlen("big")
    with pytest.raises(redis.WatchError):
        watcher.execute()
    events = [sub.get_message(timeout=1) for _ in range(2)]
    sub.close()
    r.config_set("notify-keyspace-events", "")
    assert [e["data"] for e in events if e] == [b"hset", b"hset"]
    assert r.hget("big", "f1") == b"x" and r.hget("big", "new") == b"y" and r.hlen("big") == 601
    r.close()
