"""BZPOPMIN, BZPOPMAX and BZMPOP with two or more clients: wake-ups, order, timeouts, unblocking.

Each blocked client is a raw socket (so the test controls exactly when it
reads), and the writer is a redis-py client. The same scenarios run against
redis-server where the reply bytes are compared, so "what Redis does" is
checked, not assumed.
"""

from __future__ import annotations

import time

import pytest
import redis

from tests.differential.harness import RawConnection, encode_command


class Waiter:
    """A client that sends a blocking command and collects its reply later."""

    def __init__(self, port: int, *args, resp3: bool = False):
        self.conn = RawConnection(port, timeout=5)
        if resp3:
            self.conn.call("HELLO", "3")
        self.conn.send_raw(encode_command(args))

    def reply(self) -> bytes:
        return self.conn.read_reply()

    def has_reply(self, wait: float = 0.05) -> bool:
        """True if a reply arrived within ``wait`` seconds (without consuming it)."""
        self.conn.sock.settimeout(wait)
        try:
            chunk = self.conn.sock.recv(65536)
        except TimeoutError:
            return False
        finally:
            self.conn.sock.settimeout(5)
        self.conn.buf += chunk
        return bool(chunk)

    def close(self) -> None:
        self.conn.close()


def wait_blocked(client: redis.Redis, count: int, timeout: float = 3.0) -> None:
    """Wait until the server reports ``count`` blocked clients."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.info("clients")["blocked_clients"] == count:
            return
        time.sleep(0.01)
    raise AssertionError(f"expected {count} blocked clients, have {client.info('clients')['blocked_clients']}")


@pytest.fixture(params=["ours", "real"])
def server(request, ours, real):
    """Run each scenario against both servers."""
    srv = ours if request.param == "ours" else real
    client = redis.Redis(port=srv.port)
    client.flushall()
    yield srv.port, client
    client.close()


def test_wakes_with_the_pushed_member(server):
    port, r = server
    w = Waiter(port, "BZPOPMIN", "z", "0")
    wait_blocked(r, 1)
    assert r.zadd("z", {"a": 1, "b": 2}) == 2
    assert w.reply() == b"*3\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\n1\r\n"
    assert r.zrange("z", 0, -1) == [b"b"]
    wait_blocked(r, 0)
    w.close()


def test_bzpopmax_resp3_and_second_key(server):
    port, r = server
    w = Waiter(port, "BZPOPMAX", "k1", "k2", "0", resp3=True)
    wait_blocked(r, 1)
    r.zadd("k2", {"x": 1.5, "y": 2.5})
    assert w.reply() == b"*3\r\n$2\r\nk2\r\n$1\r\ny\r\n,2.5\r\n"
    w.close()


def test_fifo_order(server):
    port, r = server
    waiters = []
    for i in range(3):
        waiters.append(Waiter(port, "BZPOPMIN", "z", "0"))
        wait_blocked(r, i + 1)  # blocked in a known order
    r.zadd("z", {"a": 1, "b": 2})
    assert waiters[0].reply() == b"*3\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\n1\r\n"
    assert waiters[1].reply() == b"*3\r\n$1\r\nz\r\n$1\r\nb\r\n$1\r\n2\r\n"
    assert not waiters[2].has_reply()
    assert r.exists("z") == 0
    r.zadd("z", {"c": 3})
    assert waiters[2].reply() == b"*3\r\n$1\r\nz\r\n$1\r\nc\r\n$1\r\n3\r\n"
    for w in waiters:
        w.close()


def test_bzmpop_wakes_with_count(server):
    port, r = server
    w = Waiter(port, "BZMPOP", "0", "2", "a", "b", "MAX", "COUNT", "2")
    wait_blocked(r, 1)
    r.zadd("b", {"x": 1, "y": 2, "z": 3})
    assert w.reply() == b"*2\r\n$1\r\nb\r\n*2\r\n*2\r\n$1\r\nz\r\n$1\r\n3\r\n*2\r\n$1\r\ny\r\n$1\r\n2\r\n"
    w.close()


@pytest.mark.parametrize("resp3", [False, True])
def test_timeout_replies(server, resp3):
    port, _ = server
    start = time.monotonic()
    w = Waiter(port, "BZPOPMIN", "nokey", "0.2", resp3=resp3)
    assert w.reply() == (b"_\r\n" if resp3 else b"*-1\r\n")
    assert 0.15 <= time.monotonic() - start < 2
    w.close()
    w = Waiter(port, "BZMPOP", "0.1", "1", "nokey", "MIN", resp3=resp3)
    assert w.reply() == (b"_\r\n" if resp3 else b"*-1\r\n")
    w.close()


def test_client_unblock(server):
    port, r = server
    w = Waiter(port, "CLIENT", "ID")
    client_id = int(w.reply()[1:-2])
    w.conn.send_raw(encode_command(("BZPOPMIN", "z", "0")))
    wait_blocked(r, 1)
    assert r.execute_command("CLIENT", "UNBLOCK", client_id) == 1
    assert w.reply() == b"*-1\r\n"
    w.conn.send_raw(encode_command(("BZMPOP", "0", "1", "z", "MIN")))
    wait_blocked(r, 1)
    assert r.execute_command("CLIENT", "UNBLOCK", client_id, "ERROR") == 1
    assert w.reply() == b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
    assert r.execute_command("CLIENT", "UNBLOCK", client_id) == 0
    w.close()


def test_disconnect_leaves_no_trace(server):
    port, r = server
    gone = Waiter(port, "BZPOPMIN", "z", "0")
    wait_blocked(r, 1)
    gone.close()
    wait_blocked(r, 0)
    stays = Waiter(port, "BZPOPMIN", "z", "0")
    wait_blocked(r, 1)
    r.zadd("z", {"a": 1})
    assert stays.reply() == b"*3\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\n1\r\n"
    stays.close()


def test_exec_wakes_after_the_transaction(server):
    port, r = server
    w = Waiter(port, "BZPOPMAX", "z", "0")
    wait_blocked(r, 1)
    pipe = r.pipeline(transaction=True)
    pipe.zadd("z", {"a": 1})
    pipe.zadd("z", {"b": 2})
    pipe.zrem("z", "a")
    pipe.execute()
    assert w.reply() == b"*3\r\n$1\r\nz\r\n$1\r\nb\r\n$1\r\n2\r\n"
    w.close()


def test_wrong_type_does_not_wake(server):
    port, r = server
    w = Waiter(port, "BZPOPMIN", "k", "0")
    wait_blocked(r, 1)
    r.set("k", "string")
    assert not w.has_reply(0.1)
    r.delete("k")
    r.zadd("k", {"m": 7})
    assert w.reply() == b"*3\r\n$1\r\nk\r\n$1\r\nm\r\n$1\r\n7\r\n"
    w.close()


def test_zunionstore_and_zrangestore_wake(server):
    port, r = server
    r.zadd("src", {"a": 1, "b": 2})
    w1 = Waiter(port, "BZPOPMIN", "u", "0")
    w2 = Waiter(port, "BZPOPMIN", "rs", "0")
    wait_blocked(r, 2)
    r.zunionstore("u", ["src"])
    assert w1.reply() == b"*3\r\n$1\r\nu\r\n$1\r\na\r\n$1\r\n1\r\n"
    r.zrangestore("rs", "src", 1, 1)
    assert w2.reply() == b"*3\r\n$2\r\nrs\r\n$1\r\nb\r\n$1\r\n2\r\n"
    w1.close()
    w2.close()


def test_fractional_timeout_keeps_serving_others(server):
    port, r = server
    # The slow timeout leaves a wide margin: on a loaded machine the fast reply may come late.
    slow = Waiter(port, "BZPOPMIN", "a", "1.5")
    fast = Waiter(port, "BZPOPMIN", "b", "0.05")
    assert fast.reply() == b"*-1\r\n"
    assert not slow.has_reply(0.05)
    assert slow.reply() == b"*-1\r\n"
    assert r.ping()
    slow.close()
    fast.close()


def test_served_from_the_key_that_became_ready_first(server):
    port, r = server
    w = Waiter(port, "BZPOPMIN", "a", "b", "0")
    wait_blocked(r, 1)
    pipe = r.pipeline(transaction=True)
    pipe.zadd("b", {"x": 1})
    pipe.zadd("a", {"y": 2})
    pipe.execute()
    assert w.reply() == b"*3\r\n$1\r\nb\r\n$1\r\nx\r\n$1\r\n1\r\n"
    w.close()


def test_rename_and_copy_into_the_key_wake(server):
    port, r = server
    r.zadd("src", {"a": 1})
    r.zadd("src2", {"b": 2})
    w1 = Waiter(port, "BZPOPMIN", "k1", "0")
    w2 = Waiter(port, "BZPOPMAX", "k2", "0")
    wait_blocked(r, 2)
    r.rename("src", "k1")
    assert w1.reply() == b"*3\r\n$2\r\nk1\r\n$1\r\na\r\n$1\r\n1\r\n"
    r.copy("src2", "k2")
    assert w2.reply() == b"*3\r\n$2\r\nk2\r\n$1\r\nb\r\n$1\r\n2\r\n"
    w1.close()
    w2.close()
