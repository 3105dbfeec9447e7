"""The cluster family against redis-server 7.0.15, reply for reply: with cluster mode off, and
on a fresh single node of each kind with cluster mode on (errors, hash slots, routing
before any slot is assigned). Node IDs differ between the two, so replies naming one are
compared in shape only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.differential.harness import Differ, RawConnection
from tests.servers import RealServer, ServerProcess, cluster_node, real_server_available


def test_cluster_commands_with_cluster_mode_off(diff):
    for args in (("CLUSTER", "INFO"), ("CLUSTER", "NODES"), ("CLUSTER", "KEYSLOT", "foo"), ("CLUSTER", "HELP"),
                 ("CLUSTER", "MYID"), ("CLUSTER", "SLOTS"), ("CLUSTER", "ADDSLOTS", "1"), ("CLUSTER", "BOGUS"),
                 ("CLUSTER",), ("CLUSTER", "INFO", "extra"), ("ASKING",), ("READONLY",), ("READWRITE",),
                 ("ASKING", "x")):
        diff.check(*args)
    assert diff.check("CLUSTER", "INFO") == b"-ERR This instance has cluster support disabled\r\n"


def test_migrate_errors_and_nokey(diff):
    diff.check("MIGRATE", "127.0.0.1", "1", "missing", "0", "100")
    diff.check("MIGRATE", "127.0.0.1", "1", "k", "0", "100", "KEYS", "a")
    diff.check("MIGRATE", "127.0.0.1", "1", "", "0", "100", "KEYS", "a", "b")
    diff.check("MIGRATE", "127.0.0.1", "1", "k", "0", "100", "BOGUS")
    diff.check("MIGRATE", "127.0.0.1", "1", "k", "0", "100", "AUTH")
    diff.check("MIGRATE", "127.0.0.1", "1", "k", "0", "100", "AUTH2", "user")
    diff.check("MIGRATE", "127.0.0.1", "1", "k", "x", "100")
    diff.check("MIGRATE", "127.0.0.1", "1", "k", "0", "x")
    diff.check("SET", "k", "v")
    # Nothing listens on port 1: both fail to connect.
    diff.check("MIGRATE", "127.0.0.1", "1", "k", "0", "100")
    diff.check("EXISTS", "k")


def test_migrate_authentication_errors_come_from_the_target(diff, tmp_path):
    """AUTH / AUTH2 go first on MIGRATE's connection; the target's refusal is passed on (a third
    server is the target: a server migrating to itself waits for itself until the timeout)."""
    target = RealServer(tmp_path / "target")
    target.start()
    try:
        diff.check("SET", "k", "v")
        diff.check("MIGRATE", "127.0.0.1", str(target.port), "k", "0", "5000", "AUTH", "wrong")
        diff.check("MIGRATE", "127.0.0.1", str(target.port), "k", "0", "5000", "AUTH2", "nobody", "wrong")
        diff.check("EXISTS", "k")
    finally:
        target.stop()


def test_migrate_between_ours_and_redis_server(diff, ours, real):
    """MIGRATE moves keys (TTL and all) each way; COPY keeps them, REPLACE overwrites, KEYS moves several."""
    for source, target in ((ours, real), (real, ours)):
        src = RawConnection(source.port)
        dst = RawConnection(target.port)
        try:
            src.call("FLUSHALL")
            dst.call("FLUSHALL")
            src.call("RPUSH", "list", "a", "b", "c")
            src.call("SET", "ttl", "v", "PX", "100000")
            src.call("HSET", "h", "f", "v")
            src.call("SET", "copy", "1")
            assert src.call("MIGRATE", "127.0.0.1", str(target.port), "list", "0", "5000") == b"+OK\r\n"
            assert src.call("EXISTS", "list") == b":0\r\n"
            assert dst.call("LRANGE", "list", "0", "-1") == b"*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"
            assert src.call("MIGRATE", "127.0.0.1", str(target.port), "", "0", "5000", "KEYS", "ttl", "h",
                            "nothere") == b"+OK\r\n"
            assert 0 < int(dst.call("PTTL", "ttl")[1:]) <= 100000
            assert dst.call("HGET", "h", "f") == b"$1\r\nv\r\n"
            assert src.call("MIGRATE", "127.0.0.1", str(target.port), "copy", "0", "5000", "COPY") == b"+OK\r\n"
            assert src.call("EXISTS", "copy") == b":1\r\n"
            busy = src.call("MIGRATE", "127.0.0.1", str(target.port), "copy", "0", "5000", "COPY")
            assert busy == b"-ERR Target instance replied with error: BUSYKEY Target key name already exists.\r\n"
            src.call("SET", "copy", "2")
            assert src.call("MIGRATE", "127.0.0.1", str(target.port), "copy", "0", "5000", "REPLACE") == b"+OK\r\n"
            assert dst.call("GET", "copy") == b"$1\r\n2\r\n"
            assert src.call("EXISTS", "copy") == b":0\r\n"
        finally:
            src.close()
            dst.close()


def _cluster_node(kind: str, workdir: Path) -> ServerProcess:
    return cluster_node(kind, workdir, "--cluster-node-timeout", "1000")


@pytest.fixture(scope="module")
def cluster_pair(tmp_path_factory) -> Iterator[Differ]:
    real_server_available(require=True)
    mine = _cluster_node("ours", tmp_path_factory.mktemp("cluster-ours"))
    theirs = _cluster_node("real", tmp_path_factory.mktemp("cluster-real"))
    differ = Differ(mine.port, theirs.port)
    try:
        yield differ
    finally:
        differ.close()
        mine.stop()
        theirs.stop()


def test_hash_slots(cluster_pair):
    for key in ("foo", "bar", "", "{user1000}.following", "{user1000}.followers", "foo{}{bar}", "foo{{bar}}zap",
                "foo{bar}{zap}", "{", "}", "{}", "a{b", "\xff\x00{x}"):
        cluster_pair.check("CLUSTER", "KEYSLOT", key)


def test_cluster_errors_on_a_fresh_node(cluster_pair):
    commands = [
        ("CLUSTER", "COUNTKEYSINSLOT", "-1"), ("CLUSTER", "COUNTKEYSINSLOT", "16384"),
        ("CLUSTER", "COUNTKEYSINSLOT", "abc"), ("CLUSTER", "COUNTKEYSINSLOT", "0"),
        ("CLUSTER", "GETKEYSINSLOT", "0", "-1"), ("CLUSTER", "GETKEYSINSLOT", "16384", "1"),
        ("CLUSTER", "GETKEYSINSLOT", "x", "1"), ("CLUSTER", "GETKEYSINSLOT", "0", "10"),
        ("CLUSTER", "ADDSLOTS", "16384"), ("CLUSTER", "ADDSLOTS", "abc"), ("CLUSTER", "ADDSLOTS", "1", "1"),
        ("CLUSTER", "ADDSLOTS", "1", "x"), ("CLUSTER", "DELSLOTS", "5"), ("CLUSTER", "ADDSLOTSRANGE", "10", "5"),
        ("CLUSTER", "ADDSLOTSRANGE", "1", "2", "3"), ("CLUSTER", "ADDSLOTSRANGE", "1", "5", "5", "6"),
        ("CLUSTER", "DELSLOTSRANGE", "1", "5"),
        ("CLUSTER", "SETSLOT", "1", "MIGRATING", "bogus"), ("CLUSTER", "SETSLOT", "1", "IMPORTING", "bogus"),
        ("CLUSTER", "SETSLOT", "1", "NODE", "bogus"), ("CLUSTER", "SETSLOT", "1", "BOGUS"),
        ("CLUSTER", "SETSLOT", "1", "STABLE", "x"), ("CLUSTER", "SETSLOT", "x", "STABLE"),
        ("CLUSTER", "FORGET", "bogus"), ("CLUSTER", "REPLICATE", "bogus"), ("CLUSTER", "REPLICAS", "bogus"),
        ("CLUSTER", "SLAVES", "bogus"), ("CLUSTER", "COUNT-FAILURE-REPORTS", "bogus"),
        ("CLUSTER", "SET-CONFIG-EPOCH", "-1"), ("CLUSTER", "SET-CONFIG-EPOCH", "x"),
        ("CLUSTER", "RESET", "BOGUS"), ("CLUSTER", "RESET", "HARD", "x"), ("CLUSTER", "FAILOVER"),
        ("CLUSTER", "FAILOVER", "BOGUS"), ("CLUSTER", "FAILOVER", "FORCE"),
        ("CLUSTER", "MEET", "127.0.0.1", "abc"), ("CLUSTER", "MEET", "127.0.0.1", "7000", "x"),
        ("CLUSTER", "MEET", "not-an-ip", "7000"), ("CLUSTER", "MEET", "127.0.0.1", "70000"),
        ("CLUSTER", "SLOTS"), ("CLUSTER", "LINKS"), ("CLUSTER", "SAVECONFIG"), ("CLUSTER", "BOGUS"),
        ("GET", "foo"), ("MGET", "a", "b"), ("SET", "{t}a", "1"), ("MSET", "{t}a", "1", "{t}b", "2"),
        ("SELECT", "1"), ("SELECT", "0"), ("SELECT", "x"), ("MOVE", "k", "1"), ("SWAPDB", "0", "1"),
        ("COPY", "a", "b", "DB", "1"), ("PING",), ("DBSIZE",), ("INFO", "cluster"),
        ("CLUSTER", "COUNTKEYSINSLOT", "100"), ("CLUSTER", "FLUSHSLOTS"),
        ("CLUSTER", "RESET", "SOFT"),
    ]
    cluster_pair.check_all(commands)


def test_one_node_serving_every_slot(cluster_pair):
    cluster_pair.check("CLUSTER", "ADDSLOTSRANGE", "0", "16383")
    cluster_pair.check("CLUSTER", "ADDSLOTS", "0")
    cluster_pair.check("CLUSTER", "BUMPEPOCH")
    cluster_pair.check("CLUSTER", "BUMPEPOCH")
    cluster_pair.check("CLUSTER", "SET-CONFIG-EPOCH", "5")
    # CLUSTER SLOTS names this node: same shape, its own ID and port.
    mine, theirs = cluster_pair.call("CLUSTER", "SLOTS", compare=False)
    assert mine.startswith(b"*1\r\n*3\r\n:0\r\n:16383\r\n*4\r\n") and theirs.startswith(mine[:24])
    cluster_pair.check("CLUSTER", "DELSLOTSRANGE", "0", "16383")
    cluster_pair.check("CLUSTER", "DELSLOTS", "0")
    cluster_pair.check("CLUSTER", "COUNTKEYSINSLOT", "0")
