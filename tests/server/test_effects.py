"""The effects pipeline: every write's effects reach the consumers once, in order, from one place.

An in-process server with a recording ``EffectConsumer``: what it receives is what the
AOF (and, later, replicas) would receive.
"""

from __future__ import annotations

from server.dispatch import execute, run_requests
from server.effects import Op, with_selects
from server.main import build_server


class Recorder:
    def __init__(self) -> None:
        self.ops: list[Op] = []

    def apply_effects(self, ops: list[Op]) -> None:
        self.ops.extend(ops)

    def commands(self) -> list[list[bytes]]:
        return [argv for _db, argv in self.ops]


def _server():
    server = build_server(["--save", ""])
    recorder = Recorder()
    server.effects.register(recorder)
    return server, recorder


def run(client, *argv: str | bytes) -> object:
    return execute(client, [a.encode() if isinstance(a, str) else a for a in argv])


def test_relative_expiry_becomes_absolute_and_spop_becomes_srem():
    server, rec = _server()
    c = server.new_client("t")
    run(c, "SET", "k", "v", "EX", "100")
    run(c, "EXPIRE", "k", "50")
    run(c, "SADD", "s", "a")
    popped = run(c, "SPOP", "s")
    cmds = rec.commands()
    assert cmds[0][:3] == [b"SET", b"k", b"v"] and cmds[0][3] == b"PXAT"
    assert cmds[1][0] == b"PEXPIREAT"
    assert cmds[3] == [b"SREM", b"s", popped]
    assert c.propagate_as is None


def test_select_is_left_to_consumers_and_ops_carry_their_db():
    server, rec = _server()
    c = server.new_client("t")
    run(c, "SET", "a", "1")
    run(c, "SELECT", "3")
    run(c, "SET", "b", "2")
    assert [db for db, _ in rec.ops] == [0, 3]
    commands, selected = with_selects(rec.ops, -1)
    assert commands == [[b"SELECT", b"0"], [b"SET", b"a", b"1"], [b"SELECT", b"3"], [b"SET", b"b", b"2"]]
    assert selected == 3


def test_exec_is_one_unit_and_exec_itself_logs_nothing():
    server, rec = _server()
    c = server.new_client("t")
    for argv in (("MULTI",), ("SET", "a", "1"), ("SELECT", "2"), ("SET", "b", "2"), ("EXEC",)):
        run(c, *argv)
    assert rec.ops == [(0, [b"MULTI"]), (0, [b"SET", b"a", b"1"]), (2, [b"SET", b"b", b"2"]), (2, [b"EXEC"])]
    rec.ops.clear()
    run(c, "SET", "c", "3")  # nothing left over from the unit
    assert rec.ops == [(2, [b"SET", b"c", b"3"])]


def test_script_is_one_unit():
    server, rec = _server()
    c = server.new_client("t")
    run(c, "EVAL", "redis.call('SET', KEYS[1], 'x'); redis.call('INCR', KEYS[2]); return 1", "2", "k", "n")
    assert rec.commands() == [[b"MULTI"], [b"SET", b"k", b"x"], [b"INCR", b"n"], [b"EXEC"]]
    rec.ops.clear()
    run(c, "EVAL", "redis.set_repl(redis.REPL_NONE); redis.call('SET', KEYS[1], 'y'); return 1", "1", "k")
    assert rec.ops == []  # muted by the script, and the EVAL itself is never logged
    run(c, "SET", "after", "1")
    assert rec.commands() == [[b"SET", b"after", b"1"]]


def test_served_blocking_pop_logs_its_effect():
    server, rec = _server()
    waiter, pusher = server.new_client("w"), server.new_client("p")
    out: list[bytes] = []
    assert run_requests(waiter, [[b"BLPOP", b"q", b"0"]], out) is True  # blocked
    run(pusher, "RPUSH", "q", "x")
    assert rec.commands() == [[b"RPUSH", b"q", b"x"], [b"LPOP", b"q"]]


def test_expired_and_evicted_keys_are_deleted_by_effect():
    server, rec = _server()
    c = server.new_client("t")
    run(c, "SET", "gone", "v", "PX", "1")
    import time

    time.sleep(0.01)
    assert run(c, "GET", "gone") is None
    assert rec.commands()[-1] == [b"DEL", b"gone"]
    rec.ops.clear()
    run(c, "SET", "victim", "v" * 1000)
    server.config.set_many([("maxmemory-policy", ["allkeys-random"]), ("maxmemory", ["1"])])
    run(c, "SET", "new", "v")  # over the limit: everything evictable goes first
    assert [b"DEL", b"victim"] in rec.commands()


def test_no_consumer_no_work():
    server = build_server(["--save", ""])
    assert not server.effects.active
    c = server.new_client("t")
    run(c, "SADD", "s", "a")
    run(c, "SPOP", "s")
    assert c.propagate_as is None


def test_a_read_of_plain_writes_goes_to_replicas_as_the_client_sent_it():
    """Dispatch's fast path defers plain writes (their effect is their argv) to the end of the
    read: with replication the only consumer, a read made only of them enters the stream as the
    bytes received (``Replication.apply_raw``); anything else in the read, or a non-canonical
    encoding, makes each command encoded again, in order with the other effects."""
    from server.protocol import RequestParser

    server = build_server(["--save", ""])
    replication = server.replication
    replication.create_backlog()
    client = server.new_client("c")
    taken: list[bytes] = []  # what went in as received
    as_received = replication.apply_raw
    replication.__dict__["apply_raw"] = lambda dbid, raw: bool(taken.append(raw)) or as_received(dbid, raw)

    def stream_of(data: bytes) -> bytes:
        parser = RequestParser()
        frames, error = parser.feed(data)
        assert error is None
        before = replication.offset
        run_requests(client, frames, [], data if parser.whole else None)
        assert client.woff == replication.offset
        return replication.backlog.since(before + 1) if replication.backlog else b""

    sets = b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n*4\r\n$4\r\nHSET\r\n$1\r\nh\r\n$1\r\nf\r\n$1\r\nv\r\n"
    select0 = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"
    assert stream_of(sets) == select0 + sets  # the stream's first command selects the database
    assert stream_of(sets) == sets  # the bytes as received
    assert taken == [sets, sets]
    mixed = b"*3\r\n$3\r\nset\r\n$1\r\nb\r\n$1\r\n2\r\n*2\r\n$3\r\nGET\r\n$1\r\nb\r\n*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n"
    assert stream_of(mixed) == b"*3\r\n$3\r\nset\r\n$1\r\nb\r\n$1\r\n2\r\n*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n"
    assert len(taken) == 2  # (encoded again: the GET is not a write)
    # An expiring key read in the middle: its DEL comes after the write before it, as it happened.
    run(client, "SET", "e", "1", "PX", "1")
    replication.backlog = None
    replication.create_backlog()
    import time

    time.sleep(0.01)
    ordered = b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$1\r\n1\r\n*3\r\n$6\r\nAPPEND\r\n$1\r\ne\r\n$1\r\nz\r\n"
    assert stream_of(ordered) == (b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$1\r\n1\r\n*2\r\n$3\r\nDEL\r\n$1\r\ne\r\n"
                                  b"*3\r\n$6\r\nAPPEND\r\n$1\r\ne\r\n$1\r\nz\r\n")
    # A PUBLISH (replicas only) after a write of the same read follows it.
    published = b"*3\r\n$3\r\nSET\r\n$1\r\np\r\n$1\r\n1\r\n*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$1\r\nm\r\n"
    assert stream_of(published) == published
    # Another database: a SELECT, then the bytes; a SET with options is rewritten (PXAT).
    run(client, "SELECT", "2")
    assert stream_of(sets) == b"*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n" + sets
    assert len(taken) == 3
    with_ttl = stream_of(b"*5\r\n$3\r\nSET\r\n$1\r\nt\r\n$1\r\n1\r\n$2\r\nEX\r\n$3\r\n100\r\n")
    assert with_ttl.startswith(b"*5\r\n$3\r\nSET\r\n$1\r\nt\r\n$1\r\n1\r\n$4\r\nPXAT\r\n")
