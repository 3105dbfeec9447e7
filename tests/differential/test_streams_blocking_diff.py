"""Blocking XREAD/XREADGROUP compared with redis-server: who is woken, in which order, with what.

Each scenario opens the same connections to both servers, parks the blocking
commands (sent without waiting for a reply), runs the waking command on another
connection, then reads every blocked connection's reply and compares the bytes.
Timeouts are short and fixed, so the replies are deterministic.
"""

from __future__ import annotations

import time

import pytest

from tests.differential.harness import RawConnection, encode_command


class Pair:
    """One connection to each server, driven in lock step."""

    def __init__(self, ours: int, real: int, resp: int) -> None:
        self.conns = (RawConnection(ours), RawConnection(real))
        if resp == 3:
            for c in self.conns:
                c.call("HELLO", "3")

    def send(self, *args) -> None:
        for c in self.conns:
            c.send_raw(encode_command(args))

    def read(self) -> bytes:
        mine, theirs = (c.read_reply() for c in self.conns)
        assert mine == theirs, f"ours={mine!r} real={theirs!r}"
        return mine

    def check(self, *args) -> bytes:
        self.send(*args)
        return self.read()

    def close(self) -> None:
        for c in self.conns:
            c.close()


@pytest.fixture(params=[2, 3])
def pairs(request, ours, real):
    made: list[Pair] = []

    def make() -> Pair:
        p = Pair(ours.port, real.port, request.param)
        made.append(p)
        return p

    first = make()
    first.check("FLUSHALL")
    yield make
    for p in made:
        p.close()


def settle() -> None:
    time.sleep(0.05)  # let both servers park the blocked clients before the waking write


def test_xread_woken_by_xadd(pairs):
    a, b, w = pairs(), pairs(), pairs()
    w.check("XADD", "s", "1-0", "f", "v")
    a.send("XREAD", "BLOCK", "0", "STREAMS", "s", "other", "$", "0")
    b.send("XREAD", "COUNT", "1", "BLOCK", "0", "STREAMS", "s", "0-5")
    settle()
    w.check("XADD", "other", "2-0", "x", "y")
    a.read()
    w.check("XADD", "s", "3-0", "f", "v", )
    b.read()
    a.check("XREAD", "BLOCK", "30", "STREAMS", "s", "$")  # times out: null array


def test_xreadgroup_fifo_and_pel(pairs):
    a, b, w = pairs(), pairs(), pairs()
    w.check("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    a.send("XREADGROUP", "GROUP", "g", "alice", "COUNT", "1", "BLOCK", "0", "STREAMS", "s", ">")
    settle()
    b.send("XREADGROUP", "GROUP", "g", "bob", "BLOCK", "0", "STREAMS", "s", ">")
    settle()
    w.check("XADD", "s", "1-0", "f", "v")
    a.read()
    w.check("XADD", "s", "2-0", "f", "v")
    b.read()
    w.check("XPENDING", "s", "g")
    w.check("XINFO", "GROUPS", "s")


def test_xreadgroup_noack_in_multi(pairs):
    a, w = pairs(), pairs()
    w.check("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    a.send("XREADGROUP", "GROUP", "g", "c", "NOACK", "BLOCK", "0", "STREAMS", "s", ">")
    settle()
    w.check("MULTI")
    w.check("XADD", "s", "1-0", "f", "v")
    w.check("XADD", "s", "2-0", "f", "v")
    w.check("EXEC")
    a.read()
    w.check("XPENDING", "s", "g")
    w.check("XINFO", "GROUPS", "s")


def test_group_destroyed_and_key_deleted(pairs):
    a, b, c, w = pairs(), pairs(), pairs(), pairs()
    w.check("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    w.check("XGROUP", "CREATE", "t", "g", "$", "MKSTREAM")
    w.check("XGROUP", "CREATE", "u", "g", "$", "MKSTREAM")
    a.send("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">")
    b.send("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "t", ">")
    c.send("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "u", ">")
    settle()
    w.check("XGROUP", "DESTROY", "s", "g")
    a.read()
    w.check("DEL", "t")
    b.read()
    w.check("SET", "u", "now a string")
    c.read()


def test_xread_not_woken_by_other_writes(pairs):
    a, w = pairs(), pairs()
    w.check("XADD", "s", "5-0", "f", "v")
    a.send("XREAD", "BLOCK", "300", "STREAMS", "s", "$")
    settle()
    w.check("XDEL", "s", "5-0")
    w.check("XSETID", "s", "6-0")
    a.read()  # nothing newer than 5-0 arrived: the wait ends by timeout


def test_flush_and_swapdb_unblock_xreadgroup(pairs):
    a, b, w = pairs(), pairs(), pairs()
    w.check("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    w.check("SELECT", "1")
    w.check("XGROUP", "CREATE", "t", "g", "$", "MKSTREAM")
    b.check("SELECT", "1")
    a.send("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">")
    b.send("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "t", ">")
    settle()
    w.check("FLUSHDB")  # database 1: b's stream is gone
    b.read()
    w.check("SWAPDB", "0", "1")  # database 0 is now the empty one: a's stream is gone too
    a.read()
