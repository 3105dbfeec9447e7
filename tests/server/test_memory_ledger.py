"""Every path that adds, replaces, modifies or removes a key keeps the memory count right.

``Database.used`` is updated on each write instead of being recomputed, so a
path that forgets it would drift for good. After thousands of random commands
of every family (overwrites, in-place string edits, RENAME, MOVE, COPY, SWAPDB,
expiry, eviction-free deletes, FLUSHDB ...), the count must equal what a fresh
count of the same data gives: exact for strings, and for collections the sizes
recorded for exactly the keys that hold one.
"""

from __future__ import annotations

import random

from server.keyspace import clock
from server.main import build_server
from server.memory import STRING_COST
from server.network import RedisProtocol
from tests.servers import MemoryTransport


def _frame(args: list[bytes]) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in args)


def _random_command(rng: random.Random) -> list[bytes]:
    key = b"k%d" % rng.randrange(12)
    other = b"k%d" % rng.randrange(12)
    value = b"v" * rng.choice([0, 1, 5, 60, 300, 5000])
    n = b"%d" % rng.randrange(-5, 50)
    return rng.choice([
        [b"SET", key, value], [b"SET", key, value, b"PX", b"1"], [b"SET", key, n, b"KEEPTTL"],
        [b"APPEND", key, value], [b"SETRANGE", key, b"%d" % rng.randrange(40), value],
        [b"SETBIT", key, b"%d" % rng.randrange(200), b"1"], [b"INCR", key], [b"INCRBYFLOAT", key, b"1.5"],
        [b"GETDEL", key], [b"GETSET", key, value], [b"GETEX", key, b"PX", b"1"], [b"DEL", key, other],
        [b"UNLINK", key], [b"RENAME", key, other], [b"RENAMENX", key, other], [b"MOVE", key, b"1"],
        [b"COPY", key, other, b"REPLACE"], [b"COPY", key, other, b"DB", b"1"], [b"SWAPDB", b"0", b"1"],
        [b"EXPIRE", key, b"100"], [b"PEXPIRE", key, b"1"], [b"PERSIST", key],
        [b"LPUSH", key, value, n], [b"RPUSH", key, *[value] * 20], [b"LPOP", key], [b"LTRIM", key, b"0", b"3"],
        [b"LMOVE", key, other, b"LEFT", b"RIGHT"], [b"LSET", key, b"0", value],
        [b"HSET", key, n, value], [b"HDEL", key, n], [b"HINCRBY", key, n, b"3"],
        [b"SADD", key, n, value], [b"SREM", key, n], [b"SPOP", key], [b"SUNIONSTORE", other, key, other],
        [b"ZADD", key, n, value], [b"ZREM", key, value], [b"ZPOPMIN", key],
        [b"ZUNIONSTORE", other, b"2", key, other], [b"PFADD", key, value, n], [b"XADD", key, b"*", b"f", value],
        [b"XTRIM", key, b"MAXLEN", b"2"], [b"SORT", key, b"ALPHA", b"STORE", other],
        [b"FLUSHDB"] if rng.random() < 0.02 else [b"PING"],
    ])


def _check_ledger(server) -> None:
    for db in server.keyspace.dbs:
        db.settle()
        strings = sum(STRING_COST + len(k) + len(v) for k, v in db.data.items() if v.__class__ is bytes)
        others = {k for k, v in db.data.items() if v.__class__ is not bytes}
        assert set(db.sized) == others, (db.id, set(db.sized) ^ others)
        assert db.used == strings + sum(entry[0] for entry in db.sized.values()), db.id


def test_random_commands_keep_the_count_exact():
    server = build_server(["--save", "", "--port", "0"])
    transport = MemoryTransport(keep=False)
    protocol = RedisProtocol(server)
    protocol.connection_made(transport)
    rng = random.Random(12)
    try:
        for step in range(6000):
            if step % 300 == 0:
                clock.frozen = (clock.frozen or 1_700_000_000_000) + 10  # deadlines of 1 ms pass
            protocol.data_received(_frame(_random_command(rng)))
            if step % 500 == 0:
                server.keyspace.active_expire_cycle()
                _check_ledger(server)
        _check_ledger(server)
        assert any(db.data for db in server.keyspace.dbs)
    finally:
        clock.frozen = None


def test_a_loaded_dataset_is_counted(tmp_path):
    """Loading fills the dicts directly; ``reindex`` counts them (strings exactly, collections estimated)."""
    writer = build_server(["--dir", str(tmp_path), "--save", "", "--port", "0"])
    db = writer.keyspace.dbs[0]
    for i in range(200):
        db.set(b"s%d" % i, b"x" * i)
    from server.datatypes.list import ListValue

    for i in range(100):
        db.add(b"l%d" % i, ListValue([b"e" * 50] * 40))
    writer.eviction.dataset_bytes()
    counted = db.used
    assert writer.persistence.save()

    reader = build_server(["--dir", str(tmp_path), "--save", "", "--port", "0"])
    reader.persistence.load_at_startup()
    loaded = reader.keyspace.dbs[0]
    _check_ledger(reader)
    assert abs(loaded.used - counted) <= 0.1 * counted
