"""BLPOP, BRPOP, BLMOVE, BRPOPLPUSH and BLMPOP with several clients.

Every scenario runs against our server and against redis-server. A scenario
records what each client received (the exact reply bytes) into a transcript;
the two transcripts must be identical, and a few facts are also asserted
outright so that a scenario that silently does nothing cannot pass.

Blocked clients are raw sockets, so the test decides when each one reads;
``wait_blocked`` polls INFO until the server has parked the expected number.
"""

from __future__ import annotations

import time

import pytest

from tests.differential.harness import RawConnection, encode_command

NULL_ARRAY = b"*-1\r\n"


class Peer:
    """One connection: sends commands, reads replies, can tell whether a reply is pending."""

    def __init__(self, port: int, resp3: bool = False):
        self.conn = RawConnection(port, timeout=5)
        if resp3:
            self.conn.call("HELLO", "3")

    def call(self, *args) -> bytes:
        return self.conn.call(*args)

    def send(self, *args) -> None:
        self.conn.send_raw(encode_command(args))

    def reply(self) -> bytes:
        return self.conn.read_reply()

    def pending(self, wait: float = 0.05) -> bool:
        """Did anything arrive within ``wait`` seconds? (kept for ``reply``)."""
        if self.conn.buf:
            return True
        sock = self.conn.sock
        sock.settimeout(wait)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            return False
        finally:
            sock.settimeout(5)
        self.conn.buf += chunk
        return bool(chunk)

    def close(self) -> None:
        self.conn.close()


class Scenario:
    """Connections to one server plus the transcript of what they saw."""

    def __init__(self, port: int):
        self.port = port
        self.admin = Peer(port)
        self.admin.call("FLUSHALL")
        self.peers: list[Peer] = []
        self.log: list[tuple[str, bytes]] = []

    def peer(self, resp3: bool = False) -> Peer:
        p = Peer(self.port, resp3)
        self.peers.append(p)
        return p

    def blocked_clients(self) -> int:
        info = self.admin.call("INFO", "clients").decode()
        for line in info.split("\r\n"):
            if line.startswith("blocked_clients:"):
                return int(line.split(":")[1])
        raise AssertionError("INFO clients has no blocked_clients")

    def wait_blocked(self, count: int, timeout: float = 3.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.blocked_clients() == count:
                return
            time.sleep(0.01)
        raise AssertionError(f"expected {count} blocked clients, have {self.blocked_clients()}")

    def record(self, label: str, data: bytes) -> bytes:
        self.log.append((label, data))
        return data

    def close(self) -> None:
        for p in self.peers:
            p.close()
        self.admin.close()


@pytest.fixture
def run_both(ours, real):
    """Run ``scenario(Scenario)`` on both servers; assert equal transcripts; return ours."""
    opened: list[Scenario] = []

    def run(scenario) -> list[tuple[str, bytes]]:
        logs = []
        for srv in (ours, real):
            sc = Scenario(srv.port)
            opened.append(sc)
            scenario(sc)
            logs.append(sc.log)
            sc.close()
        assert logs[0] == logs[1], f"\n  ours={logs[0]!r}\n  real={logs[1]!r}"
        return logs[0]

    yield run
    for sc in opened:
        sc.close()


def test_fifo_wake_up_order(run_both):
    def scenario(sc: Scenario) -> None:
        a, b, c = sc.peer(), sc.peer(), sc.peer()
        a.send("BLPOP", "q", "0")
        sc.wait_blocked(1)
        b.send("BLPOP", "other", "q", "0")
        sc.wait_blocked(2)
        c.send("BRPOP", "q", "0")
        sc.wait_blocked(3)
        sc.record("push", sc.admin.call("RPUSH", "q", "x", "y"))
        sc.record("a", a.reply())
        sc.record("b", b.reply())
        sc.record("c pending", b"%d" % c.pending())
        sc.record("left", sc.admin.call("EXISTS", "q"))
        sc.record("push2", sc.admin.call("LPUSH", "q", "z"))
        sc.record("c", c.reply())
        sc.wait_blocked(0)

    log = run_both(scenario)
    assert log[1] == ("a", b"*2\r\n$1\r\nq\r\n$1\r\nx\r\n")
    assert log[2] == ("b", b"*2\r\n$1\r\nq\r\n$1\r\ny\r\n")
    assert log[3] == ("c pending", b"0")


def test_one_push_serves_as_many_as_it_has_elements(run_both):
    def scenario(sc: Scenario) -> None:
        waiters = [sc.peer() for _ in range(3)]
        for i, w in enumerate(waiters):
            w.send("BLMPOP", "0", "1", "q", "LEFT", "COUNT", "2")
            sc.wait_blocked(i + 1)
        sc.record("push", sc.admin.call("RPUSH", "q", "1", "2", "3"))
        sc.record("w0", waiters[0].reply())
        sc.record("w1", waiters[1].reply())
        sc.record("w2 pending", b"%d" % waiters[2].pending())
        sc.record("blocked", b"%d" % sc.blocked_clients())

    log = run_both(scenario)
    assert log[-1] == ("blocked", b"1")


def test_timeouts_and_null_replies(run_both):
    def scenario(sc: Scenario) -> None:
        p2, p3 = sc.peer(), sc.peer(resp3=True)
        for cmd in (("BLPOP", "q", "0.1"), ("BRPOP", "q", "r", "0.1"), ("BLMOVE", "q", "d", "LEFT", "LEFT", "0.1"),
                    ("BRPOPLPUSH", "q", "d", "0.1"), ("BLMPOP", "0.1", "2", "q", "r", "RIGHT")):
            for p in (p2, p3):
                start = time.monotonic()
                reply = p.call(*cmd)
                elapsed = time.monotonic() - start
                assert 0.07 < elapsed < 2.0, (cmd, elapsed)
                sc.record(" ".join(cmd), reply)
        sc.record("blocked", b"%d" % sc.blocked_clients())

    log = run_both(scenario)
    assert log[0][1] == NULL_ARRAY and log[1][1] == b"_\r\n"
    assert log[4][1] == NULL_ARRAY  # BLMOVE times out with a null array too


def test_fractional_timeout_is_honoured(ours):
    sc = Scenario(ours.port)
    try:
        p = sc.peer()
        start = time.monotonic()
        assert p.call("BLPOP", "q", "0.25") == NULL_ARRAY
        elapsed = time.monotonic() - start
        assert 0.2 <= elapsed < 1.5
        # Redis 7.0.15 rounds up to whole milliseconds (ceill): 0.0004 waits 1 ms...
        start = time.monotonic()
        assert p.call("BLPOP", "q", "0.0004") == NULL_ARRAY
        assert time.monotonic() - start < 1.0
        # ... and a tiny negative one rounds up to 0: wait forever.
        p.send("BLPOP", "q", "-0.0004")
        sc.wait_blocked(1)
        time.sleep(0.1)
        assert not p.pending()
        sc.admin.call("RPUSH", "q", "v")
        assert p.reply() == b"*2\r\n$1\r\nq\r\n$1\r\nv\r\n"
    finally:
        sc.close()


def test_zero_timeout_waits_until_served(run_both):
    def scenario(sc: Scenario) -> None:
        p = sc.peer()
        p.send("BRPOPLPUSH", "src", "dst", "0")
        sc.wait_blocked(1)
        time.sleep(0.3)
        sc.record("still waiting", b"%d" % (not p.pending()))
        sc.record("push", sc.admin.call("RPUSH", "src", "a", "b"))
        sc.record("served", p.reply())
        sc.record("src", sc.admin.call("LRANGE", "src", "0", "-1"))
        sc.record("dst", sc.admin.call("LRANGE", "dst", "0", "-1"))

    log = run_both(scenario)
    assert log[0] == ("still waiting", b"1")
    assert log[2] == ("served", b"$1\r\nb\r\n")


def test_client_unblock(run_both):
    def scenario(sc: Scenario) -> None:
        p, p3 = sc.peer(), sc.peer(resp3=True)
        pid = p.call("CLIENT", "ID").decode().strip(":\r\n")
        p3id = p3.call("CLIENT", "ID").decode().strip(":\r\n")
        sc.record("not blocked", sc.admin.call("CLIENT", "UNBLOCK", pid))
        p.send("BLPOP", "q", "0")
        sc.wait_blocked(1)
        sc.record("bad reason", sc.admin.call("CLIENT", "UNBLOCK", pid, "MAYBE"))
        sc.record("unblock timeout", sc.admin.call("CLIENT", "UNBLOCK", pid, "TIMEOUT"))
        sc.record("reply", p.reply())
        p.send("BLMOVE", "q", "d", "LEFT", "RIGHT", "0")
        sc.wait_blocked(1)
        sc.record("unblock error", sc.admin.call("CLIENT", "UNBLOCK", pid, "ERROR"))
        sc.record("reply", p.reply())
        p3.send("BLMPOP", "0", "1", "q", "LEFT")
        sc.wait_blocked(1)
        sc.record("unblock default", sc.admin.call("CLIENT", "UNBLOCK", p3id))
        sc.record("reply3", p3.reply())
        sc.record("blocked", b"%d" % sc.blocked_clients())
        # The connection still works afterwards, and nothing is left waiting.
        sc.record("push", sc.admin.call("RPUSH", "q", "v"))
        sc.record("llen", sc.admin.call("LLEN", "q"))
        sc.record("ping", p.call("PING"))

    log = run_both(scenario)
    assert (b"unblock error", b":1\r\n") in [(k.encode(), v) for k, v in log]
    assert ("reply3", b"_\r\n") in log


def test_disconnect_leaves_no_trace(run_both):
    def scenario(sc: Scenario) -> None:
        p = sc.peer()
        p.send("BLPOP", "q", "0")
        q = sc.peer()
        q.send("BLMOVE", "q", "d", "RIGHT", "LEFT", "0")
        sc.wait_blocked(2)
        p.close()
        q.close()
        sc.wait_blocked(0)
        sc.record("push", sc.admin.call("RPUSH", "q", "v"))
        sc.record("q", sc.admin.call("LRANGE", "q", "0", "-1"))
        sc.record("d", sc.admin.call("EXISTS", "d"))
        sc.record("blocked", b"%d" % sc.blocked_clients())

    log = run_both(scenario)
    assert log[1] == ("q", b"*1\r\n$1\r\nv\r\n")


def test_woken_by_multi_exec_after_the_transaction(run_both):
    def scenario(sc: Scenario) -> None:
        p = sc.peer()
        p.send("BLPOP", "q", "0")
        sc.wait_blocked(1)
        w = sc.peer()
        sc.record("multi", w.call("MULTI"))
        sc.record("q1", w.call("RPUSH", "q", "a", "b"))
        sc.record("q2", w.call("LPOP", "q"))
        sc.record("q3", w.call("RPUSH", "q", "c"))
        sc.record("exec", w.call("EXEC"))
        sc.record("served", p.reply())
        sc.record("left", sc.admin.call("LRANGE", "q", "0", "-1"))
        # Pushed and emptied inside one transaction: the waiter keeps waiting.
        p.send("BLPOP", "q2", "0")
        sc.wait_blocked(1)
        w.call("MULTI")
        w.call("RPUSH", "q2", "x")
        w.call("DEL", "q2")
        sc.record("exec2", w.call("EXEC"))
        sc.record("pending", b"%d" % p.pending())
        sc.record("blocked", b"%d" % sc.blocked_clients())

    log = run_both(scenario)
    assert ("served", b"*2\r\n$1\r\nq\r\n$1\r\nb\r\n") in log
    assert ("pending", b"0") in log


def test_blocking_commands_inside_exec_do_not_block(run_both):
    def scenario(sc: Scenario) -> None:
        p = sc.peer()
        p.call("MULTI")
        p.call("BLPOP", "q", "0")
        p.call("BLMOVE", "q", "d", "LEFT", "LEFT", "0")
        p.call("BLMPOP", "0", "1", "q", "RIGHT", "COUNT", "3")
        sc.record("exec", p.call("EXEC"))
        sc.record("blocked", b"%d" % sc.blocked_clients())

    log = run_both(scenario)
    assert log[0] == ("exec", b"*3\r\n*-1\r\n$-1\r\n*-1\r\n")


def test_blmove_chain_and_destination_wakes_others(run_both):
    def scenario(sc: Scenario) -> None:
        mover, popper = sc.peer(), sc.peer()
        mover.send("BLMOVE", "src", "dst", "LEFT", "RIGHT", "0")
        sc.wait_blocked(1)
        popper.send("BRPOP", "dst", "0")
        sc.wait_blocked(2)
        sc.record("push", sc.admin.call("LPUSH", "src", "v"))
        sc.record("mover", mover.reply())
        sc.record("popper", popper.reply())
        sc.record("keys", sc.admin.call("EXISTS", "src", "dst"))

    log = run_both(scenario)
    assert log[2] == ("popper", b"*2\r\n$3\r\ndst\r\n$1\r\nv\r\n")


def test_served_blmove_with_wrong_type_destination(run_both):
    def scenario(sc: Scenario) -> None:
        mover, other = sc.peer(), sc.peer()
        mover.send("BLMOVE", "src", "dst", "LEFT", "RIGHT", "0")
        sc.wait_blocked(1)
        other.send("BLPOP", "src", "0")
        sc.wait_blocked(2)
        sc.admin.call("SET", "dst", "string")
        sc.record("push", sc.admin.call("RPUSH", "src", "v"))
        sc.record("mover", mover.reply())
        sc.record("other", other.reply())

    log = run_both(scenario)
    assert log[1][1].startswith(b"-WRONGTYPE")


def test_list_waiter_ignores_a_key_of_another_type(run_both):
    def scenario(sc: Scenario) -> None:
        p = sc.peer()
        p.send("BLPOP", "k", "0")
        sc.wait_blocked(1)
        sc.record("zadd", sc.admin.call("ZADD", "k", "1", "m"))
        sc.record("pending", b"%d" % p.pending())
        sc.admin.call("DEL", "k")
        sc.record("push", sc.admin.call("RPUSH", "k", "v"))
        sc.record("served", p.reply())

    log = run_both(scenario)
    assert ("pending", b"0") in log


@pytest.mark.parametrize("how", ["rename", "copy", "move", "swapdb", "lmove", "smove-like"])
def test_woken_when_a_list_arrives_at_the_key(run_both, how):
    def scenario(sc: Scenario) -> None:
        p = sc.peer()
        p.send("BRPOP", "target", "0")
        sc.wait_blocked(1)
        if how == "rename":
            sc.admin.call("RPUSH", "tmp", "a", "b")
            sc.record("op", sc.admin.call("RENAME", "tmp", "target"))
        elif how == "copy":
            sc.admin.call("RPUSH", "tmp", "a", "b")
            sc.record("op", sc.admin.call("COPY", "tmp", "target"))
        elif how == "move":
            sc.admin.call("SELECT", "1")
            sc.admin.call("RPUSH", "target", "a", "b")
            sc.record("op", sc.admin.call("MOVE", "target", "0"))
            sc.admin.call("SELECT", "0")
        elif how == "swapdb":
            sc.admin.call("SELECT", "1")
            sc.admin.call("RPUSH", "target", "a", "b")
            sc.admin.call("SELECT", "0")
            sc.record("op", sc.admin.call("SWAPDB", "0", "1"))
        elif how == "lmove":
            sc.admin.call("RPUSH", "tmp", "a", "b")
            sc.record("op", sc.admin.call("LMOVE", "tmp", "target", "LEFT", "LEFT"))
        else:
            sc.admin.call("RPUSH", "tmp", "a", "b")
            sc.record("op", sc.admin.call("RPOPLPUSH", "tmp", "target"))
        sc.record("served", p.reply())
        sc.record("blocked", b"%d" % sc.blocked_clients())
        sc.admin.call("FLUSHALL")

    log = run_both(scenario)
    assert log[-1] == ("blocked", b"0")


def test_pipelined_commands_run_after_the_blocked_one(run_both):
    def scenario(sc: Scenario) -> None:
        p = sc.peer()
        p.conn.send_raw(encode_command(("BLPOP", "q", "0")) + encode_command(("LLEN", "q")) +
                        encode_command(("ECHO", "after")))
        sc.wait_blocked(1)
        sc.record("push", sc.admin.call("RPUSH", "q", "a", "b"))
        sc.record("r1", p.reply())
        sc.record("r2", p.reply())
        sc.record("r3", p.reply())

    log = run_both(scenario)
    assert log[2] == ("r2", b":1\r\n")


def test_same_key_twice_is_served_once(run_both):
    def scenario(sc: Scenario) -> None:
        p = sc.peer()
        p.send("BLPOP", "q", "q", "0")
        sc.wait_blocked(1)
        sc.record("push", sc.admin.call("RPUSH", "q", "a", "b"))
        sc.record("served", p.reply())
        sc.record("left", sc.admin.call("LRANGE", "q", "0", "-1"))

    run_both(scenario)


def test_keyspace_events_of_served_clients(run_both):
    """A served BLMOVE/BLPOP notifies like LMOVE/LPOP: push, pop, then del of the emptied source."""
    def scenario(sc: Scenario) -> None:
        sc.admin.call("CONFIG", "SET", "notify-keyspace-events", "KEA")
        sub = sc.peer()
        sub.call("PSUBSCRIBE", "__keyevent@0__:*")
        mover, popper = sc.peer(), sc.peer()
        mover.send("BLMOVE", "src", "dst", "RIGHT", "LEFT", "0")
        sc.wait_blocked(1)
        popper.send("BLPOP", "dst", "0")
        sc.wait_blocked(2)
        sc.admin.call("RPUSH", "src", "v")
        mover.reply()
        popper.reply()
        sc.admin.call("PING")
        events = []
        while sub.pending(0.2):
            events.append(sub.reply())
        for e in events:
            sc.record("event", e)
        sc.admin.call("CONFIG", "SET", "notify-keyspace-events", "")

    log = run_both(scenario)
    names = [e.split(b"\r\n")[-2] for _, e in log]
    assert b"src" in names and b"dst" in names


def test_served_from_the_key_that_became_ready_first(run_both):
    """Two of a client's keys filled by one transaction: Redis serves from the first one signalled."""
    def scenario(sc: Scenario) -> None:
        p, q = sc.peer(), sc.peer()
        p.send("BLPOP", "k1", "k2", "0")
        sc.wait_blocked(1)
        q.send("BRPOP", "k1", "k2", "k3", "0")
        sc.wait_blocked(2)
        w = sc.peer()
        w.call("MULTI")
        w.call("ZADD", "k3", "1", "m")
        w.call("RPUSH", "k2", "a")
        w.call("RPUSH", "k1", "b", "c")
        sc.record("exec", w.call("EXEC"))
        sc.record("p", p.reply())
        sc.record("q", q.reply())
        sc.record("k1", sc.admin.call("LRANGE", "k1", "0", "-1"))

    log = run_both(scenario)
    assert log[1] == ("p", b"*2\r\n$2\r\nk2\r\n$1\r\na\r\n")


def test_databases_are_separate_and_rotation_into_itself(run_both):
    def scenario(sc: Scenario) -> None:
        p, rot = sc.peer(), sc.peer(resp3=True)
        p.call("SELECT", "1")
        p.send("BLPOP", "k", "0")
        sc.wait_blocked(1)
        rot.send("BLMOVE", "r", "r", "RIGHT", "LEFT", "0")
        sc.wait_blocked(2)
        sc.record("push db0", sc.admin.call("RPUSH", "k", "zero"))
        sc.record("p pending", b"%d" % p.pending())
        sc.admin.call("SELECT", "1")
        sc.record("push db1", sc.admin.call("RPUSH", "k", "one"))
        sc.record("p", p.reply())
        sc.admin.call("SELECT", "0")
        sc.record("push r", sc.admin.call("RPUSH", "r", "a", "b", "c"))
        sc.record("rot", rot.reply())
        sc.record("r", sc.admin.call("LRANGE", "r", "0", "-1"))
        sc.record("db0 k", sc.admin.call("LRANGE", "k", "0", "-1"))

    log = run_both(scenario)
    assert ("p pending", b"0") in log
    assert ("rot", b"$1\r\nc\r\n") in log


def test_served_with_fewer_elements_than_count_and_client_kill(run_both):
    def scenario(sc: Scenario) -> None:
        p, k = sc.peer(resp3=True), sc.peer()
        p.send("BLMPOP", "0", "2", "a", "b", "RIGHT", "COUNT", "10")
        sc.wait_blocked(1)
        sc.record("push", sc.admin.call("RPUSH", "b", "1", "2", "3"))
        sc.record("p", p.reply())
        kid = k.call("CLIENT", "ID").decode().strip(":\r\n")
        k.send("BRPOP", "a", "0")
        sc.wait_blocked(1)
        sc.record("kill", sc.admin.call("CLIENT", "KILL", "ID", kid))
        sc.wait_blocked(0)
        sc.record("push2", sc.admin.call("RPUSH", "a", "x"))
        sc.record("a", sc.admin.call("LRANGE", "a", "0", "-1"))

    log = run_both(scenario)
    assert log[1] == ("p", b"*2\r\n$1\r\nb\r\n*3\r\n$1\r\n3\r\n$1\r\n2\r\n$1\r\n1\r\n")


def test_restore_wakes_a_blocked_client(ours):
    import threading

    import redis as redis_py

    source = redis_py.Redis(port=ours.port)
    source.delete("restored")
    source.rpush("src", "a", "b")
    payload = source.dump("src")
    waiter = redis_py.Redis(port=ours.port)
    result: list = []
    thread = threading.Thread(target=lambda: result.append(waiter.blpop(["restored"], timeout=5)))
    thread.start()
    import time

    time.sleep(0.3)
    assert source.restore("restored", 0, payload)
    thread.join(6)
    assert result == [(b"restored", b"a")]
    assert source.lrange("restored", 0, -1) == [b"b"]
