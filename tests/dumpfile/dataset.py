"""A dataset that makes a server write every RDB type and encoding Redis 7.0 writes.

Small and large variants of each type (listpack / quicklist / intset / hashtable /
skiplist), strings stored as integers, long and compressible strings (LZF), keys with
and without expiry in several databases, a function library and streams with consumer
groups and pending entries.
"""

from __future__ import annotations

import redis

LIBRARY = "#!lua name=dumplib\nredis.register_function('hello', function() return 'hi' end)\n"


def populate(r: redis.Redis) -> None:
    """Fill databases 0, 1 and 3 of the server behind ``r`` (it must be empty); ends in db 0."""
    big = 700  # past every *-max-listpack-entries / set-max-intset-entries default
    pipe = r.pipeline(transaction=False)
    pipe.select(0)
    pipe.set("str:small", "hello")
    pipe.set("str:int", 12345)
    pipe.set("str:neg", -7)
    pipe.set("str:big", "x" * 5000)  # compressible: LZF in the file
    pipe.set("str:random", bytes(range(256)) * 3)
    pipe.set("str:ttl", "v", ex=7200)
    pipe.set("str:ttl:long", "v", ex=400 * 86400)
    pipe.rpush("list:small", *[f"e{i}" for i in range(10)])
    pipe.rpush("list:big", *[f"element-{i}-" + "y" * 40 for i in range(big)])
    pipe.rpush("list:huge-element", "z" * 20000, "small")  # a plain quicklist node
    pipe.sadd("set:ints", *range(100))
    pipe.sadd("set:strings", *[f"m{i}" for i in range(50)])
    pipe.sadd("set:bigints", *range(big))
    pipe.hset("hash:small", mapping={f"f{i}": f"v{i}" for i in range(20)})
    pipe.hset("hash:big", mapping={f"field{i}": f"value{i}" for i in range(big)})
    pipe.hset("hash:longvalue", mapping={"a": "q" * 100})
    pipe.zadd("zset:small", {f"z{i}": i for i in range(20)})
    pipe.zadd("zset:big", {f"member{i}": i / 3 for i in range(big)})
    pipe.expire("hash:small", 60 * 86400)
    pipe.pexpire("zset:small", 600_000)
    for i in range(30):
        pipe.xadd("stream:events", {"n": i, "kind": "click"}, id=f"{1000 + i}-0")
    pipe.xadd("stream:events", {"other": "fields"}, id="2000-0")
    pipe.xgroup_create("stream:events", "g1", id="0")
    pipe.xgroup_create("stream:events", "g2", id="1010-0")
    pipe.xadd("stream:empty", {"a": 1}, id="1-1")
    pipe.xdel("stream:empty", "1-1")
    pipe.select(1)
    for i in range(40):
        pipe.set(f"user:{i}:name", f"name{i}")
        pipe.hset(f"user:{i}:profile", mapping={"age": i, "city": "x"})
    pipe.select(3)
    pipe.set("plain", "no delimiter")
    pipe.set(b"bin:\xff\x00key", b"\x00\x01")
    pipe.select(0)
    pipe.xreadgroup("g1", "alice", {"stream:events": ">"}, count=5)
    pipe.xreadgroup("g1", "bob", {"stream:events": ">"}, count=3)
    pipe.xgroup_createconsumer("stream:events", "g2", "carol")
    pipe.function_load(LIBRARY)
    pipe.execute()
