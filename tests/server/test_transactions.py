"""Transactions through redis-py, plus what only the server's inside can show.

Byte-level agreement with redis-server is in ``tests/differential/test_transactions_diff.py``.
Here: redis-py pipelines and the WATCH retry loop under contention, atomicity
seen from another client, blocked clients served after EXEC (not in between),
and, in-process, what EXEC hands to the effects pipeline (``server.effects``).
"""

from __future__ import annotations

import threading
import time

import redis

from server.dispatch import execute
from server.main import build_server
from tests.differential.harness import RawConnection, encode_command


def test_pipeline_transaction(r):
    with r.pipeline(transaction=True) as pipe:
        pipe.set("a", 1).incr("a").lpush("a", "x").get("a")
        result = pipe.execute(raise_on_error=False)
    assert result[:2] == [True, 2]
    assert isinstance(result[2], redis.ResponseError) and result[3] == b"2"


def test_watch_retry_loop_under_contention(ours, r):
    """Optimistic increments from several clients never lose an update."""
    r.set("counter", 0)
    rounds, workers = 30, 4

    def work() -> None:
        client = redis.Redis(port=ours.port)
        for _ in range(rounds):
            while True:
                with client.pipeline() as pipe:
                    try:
                        pipe.watch("counter")
                        value = int(pipe.get("counter"))
                        pipe.multi()
                        pipe.set("counter", value + 1)
                        pipe.execute()
                        break
                    except redis.WatchError:
                        continue
        client.close()

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert int(r.get("counter")) == rounds * workers


def test_exec_is_atomic_for_other_clients(ours, r):
    """A reader pipelining GETs never sees a transaction half done."""
    writer = RawConnection(ours.port)
    reader = RawConnection(ours.port)
    try:
        r.mset({"x": 0, "y": 0})
        for i in range(1, 51):
            body = encode_command(("MULTI",)) + encode_command(("SET", "x", str(i))) + \
                encode_command(("SET", "y", str(i))) + encode_command(("EXEC",))
            writer.send_raw(body)
            reader.send_raw(encode_command(("MGET", "x", "y")))
        for _ in range(50):
            for _ in range(4):
                writer.read_reply()
        for _ in range(50):
            reply = reader.read_reply()
            values = [v for v in reply.split(b"\r\n") if v and v[:1] not in (b"*", b"$")]
            assert values[0] == values[1], reply
    finally:
        writer.close()
        reader.close()


def test_blocked_client_is_served_after_exec(ours, r):
    """BZPOPMIN waiting on z sees the state after the whole transaction, not after its first command."""
    blocked = RawConnection(ours.port)
    try:
        blocked.send_raw(encode_command(("BZPOPMIN", "z", "5")))
        time.sleep(0.1)
        with r.pipeline(transaction=True) as pipe:
            pipe.zadd("z", {"late": 5})
            pipe.zadd("z", {"early": 1})
            pipe.execute()
        reply = blocked.read_reply()
        assert b"early" in reply  # served once, at the end: the lowest score by then
    finally:
        blocked.close()


class _Recorder:
    """An ``EffectConsumer`` that keeps what it receives."""

    def __init__(self) -> None:
        self.seen: list[list[bytes]] = []

    def apply_effects(self, ops: list[tuple[int, list[bytes]]]) -> None:
        self.seen.extend([a.upper() if i == 0 else a for i, a in enumerate(argv)] for _db, argv in ops)


def test_exec_propagates_as_one_unit():
    """EXEC's writes reach the effects consumers together, in MULTI/EXEC when there are several
    (Redis 7.0's propagatePendingCommands); a single write or a read-only EXEC is not wrapped."""
    server = build_server(["--save", ""])
    recorder = _Recorder()
    server.effects.register(recorder)
    seen = recorder.seen
    client = server.new_client("test")
    for argv in (["MULTI"], ["GET", "k"], ["SET", "k", "1"], ["INCR", "k"], ["EXEC"]):
        execute(client, [a.encode() for a in argv])
    assert seen == [[b"MULTI"], [b"SET", b"k", b"1"], [b"INCR", b"k"], [b"EXEC"]]
    seen.clear()
    for argv in (["MULTI"], ["GET", "k"], ["EXEC"]):  # read-only: nothing to propagate
        execute(client, [a.encode() for a in argv])
    assert seen == []
    for argv in (["MULTI"], ["INCR", "k"], ["EXEC"]):  # one write: atomic on its own
        execute(client, [a.encode() for a in argv])
    assert seen == [[b"INCR", b"k"]]
    seen.clear()
    assert execute(client, [b"SET", b"k", b"2"]) is not None
    assert seen == [[b"SET", b"k", b"2"]]  # outside EXEC, one command at a time


def test_watch_registry_is_emptied():
    """UNWATCH, EXEC, DISCARD, RESET and disconnects leave no watched keys behind."""
    server = build_server(["--save", ""])
    a, b = server.new_client("a"), server.new_client("b")
    run = lambda c, *args: execute(c, [x.encode() for x in args])  # noqa: E731
    run(a, "WATCH", "k1", "k2")
    run(b, "WATCH", "k1")
    assert server.keyspace.watched
    run(a, "UNWATCH")
    run(b, "MULTI")
    run(b, "EXEC")
    assert not server.keyspace.watched and not server.watches.keys
    run(a, "WATCH", "k3")
    run(a, "MULTI")
    run(a, "DISCARD")
    run(b, "WATCH", "k4")
    run(b, "RESET")
    run(a, "WATCH", "k5")
    server.client_gone(a)
    assert not server.keyspace.watched and not server.watches.keys
