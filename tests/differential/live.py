"""Differential helpers for connections that receive more than one reply per command.

A ``Pair`` is one raw connection to our server and one to redis-server, driven
in lockstep: ``call`` sends the same command to both and compares the next
``replies`` replies byte for byte (SUBSCRIBE a b answers twice; a subscriber
reads published messages with ``read``). The pub/sub, transaction, MONITOR
and keyspace-notification tests build on it.
"""

from __future__ import annotations

import itertools

from tests.differential.harness import RawConnection, encode_command, parse

_fences = itertools.count()


class Pair:
    """The same connection, opened on both servers."""

    def __init__(self, our_port: int, real_port: int, resp: int = 2, timeout: float = 10.0):
        self.ours = RawConnection(our_port, timeout=timeout)
        self.real = RawConnection(real_port, timeout=timeout)
        self.resp = resp
        if resp == 3:
            self.call("HELLO", "3", compare=False)

    def send(self, *args) -> None:
        """Send without reading (pipelining, or a command whose replies come later)."""
        data = encode_command(args)
        self.ours.send_raw(data)
        self.real.send_raw(data)

    def read(self, replies: int = 1, compare: bool = True) -> list[bytes]:
        """The next ``replies`` replies of each side, asserted identical; returns ours."""
        mine = [self.ours.read_reply() for _ in range(replies)]
        theirs = [self.real.read_reply() for _ in range(replies)]
        if compare:
            assert mine == theirs, f"\n  ours={mine!r}\n  real={theirs!r}"
        return mine

    def call(self, *args, replies: int = 1, compare: bool = True) -> list[bytes]:
        self.send(*args)
        return self.read(replies, compare=compare)

    def check(self, *args) -> bytes:
        """One command, one reply, identical on both servers."""
        return self.call(*args)[0]

    def read_until(self, fence: bytes) -> tuple[list[object], list[object]]:
        """Parsed replies of each side up to (not including) a message whose payload is ``fence``."""
        streams = []
        for conn in (self.ours, self.real):
            seen: list[object] = []
            while True:
                value = parse(conn.read_reply())
                if isinstance(value, list) and value and value[-1] == fence:
                    break
                seen.append(value)
            streams.append(seen)
        return streams[0], streams[1]

    def close(self) -> None:
        self.ours.close()
        self.real.close()


class Pairs:
    """Opens ``Pair``s on two servers (``pairs(resp)``) and closes them all at once: a test's fixture."""

    def __init__(self, our_port: int, real_port: int) -> None:
        self.ports = our_port, real_port
        self.opened: list[Pair] = []

    def __call__(self, resp: int = 2) -> Pair:
        pair = Pair(*self.ports, resp=resp)
        self.opened.append(pair)
        return pair

    def close(self) -> None:
        for pair in self.opened:
            pair.close()


def new_fence() -> bytes:
    return b"fence-%d" % next(_fences)
