"""Set commands compared byte for byte with redis-server, in RESP2 and RESP3.

Sets of integers are intsets in Redis and reply in ascending order, so their
replies are compared exactly; replies from hashtable-encoded sets come in
hash order and are compared as multisets (``sort=True``).
"""

from __future__ import annotations

from tests.differential.harness import parse


def test_sadd_srem_membership(diff):
    d = diff
    d.check_all([
        "SADD s 3 1 2", "SADD s 2 3 4", "SMEMBERS s", "SCARD s", "SISMEMBER s 1", "SISMEMBER s 9",
        "SMISMEMBER s 1 9 2", "SMISMEMBER nokey a b", "SISMEMBER nokey a", "SCARD nokey",
        "SMEMBERS nokey", "SREM s 1 9", "SREM s 9", "SREM nokey a", "SMEMBERS s", "SREM s 2 3 4",
        "EXISTS s", "SADD s a a a", "SCARD s", "SADD s", "SREM s",
    ])
    d.check("SADD", "h", "x", "y", "z")
    d.check("SMEMBERS", "h", sort=True)
    d.check("SET", "str", "v")
    for cmd in ("SADD str a", "SREM str a", "SMEMBERS str", "SISMEMBER str a", "SMISMEMBER str a",
                "SCARD str", "SPOP str", "SPOP str 2", "SRANDMEMBER str", "SRANDMEMBER str 2",
                "SSCAN str 0", "SINTER str", "SUNION str", "SDIFF str", "SINTERCARD 1 str"):
        d.check(*cmd.split())


def test_encodings(diff):
    d = diff
    try:
        d.check_all([
            "SADD ints 1 2 3", "OBJECT ENCODING ints", "SADD ints -5 9223372036854775807",
            "OBJECT ENCODING ints", "SMEMBERS ints", "SADD ints 9223372036854775808", "OBJECT ENCODING ints",
            "SADD lead 01", "OBJECT ENCODING lead", "SADD neg -0", "OBJECT ENCODING neg",
            "SADD mixed 1 a", "OBJECT ENCODING mixed", "SREM mixed a", "OBJECT ENCODING mixed",
            "CONFIG SET set-max-intset-entries 2", "SADD small 1 2", "OBJECT ENCODING small",
            "SADD small 3", "OBJECT ENCODING small", "SREM small 3", "OBJECT ENCODING small",
            "SADD big 1 2 3", "OBJECT ENCODING big", "SINTERSTORE inter big small", "OBJECT ENCODING inter",
            "SUNIONSTORE un small", "OBJECT ENCODING un", "SMOVE small newkey 1", "OBJECT ENCODING newkey",
        ])
    finally:
        d.call("CONFIG", "SET", "set-max-intset-entries", "512", compare=False)


def test_spop_and_srandmember(diff, diff3):
    d = diff
    d.check_all([
        "SADD s 1 2 3 4 5", "SPOP s 0", "SPOP s -1", "SPOP s x", "SPOP s 1 2", "SPOP nokey", "SPOP nokey 0",
        "SPOP nokey 3", "SRANDMEMBER s 0", "SRANDMEMBER s 5", "SRANDMEMBER s 50", "SRANDMEMBER s x",
        "SRANDMEMBER s 1 2", "SRANDMEMBER s -9223372036854775808", "SRANDMEMBER nokey",
        "SRANDMEMBER nokey 5", "SRANDMEMBER nokey -5", "SPOP s 5", "EXISTS s",
        "SADD s 1 2 3", "SPOP s 10", "EXISTS s",
    ])
    d.check("SADD", "h", "a", "b", "c")
    d.check("SRANDMEMBER", "h", "10", sort=True)
    d.check("SPOP", "h", "10", sort=True)
    d.check("SADD", "s", "7")
    d.check("SPOP", "s")
    d.check("SADD", "r", "1", "2", "3")
    ours, real = d.call("SRANDMEMBER", "r", "-7", compare=False)
    assert ours.startswith(b"*7\r\n") and real.startswith(b"*7\r\n")
    assert set(parse(ours)) <= {b"1", b"2", b"3"}
    ours, real = d.call("SPOP", "r", "2", compare=False)
    assert len(parse(ours)) == len(parse(real)) == 2
    d.check("SCARD", "r")
    diff3.check_all(["SADD s 1 2 3", "SPOP s 0", "SPOP nokey 2", "SRANDMEMBER s 5", "SMEMBERS s",
                     "SPOP s 3", "SRANDMEMBER nokey 3"])


def test_smove(diff):
    d = diff
    d.check_all([
        "SADD a 1 2 3", "SADD b 3 4", "SMOVE a b 1", "SMOVE a b 3", "SMOVE a b 9", "SMOVE nokey b 1",
        "SMOVE a a 2", "SMOVE a a 9", "SMEMBERS a", "SMEMBERS b", "SMOVE a c 2", "EXISTS a", "SMEMBERS c",
        "SET str x", "SMOVE str b 3", "SMOVE b str 3", "SMOVE nokey str 3", "SMEMBERS b",
    ])


def test_algebra(diff, diff3):
    d = diff
    d.check_all(["SADD i1 1 2 3 4", "SADD i2 3 4 5", "SADD i3 4 5 6", "SET str x"])
    d.check("SADD", "h1", "a", "b", "c", "1")
    d.check("SADD", "h2", "b", "c", "d", "1")
    for name in ("SINTER", "SUNION", "SDIFF"):
        d.check(name, "i1", "i2")
        d.check(name, "i1", "i2", "i3")
        d.check(name, "i1", "nokey")
        d.check(name, "nokey", "i1")
        d.check(name, "i1")
        d.check(name, "i1", "str")
        d.check(name, "nokey", "str")
        d.check(name, "h1", "h2", sort=True)
        d.check(name, "h1", "i1", "h2", sort=True)
        store = name + "STORE"
        d.check(store, "dst", "i1", "i2")
        d.check("SMEMBERS", "dst")
        d.check("OBJECT", "ENCODING", "dst")
        d.check(store, "dst", "h1", "h2")
        d.check("SMEMBERS", "dst", sort=True)
        d.check("OBJECT", "ENCODING", "dst")
        d.check(store, "dst", "nokey", "nokey2")
        d.check("EXISTS", "dst")
        d.check(store, "dst", "i1", "str")
        d.check(store, "str", "i1")
        d.check("TYPE", "str")
        d.check("SET", "str", "x")
        d.check(store, "i1copy", "i1")
        d.check(store, "i1", "i1", "i2")
        d.check("SMEMBERS", "i1")
        d.check("DEL", "i1")
        d.check("SADD", "i1", "1", "2", "3", "4")
    d.check_all([
        "SINTERCARD 2 i1 i2", "SINTERCARD 3 i1 i2 i3", "SINTERCARD 2 i1 i2 LIMIT 1", "SINTERCARD 2 i1 i2 LIMIT 0",
        "SINTERCARD 1 i1 limit 2", "SINTERCARD 0 i1", "SINTERCARD -1 i1", "SINTERCARD x i1", "SINTERCARD 3 i1",
        "SINTERCARD 1 i1 LIMIT -1", "SINTERCARD 1 i1 LIMIT x", "SINTERCARD 1 i1 LIMIT", "SINTERCARD 1 i1 FOO 1",
        "SINTERCARD 2 i1 nokey", "SINTERCARD 2 nokey str", "SINTER", "SINTERSTORE dst",
    ])
    diff3.check_all(["SADD i1 1 2 3", "SADD i2 2 3 4", "SINTER i1 i2", "SUNION i1 i2", "SDIFF i1 i2",
                     "SINTER i1 nokey", "SMEMBERS nokey"])


def test_sscan(diff):
    d = diff
    d.check_all([
        "SADD s 5 3 1 20 10", "SSCAN s 0", "SSCAN s 0 MATCH 1*", "SSCAN s 0 COUNT 1", "SSCAN s x",
        "SSCAN s 0 COUNT 0", "SSCAN s 0 COUNT -1", "SSCAN s 0 COUNT x", "SSCAN s 0 MATCH", "SSCAN s 0 FOO bar",
        "SSCAN s -1", "SSCAN s 18446744073709551615", "SSCAN s 18446744073709551616", "SSCAN s 0 TYPE string",
        "SSCAN nokey 0", "SSCAN s 0 MATCH nomatch",
    ])
    d.check("SADD", "h", "a", "b", "c")
    ours, real = (parse(reply) for reply in d.call("SSCAN", "h", "0", "COUNT", "100", compare=False))
    assert ours[0] == real[0] == b"0"
    assert sorted(ours[1]) == sorted(real[1])


def test_notifications_match(diff):
    """The keyspace events each command sends, in order, as redis-server sends them."""
    import redis

    streams = []
    for port in (diff.ours.sock.getpeername()[1], diff.real.sock.getpeername()[1]):
        client = redis.Redis(port=port)
        client.config_set("notify-keyspace-events", "KEA")
        pubsub = client.pubsub()
        pubsub.psubscribe("__keyevent@0__:*")
        pubsub.get_message(timeout=1)
        streams.append((client, pubsub))
    try:
        d = diff
        d.check_all([
            "SADD a 1 2 3", "SADD a 1", "SREM a 9", "SREM a 1 2", "SPOP a", "SADD a 1 2 3", "SPOP a 5",
            "SPOP a 5", "SADD a 1 2",
            "SADD b 1", "SMOVE a b 1", "SMOVE a b 2", "SMOVE b b 1", "SADD a 5", "SINTERSTORE d a b",
            "SUNIONSTORE d a b", "SDIFFSTORE d a b", "SINTERSTORE d a nokey", "SREM b 1 2",
            "ZADD z 1 a 2 b 3 c", "ZADD z 1 a", "ZINCRBY z 1 a", "ZADD z INCR 1 a", "ZREM z a", "ZPOPMIN z",
            "ZPOPMAX z", "ZADD z 1 a 2 b 3 c 4 d", "ZREMRANGEBYRANK z 0 0", "ZREMRANGEBYSCORE z 2 2",
            "ZREMRANGEBYLEX z [c [c", "ZADD z 1 x", "ZMPOP 1 z MIN COUNT 5", "ZADD z 1 a 2 b",
            "ZUNIONSTORE u 1 z", "ZINTERSTORE u 1 z", "ZDIFFSTORE u 1 z", "ZRANGESTORE u z 0 0",
            "ZRANGESTORE u z 5 6", "ZINTERSTORE u 2 z nokey", "BZPOPMIN z 0", "BZMPOP 0 1 z MAX",
            "ZADD z 0 q", "ZREM z q",
        ])
        events = []
        for _client, pubsub in streams:
            seen = []
            while True:
                msg = pubsub.get_message(timeout=0.5)
                if msg is None:
                    break
                if msg["type"] == "pmessage":
                    seen.append((msg["channel"], msg["data"]))
            events.append(seen)
        assert events[0] == events[1]
        assert len(events[0]) > 40
    finally:
        for client, pubsub in streams:
            pubsub.close()
            client.config_set("notify-keyspace-events", "")
            client.close()


def test_keyspace_hits_and_misses(diff):
    """Which commands count a keyspace hit or miss (INFO stats), compared with redis-server."""

    def stats(conn) -> tuple[bytes, bytes]:
        info = parse(conn.call("INFO", "stats"))
        fields = dict(line.split(b":", 1) for line in info.split(b"\r\n") if b":" in line)
        return fields[b"keyspace_hits"], fields[b"keyspace_misses"]

    for cmd in ("SINTERSTORE d s nokey", "SUNIONSTORE d s", "SDIFFSTORE d s nokey", "SINTER s", "SMOVE s t a",
                "SPOP s", "SRANDMEMBER s", "SCARD nokey", "ZUNIONSTORE d 2 z nokey", "ZINTERSTORE d 1 z",
                "ZDIFFSTORE d 1 z", "ZRANGESTORE d z 0 -1", "ZPOPMIN z", "ZMPOP 1 z MIN", "ZRANDMEMBER z",
                "ZINTERCARD 2 z s", "ZADD z 1 a", "ZSCORE nokey a", "ZRANGE z 0 -1", "ZCOUNT z 0 1"):
        diff.flush()
        diff.call("ZADD", "z", "1", "a", "2", "b", compare=False)
        diff.call("SADD", "s", "a", "b", compare=False)
        diff.call("CONFIG", "RESETSTAT", compare=False)
        random_reply = cmd.split()[0] in ("SPOP", "SRANDMEMBER", "ZRANDMEMBER")
        diff.call(*cmd.split(), compare=not random_reply, sort=True)
        assert stats(diff.ours) == stats(diff.real), cmd


def test_writes_count_as_accesses(diff):
    """Writes to an existing key count as an access (OBJECT FREQ under LFU), as in Redis."""
    diff.check("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu")
    diff.check("CONFIG", "SET", "lfu-decay-time", "0")  # a minute boundary would lower a counter
    try:
        for key, create, access in (("s", "SADD s a b c", "SADD s d"), ("p", "SADD p a b c", "SPOP p"),
                                    ("h", "HSET h f v", "HSET h f w"), ("z", "ZADD z 1 a 2 b", "ZADD z 3 a"),
                                    ("m", "ZADD m 1 a 2 b 3 c", "ZPOPMIN m"), ("n", "ZADD n 1 a 2 b 3 c", "ZPOPMIN n 2"),
                                    ("l", "RPUSH l a b", "LPUSH l c")):
            diff.check(*create.split())
            diff.check("OBJECT", "FREQ", key)
            diff.call(*access.split(), compare=not access.startswith("SPOP"))
            diff.check("OBJECT", "FREQ", key)  # from the initial counter 5, the first access always counts
    finally:
        diff.call("CONFIG", "SET", "maxmemory-policy", "noeviction", compare=False)
        diff.call("CONFIG", "SET", "lfu-decay-time", "1", compare=False)
