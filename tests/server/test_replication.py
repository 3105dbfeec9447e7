"""Replication with Debian's redis-server 7.0 on the other end, both ways.

Each test builds its own small topology (ours and/or redis-server on free ports),
writes on the master while the replica syncs (a bounded redis-benchmark run plus
mixed-type writes, expiring keys, MULTI/EXEC, several databases), waits for the
replica to catch up (polling, never sleeping a fixed time), and compares every
key of both servers: type, value and TTL (within a second).
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
import redis

from tests.differential.harness import RawConnection
from tests.servers import (
    OurServer,
    RealServer,
    ServerProcess,
    free_port,
    real_server_available,
    require_tool,
    tls_args,
    write_certs,
)

DEADLINE = 30.0  # seconds: generous, the machine is shared


def wait_for(condition: Callable[[], object], what: str, timeout: float = DEADLINE) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if condition():
                return
        except (redis.ConnectionError, redis.ResponseError):
            pass
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def info(server: ServerProcess, section: str = "replication") -> dict:
    with server.client() as conn:
        return conn.info(section)


def link_up(replica: ServerProcess) -> bool:
    return info(replica).get("master_link_status") == "up"


def caught_up(master: ServerProcess, replica: ServerProcess) -> bool:
    """The replica applied everything the master produced (offsets equal, link up)."""
    m = info(master)
    r = info(replica)
    return r.get("master_link_status") == "up" and r["slave_repl_offset"] == m["master_repl_offset"]


def snapshot(server: ServerProcess) -> dict:
    """Every key of every database: (db, key) -> (type, value, deadline in ms or -1).

    Deadlines are absolute (PEXPIRETIME): reading thousands of keys takes a while, so
    relative TTLs read on two servers one after the other would differ by that time."""
    out: dict = {}
    with server.client() as conn:
        keyspace = conn.info("keyspace")
    for name in keyspace:
        dbid = int(name[2:])
        with server.client(db=dbid) as conn:
            for key in conn.scan_iter(count=1000):
                kind = conn.type(key).decode()
                if kind == "string":
                    value: object = conn.get(key)
                elif kind == "list":
                    value = conn.lrange(key, 0, -1)
                elif kind == "hash":
                    value = sorted(conn.hgetall(key).items())
                elif kind == "set":
                    value = sorted(conn.smembers(key))
                elif kind == "zset":
                    value = conn.zrange(key, 0, -1, withscores=True)
                elif kind == "stream":
                    value = conn.xrange(key)
                elif kind == "none":  # expired between SCAN and TYPE
                    continue
                else:
                    value = kind
                out[(dbid, key)] = (kind, value, conn.pexpiretime(key))
    return out


def assert_same_data(master: ServerProcess, replica: ServerProcess) -> None:
    a = snapshot(master)
    b = snapshot(replica)
    assert a.keys() == b.keys(), (
        f"keys only on the master: {sorted(a.keys() - b.keys())[:5]}, only on the replica: {sorted(b.keys() - a.keys())[:5]}")
    for key, (kind, value, ttl) in a.items():
        kind2, value2, ttl2 = b[key]
        assert (kind, value) == (kind2, value2), key
        assert (ttl < 0) == (ttl2 < 0) and abs(ttl - ttl2) <= 1000, (key, ttl, ttl2)  # within a second
    assert a, "the comparison must cover some data"


def mixed_writes(server: ServerProcess, rounds: int = 200) -> None:
    """Writes of every type, in several databases, with TTLs, transactions and a script."""
    with server.client() as conn:
        for i in range(rounds):
            db = i % 3
            conn.execute_command("SELECT", db)
            conn.set(f"s:{i}", f"v{i}")
            conn.set(f"ttl:{i}", i, px=60_000 + i)
            conn.rpush(f"list:{i % 10}", i)
            conn.hset(f"hash:{i % 7}", f"f{i}", i)
            conn.sadd(f"set:{i % 5}", i)
            conn.zadd(f"zset:{i % 4}", {f"m{i}": i / 3})
            conn.incrbyfloat("float", 0.5)
            if i % 20 == 0:
                conn.xadd("stream", {"n": i})
                pipe = conn.pipeline(transaction=True)
                pipe.incr("counter")
                pipe.lpush("tx", i)
                pipe.execute()
                conn.eval("redis.call('set', KEYS[1], ARGV[1]); return 1", 1, f"lua:{i}", i)
                conn.spop(f"set:{i % 5}")
                conn.expire(f"s:{i}", 100)
            if i % 50 == 0:
                conn.set(f"short:{i}", 1, px=30)  # expires on the master: a DEL follows
        conn.execute_command("SELECT", 0)
        conn.delete("list:0")


def benchmark(server: ServerProcess, requests: int = 5000) -> subprocess.Popen:
    """A bounded redis-benchmark run (several types, pipelined) in the background."""
    tool = require_tool("redis-benchmark")
    return subprocess.Popen(
        [tool, "-p", str(server.port), "-n", str(requests), "-r", "2000", "-P", "8", "-c", "4", "-q",
         "-t", "set,incr,lpush,rpush,sadd,hset,zadd,lpop,spop"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@contextlib.contextmanager
def started(*servers: ServerProcess) -> Iterator[None]:
    try:
        for server in servers:
            server.start()
        yield
    finally:
        for server in servers:
            server.stop()


def ours(tmp: Path, name: str, *extra: str) -> OurServer:
    return OurServer(tmp / name, extra=["--repl-diskless-sync-delay", "0", *extra])


def real(tmp: Path, name: str, *extra: str) -> RealServer:
    real_server_available(require=True)
    return RealServer(tmp / name, extra=["--repl-diskless-sync-delay", "0", *extra])


def replicaof(replica: ServerProcess, master: ServerProcess) -> None:
    with replica.client() as conn:
        assert conn.execute_command("REPLICAOF", "127.0.0.1", master.port) in (b"OK", "OK", True)


def log_of(server: ServerProcess) -> str:
    return server.log_path.read_text(errors="replace")


# --------------------------------------------------------------------------- ours as master


@pytest.mark.parametrize("diskless", ["yes", "no"])
def test_redis_server_replicates_ours_under_load(tmp_path, diskless):
    master = ours(tmp_path, "m", "--repl-diskless-sync", diskless)
    replica = real(tmp_path, "r")
    with started(master, replica):
        mixed_writes(master, 100)
        load = benchmark(master)
        replicaof(replica, master)  # the full sync runs while the benchmark writes
        mixed_writes(master, 200)
        assert load.wait(timeout=60) == 0
        wait_for(lambda: caught_up(master, replica), "the replica to catch up")
        assert_same_data(master, replica)
        m = info(master)
        assert m["connected_slaves"] == 1
        assert m["slave0"]["state"] == "online"
        assert info(master, "stats")["sync_full"] == 1
        form = "replicas sockets" if diskless == "yes" else "disk"
        assert f"Starting BGSAVE for SYNC with target: {form}" in log_of(master)
        with master.client() as conn:
            role = conn.execute_command("ROLE")
            assert role[0] == b"master" and role[1] == m["master_repl_offset"]
            assert role[2][0][1] == str(replica.port).encode()
            flags = [line for line in conn.execute_command("CLIENT", "LIST").decode().splitlines()
                     if "flags=S" in line]
            assert len(flags) == 1


def test_expired_and_flushed_keys_reach_the_replica_as_commands(tmp_path):
    master = ours(tmp_path, "m")
    replica = real(tmp_path, "r")
    with started(master, replica):
        replicaof(replica, master)
        wait_for(lambda: link_up(replica), "the link")
        with master.client() as conn:
            conn.set("gone", 1, px=50)
            conn.set("stays", 1)
            conn.execute_command("SELECT", 4)
            conn.set("in4", "x")
        with replica.client() as conn:
            conn.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")  # only the master's DEL may remove it
        wait_for(lambda: caught_up(master, replica) and info(master, "keyspace")["db0"]["keys"] == 1,
                 "the master to expire the key")
        wait_for(lambda: caught_up(master, replica), "the DEL to arrive")
        with replica.client() as conn:
            assert conn.dbsize() == 1
        with replica.client(db=4) as conn:
            assert conn.get("in4") == b"x"
        with master.client() as conn:
            conn.flushall()
        wait_for(lambda: caught_up(master, replica), "the FLUSHALL")
        with replica.client(db=4) as conn:
            assert conn.dbsize() == 0


def test_wait_counts_acknowledging_replicas(tmp_path):
    master = ours(tmp_path, "m")
    r1, r2 = real(tmp_path, "r1"), real(tmp_path, "r2")
    with started(master, r1, r2):
        with master.client() as conn:
            assert conn.execute_command("WAIT", 0, 0) == 0
            assert conn.execute_command("WAIT", 1, 50) == 0  # no replica: the timeout answers
        replicaof(r1, master)
        replicaof(r2, master)
        wait_for(lambda: caught_up(master, r1) and caught_up(master, r2), "both replicas")
        with master.client() as conn:
            conn.set("k", "v")
            assert conn.execute_command("WAIT", 2, 5000) == 2
            conn.set("k", "w")
            assert conn.execute_command("WAIT", 3, 300) == 2  # only two exist: the timeout answers
        with r1.client() as conn:
            assert conn.get("k") == b"w"


def test_wait_counts_acks_of_the_callers_own_last_write(tmp_path):
    """WAIT waits for the offset of the calling client's last write (Redis's c->woff), not the
    stream's end: with the replica stopped after A's write was acknowledged, B's later write
    leaves A's WAIT answered at once, B's timing out; a client that never wrote counts every
    replica."""
    import os
    import signal

    master = ours(tmp_path, "m")
    replica = real(tmp_path, "r")
    with started(master, replica):
        replicaof(replica, master)
        wait_for(lambda: caught_up(master, replica), "the replica")
        with master.client() as a, master.client() as b, master.client() as idle:
            a.set("a", 1)
            assert a.execute_command("WAIT", 1, 10000) == 1
            assert replica.proc is not None
            os.kill(replica.proc.pid, signal.SIGSTOP)
            try:
                b.set("b", 1)
                started_at = time.monotonic()
                assert a.execute_command("WAIT", 1, 5000) == 1  # A's write was acknowledged
                assert time.monotonic() - started_at < 4
                assert b.execute_command("WAIT", 1, 200) == 0  # B's was not
                assert idle.execute_command("WAIT", 1, 5000) == 1
            finally:
                os.kill(replica.proc.pid, signal.SIGCONT)
            assert b.execute_command("WAIT", 1, 10000) == 1


def test_min_replicas_to_write(tmp_path):
    master = ours(tmp_path, "m", "--min-replicas-to-write", "1")
    replica = real(tmp_path, "r")
    with started(master, replica):
        with master.client() as conn:
            with pytest.raises(redis.ResponseError, match="^NOREPLICAS Not enough good replicas to write.$"):
                conn.set("k", "v")
            assert conn.get("k") is None  # reads are fine
        replicaof(replica, master)
        wait_for(lambda: info(master).get("min_slaves_good_slaves") == 1, "a good replica")
        with master.client() as conn:
            assert conn.set("k", "v")


def test_partial_resync_after_a_cut_connection(tmp_path):
    """redis-server replicates ours through a proxy; cutting it makes the replica continue
    from our backlog (+CONTINUE), counted as sync_partial_ok."""
    master = ours(tmp_path, "m")
    replica = real(tmp_path, "r")
    with started(master, replica), Proxy(master.port) as proxy:
        with replica.client() as conn:
            conn.execute_command("REPLICAOF", "127.0.0.1", proxy.port)
        mixed_writes(master, 50)
        wait_for(lambda: caught_up(master, replica), "the first sync")
        proxy.cut()
        mixed_writes(master, 50)  # written while the replica is away: served from the backlog
        wait_for(lambda: info(master, "stats")["sync_partial_ok"] == 1, "a partial resync")
        wait_for(lambda: caught_up(master, replica), "the replica to catch up")
        assert_same_data(master, replica)
        assert info(master, "stats")["sync_full"] == 1
        assert "Partial resynchronization request from" in log_of(master)


def test_backlog_too_small_falls_back_to_full_sync(tmp_path):
    master = ours(tmp_path, "m", "--repl-backlog-size", "16384")
    replica = real(tmp_path, "r")
    with started(master, replica), Proxy(master.port) as proxy:
        with replica.client() as conn:
            conn.execute_command("REPLICAOF", "127.0.0.1", proxy.port)
        wait_for(lambda: caught_up(master, replica), "the first sync")
        proxy.cut(hold=True)
        with master.client() as conn:
            for i in range(300):
                conn.set(f"big:{i}", "x" * 200)
        proxy.release()
        wait_for(lambda: info(master, "stats")["sync_full"] == 2, "a second full sync")
        wait_for(lambda: caught_up(master, replica), "the replica to catch up")
        assert_same_data(master, replica)
        assert "for lack of backlog" in log_of(master)


# --------------------------------------------------------------------------- ours as replica


def test_ours_replicates_redis_server_under_load(tmp_path):
    master = real(tmp_path, "m")
    replica = ours(tmp_path, "r")
    with started(master, replica):
        mixed_writes(master, 100)
        load = benchmark(master)
        replicaof(replica, master)
        mixed_writes(master, 200)
        assert load.wait(timeout=60) == 0
        wait_for(lambda: caught_up(master, replica), "our replica to catch up")
        assert_same_data(master, replica)
        with replica.client() as conn:
            with pytest.raises(redis.ReadOnlyError, match="^You can.t write against a read only replica.$"):  # (READONLY)
                conn.set("x", 1)
            role = conn.execute_command("ROLE")
            assert role[:4] == [b"slave", b"127.0.0.1", master.port, b"connected"]
            assert "flags=M" in conn.execute_command("CLIENT", "LIST").decode()
        r = info(replica)
        assert r["role"] == "slave" and r["master_sync_in_progress"] == 0
        assert r["master_replid"] == info(master)["master_replid"]
        assert "MASTER <-> REPLICA sync: Finished with success" in log_of(replica)


def test_ours_hides_logically_expired_keys_until_the_master_deletes_them(tmp_path):
    master = real(tmp_path, "m")
    replica = ours(tmp_path, "r")
    with started(master, replica):
        replicaof(replica, master)
        wait_for(lambda: link_up(replica), "the link")
        with master.client() as conn:
            conn.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
            conn.set("short", 1, px=100)
        wait_for(lambda: caught_up(master, replica), "the SET")
        time.sleep(0.15)  # (the key's own deadline: not a synchronisation)
        with replica.client() as conn:
            assert conn.get("short") is None  # logically expired: hidden
            assert conn.dbsize() == 1  # but kept until the master's DEL, as 7.0 does
        with master.client() as conn:
            assert conn.get("short") is None  # the master expires it and propagates DEL
        wait_for(lambda: caught_up(master, replica), "the DEL")
        with replica.client() as conn:
            assert conn.dbsize() == 0


def test_ours_replica_auth_and_promotion(tmp_path):
    master = real(tmp_path, "m", "--requirepass", "secret")
    replica = ours(tmp_path, "r", "--masterauth", "secret", "--replica-serve-stale-data", "no")
    with started(master, replica):
        with replica.client() as conn:
            conn.set("old", 1)
        replicaof(replica, master)
        with master.client(password="secret") as conn:
            conn.set("a", 1)
        wait_for(lambda: link_up(replica), "the link")
        wait_for(lambda: replica.client().get("a") == b"1", "the key")
        with replica.client() as conn:
            assert conn.get("old") is None  # the full sync replaced the data set
            first_id = conn.info("replication")["master_replid"]
            assert conn.execute_command("REPLICAOF", "NO", "ONE") in (b"OK", True)
            r = conn.info("replication")
            assert r["role"] == "master" and r["master_replid2"] == first_id
            assert conn.set("now", "writable")


def test_partial_resync_of_ours_after_a_cut_connection(tmp_path):
    master = real(tmp_path, "m")
    replica = ours(tmp_path, "r")
    with started(master, replica), Proxy(master.port) as proxy:
        with replica.client() as conn:
            conn.execute_command("REPLICAOF", "127.0.0.1", proxy.port)
        mixed_writes(master, 50)
        wait_for(lambda: caught_up(master, replica), "the first sync")
        proxy.cut()
        mixed_writes(master, 50)
        wait_for(lambda: info(master, "stats")["sync_partial_ok"] == 1, "a partial resync")
        wait_for(lambda: caught_up(master, replica), "our replica to catch up")
        assert_same_data(master, replica)
        assert "Successful partial resynchronization with master." in log_of(replica)


def test_client_kill_type_master_reconnects_with_a_partial_resync(tmp_path):
    master = real(tmp_path, "m")
    replica = ours(tmp_path, "r")
    with started(master, replica):
        replicaof(replica, master)
        mixed_writes(master, 20)
        wait_for(lambda: caught_up(master, replica), "the sync")
        with replica.client() as conn:
            assert conn.client_list(_type="master")[0]["flags"] == "M"
            assert conn.client_list(_type="replica") == []
            assert conn.execute_command("CLIENT", "KILL", "TYPE", "master") == 1
        mixed_writes(master, 20)
        wait_for(lambda: info(master, "stats")["sync_partial_ok"] == 1, "the partial resync")
        wait_for(lambda: caught_up(master, replica), "the replica")
        assert_same_data(master, replica)


def test_chain_redis_to_ours_to_redis_and_ours_of_ours(tmp_path):
    top = real(tmp_path, "top")
    middle = ours(tmp_path, "middle")
    bottom = real(tmp_path, "bottom")
    last = ours(tmp_path, "last")
    with started(top, middle, bottom, last):
        mixed_writes(top, 50)
        replicaof(middle, top)
        replicaof(bottom, middle)
        replicaof(last, middle)
        mixed_writes(top, 100)
        for server in (middle, bottom, last):
            wait_for(lambda s=server: caught_up(top, s), "the chain")
        assert_same_data(top, bottom)
        assert_same_data(top, last)
        assert info(bottom)["master_replid"] == info(top)["master_replid"]
        # Promoting the middle: its replicas continue with it (PSYNC2: the old ID is its replid2).
        full_before = info(middle, "stats")["sync_full"]
        with middle.client() as conn:
            assert conn.execute_command("REPLICAOF", "NO", "ONE")
            conn.set("promoted", 1)
        for server in (bottom, last):
            wait_for(lambda s=server: caught_up(middle, s), "the promoted middle's replicas")
        wait_for(lambda: info(middle, "stats")["sync_partial_ok"] == 2, "both partial resyncs")
        assert info(middle, "stats")["sync_full"] == full_before
        assert info(bottom)["master_replid2"] == info(top)["master_replid"]
        assert_same_data(middle, bottom)
        assert_same_data(middle, last)


def test_failover_hands_over_to_redis_server_and_ours_follows(tmp_path):
    master = ours(tmp_path, "m")
    replica = real(tmp_path, "r")
    with started(master, replica):
        mixed_writes(master, 50)
        replicaof(replica, master)
        wait_for(lambda: caught_up(master, replica), "the sync")
        with master.client() as conn:
            assert conn.execute_command("FAILOVER", "TO", "127.0.0.1", replica.port, "TIMEOUT", 10000) in (b"OK", True)
        wait_for(lambda: info(replica)["role"] == "master" and info(master).get("master_link_status") == "up",
                 "the roles to swap")
        assert info(master)["master_failover_state"] == "no-failover"
        with replica.client() as conn:
            conn.set("after", "failover")
        wait_for(lambda: caught_up(replica, master), "the old master to follow")
        assert_same_data(replica, master)
        assert info(replica, "stats")["sync_partial_ok"] == 1  # the old master continued its own history


def test_failover_between_two_of_ours_with_abort_first(tmp_path):
    """Ours of ours: a FAILOVER aborted while it waits (writes paused meanwhile), then one that
    completes; the old master follows with a partial resync."""
    master = ours(tmp_path, "m")
    replica = ours(tmp_path, "r")
    with started(master, replica):
        mixed_writes(master, 30)
        replicaof(replica, master)
        wait_for(lambda: caught_up(master, replica), "the sync")
        sleeper = RawConnection(replica.port)
        sleeper.send_raw(b"*3\r\n$5\r\nDEBUG\r\n$5\r\nSLEEP\r\n$1\r\n2\r\n")  # no ACK for 2 s
        time.sleep(0.2)
        with master.client() as conn:
            conn.set("unacked", 1)
            assert conn.execute_command("FAILOVER", "TO", "127.0.0.1", replica.port, "TIMEOUT", 60000) in (b"OK", True)
            assert conn.info("replication")["master_failover_state"] == "waiting-for-sync"
            assert conn.execute_command("FAILOVER", "ABORT") in (b"OK", True)
            assert conn.info("replication")["master_failover_state"] == "no-failover"
            assert conn.set("writable", "again")  # the pause for the failover ended
        sleeper.read_reply()
        sleeper.close()
        wait_for(lambda: info(master)["role"] == "master", "no role change")
        wait_for(lambda: caught_up(master, replica), "the replica")
        with master.client() as conn:
            assert conn.execute_command("FAILOVER") in (b"OK", True)  # to any replica that has caught up
        wait_for(lambda: info(replica)["role"] == "master" and info(master).get("master_link_status") == "up",
                 "the roles to swap")
        with replica.client() as conn:
            conn.set("after", "failover")
        wait_for(lambda: caught_up(replica, master), "the old master to follow")
        assert_same_data(replica, master)
        assert info(replica, "stats")["sync_partial_ok"] == 1
        assert "Failover target" in log_of(master)


def test_failover_from_redis_server_promotes_ours(tmp_path):
    master = real(tmp_path, "m")
    replica = ours(tmp_path, "r")
    with started(master, replica):
        mixed_writes(master, 50)
        replicaof(replica, master)
        wait_for(lambda: caught_up(master, replica), "the sync")
        with master.client() as conn:
            conn.execute_command("FAILOVER")
        wait_for(lambda: info(replica)["role"] == "master" and info(master).get("master_link_status") == "up",
                 "the roles to swap")
        with replica.client() as conn:
            conn.set("after", "failover")
        wait_for(lambda: caught_up(replica, master), "redis-server to follow ours")
        assert_same_data(replica, master)


def test_replica_states_and_stale_data_match_redis_server(tmp_path):
    """Both kinds of replica, pointed at a port nobody listens on with replica-serve-stale-data
    no, answer byte for byte the same: MASTERDOWN, READONLY, ROLE in the connect state; and
    INFO replication has the same fields in the same order."""
    dead = free_port()
    mine = ours(tmp_path, "a", "--replica-serve-stale-data", "no")
    theirs = real(tmp_path, "b", "--replica-serve-stale-data", "no")
    with started(mine, theirs):
        replies = []
        for node in (mine, theirs):
            conn = RawConnection(node.port)
            try:
                assert conn.call("REPLICAOF", "127.0.0.1", str(dead)) == b"+OK\r\n"
                wait_for(lambda c=conn: b"connect\r\n" in c.call("ROLE"), "the connect state")
                replies.append([conn.call(*command) for command in (("GET", "k"), ("SET", "k", "v"), ("PING",),
                                                                    ("ROLE",), ("WAIT", "1", "0"))])
            finally:
                conn.close()
        assert replies[0] == replies[1]
        assert replies[0][0] == b"-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.\r\n"
        assert replies[0][1] == b"-READONLY You can't write against a read only replica.\r\n"
        assert list(info(mine)) == list(info(theirs))


def test_info_replication_fields_match_redis_server(tmp_path):
    """A master with one online replica, and that replica: INFO replication's fields as 7.0's."""
    pairs = []
    for kind in ("ours", "redis"):
        maker = ours if kind == "ours" else real
        pairs.append((maker(tmp_path, f"{kind}-m"), maker(tmp_path, f"{kind}-r")))
    for master, replica in pairs:
        master.start()
        replica.start()
    try:
        for master, replica in pairs:
            replicaof(replica, master)
            with master.client() as conn:
                conn.set("k", "v")
        for master, replica in pairs:
            wait_for(lambda m=master, r=replica: caught_up(m, r) and info(m)["slave0"]["state"] == "online",
                     "the sync")
        (om, orr), (rm, rr) = pairs
        assert list(info(om)) == list(info(rm))
        assert list(info(orr)) == list(info(rr))
        assert list(info(om)["slave0"]) == list(info(rm)["slave0"])
    finally:
        for master, replica in pairs:
            replica.stop()
            master.stop()


def test_replica_killed_and_restarted_ends_with_the_masters_data(tmp_path):
    master = real(tmp_path, "m")
    replica = ours(tmp_path, "r")
    with started(master, replica):
        mixed_writes(master, 50)
        replicaof(replica, master)
        wait_for(lambda: caught_up(master, replica), "the sync")
        replica.kill()
        mixed_writes(master, 50)
        replica.extra = [*replica.extra, "--replicaof", f"127.0.0.1 {master.port}"]
        replica.start()
        wait_for(lambda: caught_up(master, replica), "the restarted replica")
        assert_same_data(master, replica)


@pytest.mark.parametrize("master_kind", ["redis-server", "ours"])
def test_published_messages_and_keyspace_events_reach_replica_subscribers(tmp_path, master_kind):
    master = real(tmp_path, "m") if master_kind == "redis-server" else ours(tmp_path, "m")
    middle = ours(tmp_path, "r", "--notify-keyspace-events", "KA")
    with started(master, middle):
        replicaof(middle, master)
        wait_for(lambda: link_up(middle), "the link")
        with middle.client() as conn:
            pubsub = conn.pubsub()
            pubsub.subscribe("news")
            pubsub.psubscribe("__keyspace@0__:*")
            for _ in range(2):
                assert pubsub.get_message(timeout=5)["type"] in ("subscribe", "psubscribe")
            with master.client() as m:
                m.publish("news", "hello")
                m.set("watched", 1)
            got = []
            end = time.monotonic() + DEADLINE
            while len(got) < 2 and time.monotonic() < end:
                message = pubsub.get_message(timeout=1)
                if message:
                    got.append((message["channel"], message["data"]))
            assert got == [(b"news", b"hello"), (b"__keyspace@0__:watched", b"set")]
            pubsub.close()


def test_failover_errors_match_redis_server(tmp_path):
    nodes = [(ours(tmp_path, "om"), ours(tmp_path, "or")), (real(tmp_path, "rm"), real(tmp_path, "rr"))]
    for master, replica in nodes:
        master.start()
        replica.start()
    try:
        answers = []
        for master, replica in nodes:
            conn = RawConnection(master.port)
            try:
                before = [conn.call("FAILOVER"), conn.call("FAILOVER", "ABORT")]
                replicaof(replica, master)
                wait_for(lambda m=master, r=replica: caught_up(m, r), "the sync")
                after = [conn.call(*args) for args in (
                    ("FAILOVER", "ABORT"), ("FAILOVER", "ABORT", "FORCE"), ("FAILOVER", "BOGUS"),
                    ("FAILOVER", "TIMEOUT", "0"), ("FAILOVER", "TIMEOUT", "x"), ("FAILOVER", "FORCE"),
                    ("FAILOVER", "TO", "127.0.0.1", "1"), ("FAILOVER", "TO", "127.0.0.1", "x"),
                    ("FAILOVER", "TO", "127.0.0.1", "1", "TO", "h", "2"))]
                answers.append(before + after)
            finally:
                conn.close()
        assert answers[0] == answers[1]
        assert answers[0][0] == b"-ERR FAILOVER requires connected replicas.\r\n"
    finally:
        for master, replica in nodes:
            replica.stop()
            master.stop()


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return write_certs(tmp_path_factory.mktemp("certs"))


@pytest.mark.parametrize("master_kind", ["redis-server", "ours"])
def test_replication_over_tls(tmp_path, certs, master_kind):
    """tls-replication: each side's TLS port, client certificates required, in both directions."""
    tls = tls_args(certs, "yes")
    tls_port = free_port()
    make_master, make_replica = (real, ours) if master_kind == "redis-server" else (ours, real)
    master = make_master(tmp_path, "m", "--tls-port", str(tls_port), *tls)
    replica = make_replica(tmp_path, "r", "--tls-replication", "yes", *tls)
    with started(master, replica):
        mixed_writes(master, 30)
        with replica.client() as conn:
            conn.execute_command("REPLICAOF", "127.0.0.1", tls_port)
        wait_for(lambda: caught_up(master, replica), "the sync over TLS")
        assert_same_data(master, replica)


def test_ours_answers_loading_while_it_loads_the_snapshot(tmp_path):
    master = real(tmp_path, "m")
    replica = ours(tmp_path, "r")
    with started(master, replica):
        with master.client() as conn:
            conn.execute_command("DEBUG", "POPULATE", 1000000)
        probe = RawConnection(replica.port)
        try:
            replicaof(replica, master)
            seen = set()
            end = time.monotonic() + DEADLINE
            while time.monotonic() < end:
                reply = probe.call("GET", "key:1")
                seen.add(reply)
                if reply == b"$7\r\nvalue:1\r\n":
                    break
            assert b"-LOADING Redis is loading the dataset in memory\r\n" in seen
            assert b"$7\r\nvalue:1\r\n" in seen
        finally:
            probe.close()
        wait_for(lambda: caught_up(master, replica), "the sync")
        with replica.client() as conn:
            assert conn.dbsize() == 1000000


# --------------------------------------------------------------------------- faults


def test_damaged_or_cut_transfer_keeps_the_old_data(tmp_path):
    """A master that sends a corrupt snapshot, then one that dies mid-transfer: the replica
    keeps its previous data set, says so in its log, and syncs fully from the real master next."""
    replica = ours(tmp_path, "r")
    master = real(tmp_path, "m")
    with started(replica, master):
        with master.client() as conn:
            mixed_writes(master, 30)
            good = conn.execute_command("DUMP", "s:0")
            assert good
        with replica.client() as conn:
            conn.set("mine", "kept")
        for payload, said in ((b"$20\r\nREDIS0010garbagegarb", "Failed trying to load the MASTER synchronization DB"),
                              (b"$100000\r\nREDIS0010\xfa\x09redis-ver", "I/O error trying to sync with MASTER")):
            with FakeMaster(payload) as fake:
                replicaof(replica, fake)
                wait_for(lambda s=said: s in log_of(replica), "the failed transfer")
            with replica.client() as conn:
                assert conn.execute_command("REPLICAOF", "NO", "ONE")
                assert conn.get("mine") == b"kept"
                assert conn.dbsize() == 1
        replicaof(replica, master)
        wait_for(lambda: caught_up(master, replica), "a good sync")
        assert_same_data(master, replica)


# --------------------------------------------------------------------------- helpers


def shut_down(loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
    """Stop a helper's loop cleanly: its tasks cancelled and awaited, then the loop closed."""

    async def cancel_all() -> None:
        tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run_coroutine_threadsafe(cancel_all(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


LoopServerT = TypeVar("LoopServerT", bound="LoopServer")


class LoopServer:
    """A TCP server on an asyncio loop in a thread of the test, on a free port while in a
    ``with`` block; a subclass says in ``_serve`` what it does with each connection."""

    def __init__(self) -> None:
        self.port = 0
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self: LoopServerT) -> LoopServerT:
        self.thread.start()
        self.port = asyncio.run_coroutine_threadsafe(self._listen(), self.loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        shut_down(self.loop, self.thread)

    async def _listen(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError


class Proxy(LoopServer):
    """A TCP proxy in a thread: ``cut`` closes every connection through it (the replica
    reconnects through it), ``cut(hold=True)`` refuses new ones until ``release``."""

    def __init__(self, target: int) -> None:
        super().__init__()
        self.target = target
        self.writers: list[asyncio.StreamWriter] = []
        self.holding = False

    def __exit__(self, *exc: object) -> None:
        self.cut()
        super().__exit__(*exc)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.holding:
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        self.writers += [writer, up_writer]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def cut(self, hold: bool = False) -> None:
        async def close_all() -> None:
            self.holding = hold
            for writer in self.writers:
                transport = writer.transport
                transport.abort()
            self.writers.clear()

        asyncio.run_coroutine_threadsafe(close_all(), self.loop).result(10)

    def release(self) -> None:
        async def release() -> None:
            self.holding = False

        asyncio.run_coroutine_threadsafe(release(), self.loop).result(10)


class FakeMaster(LoopServer):
    """A master that completes the handshake, announces a full sync, sends ``payload``
    (a damaged snapshot, or the start of one) and hangs up."""

    def __init__(self, payload: bytes) -> None:
        super().__init__()
        self.payload = payload
        self.served = False

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            line = await reader.readline()
            if not line:
                return
            if line.startswith(b"*"):
                continue
            if line.startswith(b"$"):
                word = (await reader.readline()).strip().upper()
                if word == b"PSYNC":
                    for _ in range(4):
                        await reader.readline()
                    writer.write(b"+FULLRESYNC " + b"a" * 40 + b" 0\r\n" + self.payload)
                    await writer.drain()
                    self.served = True
                    writer.close()
                    return
                if word in (b"PING",):
                    writer.write(b"+PONG\r\n")
                elif word == b"REPLCONF":
                    writer.write(b"+OK\r\n")


class StreamMaster(LoopServer):
    """A master that completes the handshake, sends an empty snapshot, then ``stream`` in
    pieces of ``piece`` bytes (so that every command is cut across reads), then
    REPLCONF GETACK * and records the replica's ACK offsets."""

    def __init__(self, stream: bytes, piece: int) -> None:
        super().__init__()
        self.stream = stream
        self.piece = piece
        self.acks: list[int] = []

    async def _command(self, reader: asyncio.StreamReader) -> list[bytes]:
        count = int((await reader.readline())[1:])
        args = []
        for _ in range(count):
            size = int((await reader.readline())[1:])
            args.append((await reader.readexactly(size + 2))[:-2])
        return args

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        import io

        from server.persistence import rdb

        while True:
            argv = await self._command(reader)
            word = argv[0].upper()
            if word == b"PING":
                writer.write(b"+PONG\r\n")
            elif word == b"REPLCONF":
                writer.write(b"+OK\r\n")
            elif word == b"PSYNC":
                break
        empty = io.BytesIO()
        rdb.write_rdb(empty, [], aux={b"repl-stream-db": 0})
        snapshot = empty.getvalue()
        writer.write(b"+FULLRESYNC " + b"b" * 40 + b" 0\r\n$%d\r\n" % len(snapshot) + snapshot)
        await writer.drain()
        await asyncio.sleep(0.2)
        for start in range(0, len(self.stream), self.piece):
            writer.write(self.stream[start:start + self.piece])
            await writer.drain()
            await asyncio.sleep(0.001)
        writer.write(b"*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n")
        await writer.drain()
        try:
            while True:
                argv = await self._command(reader)
                if argv[:2] == [b"REPLCONF", b"ACK"]:
                    self.acks.append(int(argv[2]))
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass


def test_stream_cut_at_every_byte_is_applied_with_exact_offsets(tmp_path):
    """The replica's stream parser keeps a command cut by the end of a read for the next read:
    a stream sent in pieces of 1, 3 and 7 bytes (SET on the fast path, MULTI/EXEC, SELECT, an
    expiry made absolute, a DEL) leaves the data a master would, and the replica's ACKs and
    INFO count exactly the bytes applied."""
    from server.persistence.aof import encode_command

    commands = [[b"SET", b"a", b"1"], [b"MULTI"], [b"INCR", b"n"], [b"RPUSH", b"l", b"x", b"y"], [b"EXEC"],
                [b"SELECT", b"3"], [b"SET", b"b", b"v" * 3000], [b"PEXPIREAT", b"b", b"99999999999999"],
                [b"SELECT", b"0"], [b"SET", b"gone", b"1"], [b"DEL", b"gone"], [b"HSET", b"h", b"f", b"\r\n"],
                [b"PING"], [b"SADD", b"s", *[b"%d" % i for i in range(40)]]]
    stream = b"".join(encode_command(argv) for argv in commands)
    getack = len(encode_command([b"REPLCONF", b"GETACK", b"*"]))
    for piece in (1, 3, 7):
        replica = ours(tmp_path, f"r{piece}")
        with started(replica), StreamMaster(stream, piece) as master:
            replicaof(replica, master)
            wait_for(lambda m=master: m.acks and m.acks[-1] == len(stream) + getack, "the ACK of the whole stream")
            with replica.client() as conn:
                assert conn.get("a") == b"1" and conn.get("n") == b"1"
                assert conn.lrange("l", 0, -1) == [b"x", b"y"]
                assert conn.exists("gone") == 0 and conn.hget("h", "f") == b"\r\n" and conn.scard("s") == 40
                assert conn.execute_command("INFO", "replication")["slave_repl_offset"] == len(stream) + getack
            with replica.client(db=3) as conn:
                assert conn.strlen("b") == 3000 and conn.pexpiretime("b") == 99999999999999


@contextlib.contextmanager
def stopped(server: ServerProcess) -> Iterator[None]:
    """The server's process frozen (SIGSTOP) for the block: it reads nothing, acknowledges nothing."""
    import os
    import signal

    assert server.proc is not None
    os.kill(server.proc.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(server.proc.pid, signal.SIGCONT)


def shutdown_in_thread(server: ServerProcess, *options: str) -> tuple[threading.Thread, list[bytes]]:
    """SHUTDOWN sent from a thread on a plain socket (it blocks while replicas lag; a client
    library would send it again after the connection closes): what came back before the
    connection closed lands in the list (b"" when it closed without a reply, as on success)."""
    outcome: list[bytes] = []
    conn = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    conn.settimeout(60)
    conn.sendall(" ".join(["SHUTDOWN", *options]).encode() + b"\r\n")

    def run() -> None:
        with conn:
            received = b""
            try:
                while not received.endswith(b"\r\n"):
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    received += chunk
            except OSError:
                pass
            outcome.append(received)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def test_shutdown_waits_for_a_lagging_redis_server_replica(tmp_path):
    """SHUTDOWN on our master waits for redis-server to acknowledge the last write (writes
    paused meanwhile, INFO shutdown_in_milliseconds), then exits: the replica has the last write."""
    master = ours(tmp_path, "m")
    replica = real(tmp_path, "r")
    with started(master, replica):
        replicaof(replica, master)
        wait_for(lambda: caught_up(master, replica), "the replica")
        with stopped(replica):
            with master.client() as conn:
                conn.set("last", "write")
            thread, outcome = shutdown_in_thread(master)
            wait_for(lambda: "Waiting for replicas before shutting down." in log_of(master), "the wait")
            with master.client() as conn:
                assert 0 < conn.info("server")["shutdown_in_milliseconds"] <= 10000
            with socket.create_connection(("127.0.0.1", master.port), timeout=5) as raw:
                raw.sendall(b"SET paused 1\r\nPING\r\n")
                assert select.select([raw], [], [], 0.5)[0] == []  # writes (and what follows) wait
            assert master.proc is not None and master.proc.poll() is None
        assert master.proc is not None
        assert master.proc.wait(timeout=DEADLINE) == 0
        thread.join(DEADLINE)
        assert outcome == [b""]  # closed without a reply, as Redis
        log = log_of(master)
        assert "1 of 1 replicas are in sync when shutting down." in log
        assert log.index("Waiting for replicas") < log.index("1 of 1 replicas") < log.index("ready to exit")
        with replica.client() as conn:
            assert conn.get("last") == b"write"
            assert conn.get("paused") is None


@pytest.mark.parametrize("master_kind", ["ours", "redis-server"])
def test_shutdown_timeout_abort_and_now_match_redis_server(tmp_path, master_kind):
    """ABORT ends the wait (the waiting SHUTDOWN gets Redis's error, writes resume); the timeout
    runs out with the lagging replica logged; NOW does not wait. Same replies and log lines as 7.0."""
    make = ours if master_kind == "ours" else real
    master = make(tmp_path, "m", "--shutdown-timeout", "2")
    replica = real(tmp_path, "r")
    with started(master, replica):
        with master.client() as conn:
            with pytest.raises(redis.ResponseError, match="^No shutdown in progress.$"):
                conn.execute_command("SHUTDOWN", "ABORT")
            with pytest.raises(redis.ResponseError, match="^syntax error$"):
                conn.execute_command("SHUTDOWN", "ABORT", "NOW")
        replicaof(replica, master)
        wait_for(lambda: caught_up(master, replica), "the replica")
        with stopped(replica):
            with master.client() as conn:
                conn.set("k", "v")
            thread, outcome = shutdown_in_thread(master, "NOSAVE")
            wait_for(lambda: "Waiting for replicas before shutting down." in log_of(master), "the wait")
            with master.client() as conn:
                assert conn.execute_command("SHUTDOWN", "ABORT") in (b"OK", "OK", True)
                thread.join(DEADLINE)
                assert outcome == [b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n"]
                assert "Shutdown manually aborted." in log_of(master)
                assert "shutdown_in_milliseconds" not in conn.info("server")
                assert conn.set("after", "abort")  # writes go on
                conn.set("k", "w")
            thread, outcome = shutdown_in_thread(master, "NOSAVE")
            assert master.proc is not None
            assert master.proc.wait(timeout=DEADLINE) == 0  # shutdown-timeout (2 s) ran out
        log = log_of(master)
        assert "0 of 1 replicas are in sync when shutting down." in log
        assert f"Lagging replica 127.0.0.1:{replica.port} reported offset" in log
        assert "behind master, lag=" in log and "state=online." in log
        # NOW: no wait at all, even with the replica stopped.
        master.start()  # (the same port: the replica reconnects by itself)
        wait_for(lambda: caught_up(master, replica), "the replica again")
        with stopped(replica):
            with master.client() as conn:
                conn.set("k", "x")
            before = log_of(master).count("Waiting for replicas")
            thread, outcome = shutdown_in_thread(master, "NOW", "NOSAVE")
            assert master.proc is not None
            assert master.proc.wait(timeout=DEADLINE) == 0
            assert log_of(master).count("Waiting for replicas") == before


def test_a_malformed_stream_from_the_master_fails_the_link(tmp_path):
    """A reply type where a command belongs (":1"), or a command with a non-bulk argument: the
    commands before it are applied, then the link fails with a protocol error in the log."""
    from server.persistence.aof import encode_command

    good = encode_command([b"SET", b"before", b"1"])
    for bad in (b":1\r\n", b"*2\r\n$3\r\nGET\r\n:5\r\n"):
        replica = ours(tmp_path, f"r{len(bad)}")
        with started(replica), StreamMaster(good + bad + good, 5) as master:
            replicaof(replica, master)
            wait_for(lambda r=replica: "Protocol error from the master: expected a command (an array of bulk "
                                       "strings)" in log_of(r), "the protocol error")
