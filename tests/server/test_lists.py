"""List behaviour through redis-py on our server: the commands, their side effects, the value class.

Byte-level agreement with redis-server is in ``tests/differential``; here the
focus is on what a client library sees and on what the rest of the server
does with a list: WATCH, expiry, COPY, TYPE, OBJECT ENCODING, MEMORY USAGE,
SCAN TYPE, keyspace events.
"""

from __future__ import annotations

import time

import pytest
import redis

from server.datatypes.list import ListValue


def test_push_pop_range(r):
    assert r.rpush("l", "a", "b", "c") == 3
    assert r.lpush("l", "z") == 4
    assert r.lrange("l", 0, -1) == [b"z", b"a", b"b", b"c"]
    assert r.lpop("l") == b"z"
    assert r.rpop("l", 2) == [b"c", b"b"]
    assert r.lpop("l", 5) == [b"a"]
    assert r.exists("l") == 0
    assert r.lpop("l") is None
    assert r.lpop("l", 2) is None
    assert r.lpushx("l", "a") == 0 and r.exists("l") == 0


def test_index_set_insert_rem_trim(r):
    r.rpush("l", *"abcabc")
    assert r.lindex("l", -1) == b"c"
    assert r.lindex("l", 6) is None
    assert r.lset("l", 1, "B") is True
    with pytest.raises(redis.ResponseError, match="index out of range"):
        r.lset("l", 10, "x")
    assert r.linsert("l", "AFTER", "c", "C") == 7
    assert r.lrem("l", -1, "c") == 1
    assert r.lrange("l", 0, -1) == [b"a", b"B", b"c", b"C", b"a", b"b"]
    assert r.ltrim("l", 1, -2) is True
    assert r.lrange("l", 0, -1) == [b"B", b"c", b"C", b"a"]
    assert r.lpos("l", "a") == 3
    assert r.lpos("l", "nope") is None
    r.rpush("m", *"xaxbx")
    assert r.lpos("m", "x", count=0) == [0, 2, 4]
    assert r.lpos("m", "x", rank=-1, count=2) == [4, 2]
    assert r.lpos("m", "x", maxlen=2, count=0) == [0]


def test_moves_and_mpop(r):
    r.rpush("a", 1, 2, 3)
    assert r.lmove("a", "b", "LEFT", "RIGHT") == b"1"
    assert r.rpoplpush("a", "b") == b"3"
    assert r.lrange("b", 0, -1) == [b"3", b"1"]
    assert r.lmpop(2, "none", "b", direction="RIGHT", count=5) == [b"b", [b"1", b"3"]]
    assert r.lmpop(1, "b", direction="LEFT") is None
    assert r.blpop(["a"], timeout=1) == (b"a", b"2")
    assert r.blpop(["a"], timeout=0.05) is None


def test_wrong_type_and_type_name(r):
    r.set("s", "x")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        r.rpush("s", "a")
    r.rpush("l", "a")
    assert r.type("l") == b"list"
    assert r.object("encoding", "l") == b"quicklist"
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        r.get("l")


def test_watch_is_invalidated_by_list_changes(r, ours):
    r.rpush("l", "a", "b")
    other = redis.Redis(port=ours.port)
    for change in (lambda: other.rpush("l", "c"), lambda: other.lpop("l"), lambda: other.lset("l", 0, "x"),
                   lambda: other.linsert("l", "BEFORE", "x", "y"), lambda: other.ltrim("l", 0, 0),
                   lambda: other.lrem("l", 0, "zzz") or other.rpush("l", "w")):
        with r.pipeline() as pipe:
            pipe.watch("l")
            change()
            pipe.multi()
            pipe.llen("l")
            with pytest.raises(redis.WatchError):
                pipe.execute()
    other.close()


def test_failed_or_empty_changes_do_not_touch_watched_keys(r, ours):
    r.rpush("l", "a")
    other = redis.Redis(port=ours.port)
    with r.pipeline() as pipe:
        pipe.watch("l")
        other.lrem("l", 0, "absent")
        other.linsert("l", "BEFORE", "absent", "x")
        other.lpushx("missing", "x")
        pipe.multi()
        pipe.llen("l")
        assert pipe.execute() == [1]
    other.close()


def test_expiry_copy_and_memory(r):
    r.rpush("l", *range(100))
    assert r.copy("l", "c") is True
    r.pexpire("l", 50)
    assert r.lrange("c", 0, 2) == [b"0", b"1", b"2"]
    r.rpush("c", "extra")
    assert r.llen("l") == 100  # the copy is independent
    assert r.memory_usage("c") > 100
    time.sleep(0.1)
    assert r.lpop("l") is None and r.exists("l") == 0
    assert r.ttl("c") == -1


def test_scan_type_and_rename(r):
    r.rpush("l1", "a")
    r.rpush("l2", "a")
    r.set("s", "x")
    assert sorted(r.scan_iter(_type="list")) == [b"l1", b"l2"]
    r.rename("l1", "l3")
    assert r.lrange("l3", 0, -1) == [b"a"]


@pytest.mark.parametrize("which", ["ours", "real"])
def test_keyspace_events(request, which):
    """The same event sequence from both servers."""
    srv = request.getfixturevalue(which)
    r = redis.Redis(port=srv.port)
    r.flushall()
    r.config_set("notify-keyspace-events", "El")
    sub = redis.Redis(port=srv.port).pubsub()
    sub.psubscribe("__keyevent@0__:*")
    sub.get_message(timeout=1)
    r.rpush("l", "a", "b", "c")
    r.lpush("l", "z")
    r.linsert("l", "BEFORE", "a", "y")
    r.lset("l", 0, "Z")
    r.lrem("l", 1, "y")
    r.ltrim("l", 0, 2)
    r.lmove("l", "m", "RIGHT", "LEFT")
    r.rpop("l", 10)
    events = []
    while True:
        msg = sub.get_message(timeout=0.5)
        if msg is None:
            break
        events.append((msg["channel"].split(b":")[-1], msg["data"]))
    sub.close()
    r.config_set("notify-keyspace-events", "")
    r.close()
    assert events == [
        (b"rpush", b"l"), (b"lpush", b"l"), (b"linsert", b"l"), (b"lset", b"l"), (b"lrem", b"l"),
        (b"ltrim", b"l"), (b"lpush", b"m"), (b"rpop", b"l"), (b"rpop", b"l"),
    ]


def test_list_value_class():
    lst = ListValue([b"a", b"b", b"c", b"d"])
    assert list(lst) == [b"a", b"b", b"c", b"d"] and len(lst) == 4
    assert lst.TYPE_NAME == b"list" and lst.encoding() == b"quicklist"
    assert lst.window(1, 2) == [b"b", b"c"]
    assert lst.window(2, 3) == [b"c", b"d"]  # read from the tail end
    dup = lst.copy()
    dup.append(b"e")
    assert len(lst) == 4 and isinstance(dup, ListValue)
    assert list(lst.memory_items()) == list(lst)
    lst.trim(1, 1)
    assert list(lst) == [b"b", b"c"]
    big = ListValue(b"%d" % i for i in range(1000))
    big.trim(10, 900)
    assert list(big) == [b"%d" % i for i in range(10, 100)]
    assert big.remove_matching(b"50", 0, False) == 1
